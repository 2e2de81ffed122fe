/**
 * Run a stage in-process through the shell adapter, as `aicr-ci <stage>` does,
 * capturing its JSON outputs and its log.
 */
import { runStage } from '../../src/core/runner.ts';
import { ShellPlatform } from '../../src/platforms/shell.ts';
import { STAGE_LOADERS } from '../../src/stages/index.ts';
import { tempDir } from './env.ts';

export interface StageRun {
  code: number;
  outputs: Record<string, string>;
  stdout: string;
  stderr: string;
}

/**
 * @param stage - stage name (`recipe`, ...).
 * @param flags - input name → value, as CLI flags would give them.
 * @param env - extra environment, set on the process for the duration of the run (AICR_CI_ARTIFACT_DIR, PATH, ...).
 */
export async function runShellStage(stage: string, flags: Record<string, string>, env: Record<string, string> = {}): Promise<StageRun> {
  const s = await STAGE_LOADERS[stage]();
  let stdout = '';
  let stderr = '';
  // The CLI has one environment: apply `env` to the process for the run, as a shell would.
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  // Relative products land in a fresh directory, never in the checkout.
  const withDir = { 'working-directory': tempDir('aicr-ci-stage-'), ...flags };
  const platform = new ShellPlatform(new Map(Object.entries(withDir)), process.env, {
    stdout: (x) => {
      stdout += x;
    },
    stderr: (x) => {
      stderr += x;
    },
  });
  let code: number;
  try {
    code = await runStage(s, platform);
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
  const line = stdout.trim().split('\n').at(-1) ?? '{}';
  return { code, outputs: JSON.parse(line || '{}') as Record<string, string>, stdout, stderr };
}
