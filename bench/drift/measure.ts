/**
 * Run a command and measure wall time and peak RSS: through GNU time
 * (`/usr/bin/time -f '%e %M'`) when present, else by polling the child's
 * `/proc/<pid>/status` VmHWM every few milliseconds.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';

/** One measured run. */
export interface Sample {
  /** Wall-clock seconds (measured here; GNU time only reports the peak RSS). */
  seconds: number;
  /** Peak resident set size in MiB. */
  rssMiB: number;
  exitCode: number;
}

const GNU_TIME = fs.existsSync('/usr/bin/time') && spawnSync('/usr/bin/time', ['-f', '%M', 'true']).status === 0 ? '/usr/bin/time' : undefined;

/**
 * Run `cmd args` once (stdout discarded, stderr kept for errors).
 * @param okCodes - exit codes that are not failures (drift and dyff exit 1 on differences).
 * @throws Error with the command's stderr when it exits with another code.
 */
export async function measure(cmd: string, args: readonly string[], opts: { env?: NodeJS.ProcessEnv; okCodes?: number[] } = {}): Promise<Sample> {
  const okCodes = opts.okCodes ?? [0];
  const statsFile = GNU_TIME ? `${fs.mkdtempSync('/tmp/aicr-bench-')}/time` : undefined;
  const argv = GNU_TIME ? ['-o', statsFile as string, '-f', '%e %M', cmd, ...args] : [...args];
  const started = performance.now();
  const child = spawn(GNU_TIME ?? cmd, argv, { env: opts.env ?? process.env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    if (stderr.length < 20_000) stderr += d.toString();
  });
  let polledKiB = 0;
  const poll = GNU_TIME
    ? undefined
    : setInterval(() => {
        try {
          const m = /VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'));
          if (m) polledKiB = Math.max(polledKiB, Number(m[1]));
        } catch {
          /* exited */
        }
      }, 5);
  const code: number = await new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (c) => resolve(c ?? -1));
  });
  const wall = (performance.now() - started) / 1000;
  if (poll) clearInterval(poll);
  if (!okCodes.includes(code)) throw new Error(`${cmd} ${args.join(' ')} exited ${code}:\n${stderr.slice(-2000)}`);
  if (statsFile) {
    const m = Number(fs.readFileSync(statsFile, 'utf8').trim().split('\n').at(-1)!.split(' ')[1]);
    fs.rmSync(statsFile.replace(/\/time$/, ''), { recursive: true, force: true });
    return { seconds: wall, rssMiB: m / 1024, exitCode: code };
  }
  return { seconds: wall, rssMiB: polledKiB / 1024, exitCode: code };
}

/** Median of numbers. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
