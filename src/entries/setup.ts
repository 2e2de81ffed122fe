// GitHub Actions entry of the setup stage (dist/setup/index.js).
import { runOnGitHub } from '../platforms/github.ts';
import { stage } from '../stages/setup/index.ts';

await runOnGitHub(stage);
