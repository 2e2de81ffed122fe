/**
 * Checks on values that become repeatable aicr flags (selectors, tolerations,
 * secrets, --set): done before aicr runs so the user gets one clear message.
 */
import { InputError } from '../core/errors.ts';
import type { Inputs } from '../core/inputs.ts';

/**
 * Reject values aicr would mangle: urfave/cli splits every slice-flag value
 * on ',' (`flag_slice_base.go`), so `a,b` would become two flags.
 */
export function rejectCommas(input: string, values: readonly string[]): void {
  for (const v of values) {
    if (v.includes(',')) {
      throw new InputError(input, `'${v}' contains a comma, which aicr splits into separate values; give one value per line instead`);
    }
  }
}

/** Check `k=v` (selectors) and `k=v:Effect` / `k:Effect` (tolerations) shapes. */
export function checkSelectors(input: string, values: readonly string[]): void {
  for (const v of values) if (!/^[^=\s]+=[^\s]*$/.test(v)) throw new InputError(input, `'${v}' is not key=value`);
}
export function checkTolerations(input: string, values: readonly string[]): void {
  for (const v of values) {
    if (!/^[^=:\s]+(=[^:\s]*)?:(NoSchedule|PreferNoSchedule|NoExecute)$/.test(v)) {
      throw new InputError(input, `'${v}' is not key=value:Effect or key:Effect (Effect one of NoSchedule, PreferNoSchedule, NoExecute)`);
    }
  }
}


/**
 * `--flag value` for each `[input, flag]` whose input is set, then
 * `--flag item` for every item of each list input in `lists`.
 */
export function passFlags(inputs: Inputs, values: readonly (readonly [string, string])[], lists: readonly (readonly [string, string])[] = []): string[] {
  const args: string[] = [];
  for (const [input, flag] of values) {
    const v = inputs.optional(input);
    if (v) args.push(flag, v);
  }
  for (const [input, flag] of lists) for (const v of inputs.list(input)) args.push(flag, v);
  return args;
}
