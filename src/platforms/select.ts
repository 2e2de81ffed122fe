/**
 * Pick the adapter for the shell CLI from `AICR_CI_PLATFORM`.
 */
import type { Platform } from '../core/platform.ts';
import { ShellPlatform } from './shell.ts';

/**
 * @param flags - parsed CLI flags (input name → value).
 * @param env - process environment.
 * @param stdout - where the outputs JSON goes (the real stdout).
 * @returns the platform adapter; `shell` unless `AICR_CI_PLATFORM` names another.
 */
export function selectPlatform(flags: ReadonlyMap<string, string>, env: NodeJS.ProcessEnv, stdout?: (s: string) => void): Platform {
  switch (env.AICR_CI_PLATFORM ?? 'shell') {
    case 'shell':
      return new ShellPlatform(flags, env, { stdout });
    default:
      throw new Error(`AICR_CI_PLATFORM='${env.AICR_CI_PLATFORM}' is not one of: shell`);
  }
}
