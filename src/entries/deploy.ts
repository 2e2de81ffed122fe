// GitHub Actions entry of the deploy stage (dist/deploy/index.js).
import { runOnGitHub } from '../platforms/github.ts';
import { stage } from '../stages/deploy/index.ts';

await runOnGitHub(stage);
