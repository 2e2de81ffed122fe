/**
 * Pick the adapter for the shell CLI from `AICR_CI_PLATFORM`.
 */
import type { Platform } from '../core/platform.ts';
import { ResultsDirPlatform } from './results-dir.ts';
import { ShellPlatform } from './shell.ts';

/** Values `AICR_CI_PLATFORM` accepts. */
export const PLATFORMS = ['shell', 'tekton', 'argo'] as const;

/**
 * @param flags - parsed CLI flags (input name → value).
 * @param env - process environment.
 * @param stdout - where the outputs JSON goes (the real stdout).
 * @returns the platform adapter: `shell` unless `AICR_CI_PLATFORM` names
 *   `tekton` or `argo` (the shell adapter plus one result file per output;
 *   see `results-dir.ts`).
 * @throws Error for any other `AICR_CI_PLATFORM` value.
 */
export function selectPlatform(flags: ReadonlyMap<string, string>, env: NodeJS.ProcessEnv, stdout?: (s: string) => void): Platform {
  const name = env.AICR_CI_PLATFORM?.trim() || 'shell';
  // AICR_CI_PLATFORM is also the env form of the recipe stage's `platform`
  // input. Once it has picked the adapter it is not an input: the recipe's
  // platform comes from the `--platform` flag (the Tekton/Argo recipe step
  // passes it as an argv element, never through a shell).
  const inputEnv: NodeJS.ProcessEnv = { ...env };
  delete inputEnv.AICR_CI_PLATFORM;
  switch (name) {
    case 'shell':
      return new ShellPlatform(flags, inputEnv, { stdout });
    case 'tekton':
    case 'argo':
      return new ResultsDirPlatform(name, flags, inputEnv, { stdout });
    default:
      throw new Error(`AICR_CI_PLATFORM='${env.AICR_CI_PLATFORM}' is not one of: ${PLATFORMS.join(', ')}`);
  }
}
