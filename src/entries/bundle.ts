// GitHub Actions entry of the bundle stage (dist/bundle/index.js).
import { runOnGitHub } from '../platforms/github.ts';
import { stage } from '../stages/bundle/index.ts';

await runOnGitHub(stage);
