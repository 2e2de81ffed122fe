// GitHub Actions entry of the drift-check stage (dist/drift-check/index.js).
import { runOnGitHub } from '../platforms/github.ts';
import { stage } from '../stages/drift-check/index.ts';

await runOnGitHub(stage);
