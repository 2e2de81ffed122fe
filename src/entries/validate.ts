// GitHub Actions entry of the validate stage (dist/validate/index.js).
import { runOnGitHub } from '../platforms/github.ts';
import { stage } from '../stages/validate/index.ts';

await runOnGitHub(stage);
