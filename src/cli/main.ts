/**
 * `aicr-ci`: the shell front end of the suite. Same stages, same inputs, as
 * the GitHub Actions; used locally and as the entrypoint of Tekton/Argo steps.
 */
import { errorMessage, InputError } from '../core/errors.ts';
import { runStage } from '../core/runner.ts';
import { EXIT } from '../core/stage.ts';
import { selectPlatform } from '../platforms/select.ts';
import { STAGE_LOADERS, STAGE_NAMES } from '../stages/index.ts';
import { parseStageArgs, stageHelp } from './args.ts';

export const VERSION = '0.1.0';

const USAGE = `usage: aicr-ci <stage> [--<input> <value>]...

Stages: ${STAGE_NAMES.join(', ')}
Run 'aicr-ci <stage> --help' for a stage's flags and outputs.

Environment:
  AICR_CI_PLATFORM      shell (default), tekton or argo: where outputs go
  AICR_CI_ARTIFACT_DIR  directory of artifacts (<dir>/<name>/) for *-artifact inputs and uploads
  AICR_CI_SUMMARY       file the Markdown summary is appended to
  AICR_CI_<INPUT>       any input not given as a flag (upper case, '-' as '_')
`;

/**
 * Run the CLI.
 * @param argv - arguments after the program name.
 * @returns the exit status (0 ok, 1 gate, 2 error).
 */
export async function main(argv: readonly string[]): Promise<number> {
  // stdout carries exactly one JSON object; anything a library prints
  // (@actions/core's ::debug:: lines from tool-cache, say) goes to stderr.
  const stdout = process.stdout.write.bind(process.stdout);
  process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;
  try {
    return await runCli(argv, (s) => void stdout(s));
  } finally {
    process.stdout.write = stdout;
  }
}

async function runCli(argv: readonly string[], out: (s: string) => void): Promise<number> {
  const [stageName, ...rest] = argv;
  if (!stageName || stageName === '--help' || stageName === '-h' || stageName === 'help') {
    out(USAGE);
    return stageName ? EXIT.ok : EXIT.error;
  }
  if (stageName === '--version') {
    out(`aicr-ci ${VERSION}\n`);
    return EXIT.ok;
  }
  const load = STAGE_LOADERS[stageName];
  if (!load) {
    process.stderr.write(`error: unknown stage '${stageName}'; expected one of ${STAGE_NAMES.join(', ')}\n`);
    return EXIT.error;
  }
  const stage = await load();
  if (rest.includes('--help') || rest.includes('-h')) {
    out(stageHelp(stage.spec));
    return EXIT.ok;
  }
  let flags: Map<string, string>;
  try {
    flags = parseStageArgs(stage.spec, rest);
  } catch (err) {
    const message = err instanceof InputError ? err.message : errorMessage(err);
    process.stderr.write(`error: ${stageName}: invalid input\n${message}\n`);
    const platform = selectPlatform(new Map(), process.env, out);
    platform.fail(`${stageName}: invalid input: ${message}`);
    await platform.setOutputs({ ...(stage.failureOutputs ?? {}) }, stage.spec.outputs.map((o) => o.name));
    return EXIT.error;
  }
  return runStage(stage, selectPlatform(flags, process.env, out));
}
