// GitHub Actions entry of the recipe stage (dist/recipe/index.js).
import { runOnGitHub } from '../platforms/github.ts';
import { stage } from '../stages/recipe/index.ts';

await runOnGitHub(stage);
