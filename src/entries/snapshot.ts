// GitHub Actions entry of the snapshot stage (dist/snapshot/index.js).
import { runOnGitHub } from '../platforms/github.ts';
import { stage } from '../stages/snapshot/index.ts';

await runOnGitHub(stage);
