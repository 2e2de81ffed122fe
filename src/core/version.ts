/**
 * The aicr release this suite is tested with. `.aicr-version` at the project
 * root holds the same value for `.ci/run`; a test keeps the two equal.
 */
export const PINNED_AICR_VERSION = 'v0.11.1';

/** `v1.2.3` and `1.2.3` are the same version: the bare form is the cache key. */
export function bareVersion(v: string): string {
  return v.trim().replace(/^v/, '');
}
