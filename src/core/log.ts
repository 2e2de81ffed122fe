import type { Level, Platform } from './platform.ts';

/** `text` for people, `json` for one JSON object per line. */
export type LogFormat = 'text' | 'json';

/** Fields of a step event (`log-format: json`). */
export interface StepEvent {
  event: string;
  stage: string;
  status: 'ok' | 'error';
  parameters?: Record<string, unknown>;
  counts?: Record<string, number>;
  duration_ms: number;
  error?: string;
}

/**
 * Stage logger. In `text` mode it writes plain lines; in `json` mode every
 * line is one JSON object (`{"level","stage","message"}` for messages, a
 * {@link StepEvent} for steps), so log shippers can parse the whole stream.
 */
export class StageLog {
  readonly format: LogFormat;
  readonly stage: string;
  readonly #platform: Platform;

  constructor(platform: Platform, stage: string, format: LogFormat) {
    this.#platform = platform;
    this.stage = stage;
    this.format = format;
  }

  #write(level: Level, message: string): void {
    if (this.format === 'json') {
      // One JSON object per line; routed as plain info so the stream stays parseable
      // (no `::warning::` prefixes); failures still surface through Platform.fail.
      this.#platform.log(level === 'debug' ? 'debug' : 'info', JSON.stringify({ level, stage: this.stage, message }));
    } else {
      this.#platform.log(level, message);
    }
  }

  debug(message: string): void {
    this.#write('debug', message);
  }
  info(message: string): void {
    this.#write('info', message);
  }
  warning(message: string): void {
    this.#write('warning', message);
  }
  error(message: string): void {
    this.#write('error', message);
  }

  /** Emit a finished step event (json) or a one-line summary (text). */
  event(e: Omit<StepEvent, 'stage'>): void {
    const { event, ...rest } = e;
    const full: StepEvent = { event, stage: this.stage, ...rest };
    if (this.format === 'json') {
      this.#platform.log('info', JSON.stringify(full));
      return;
    }
    const counts = e.counts ? Object.entries(e.counts).map(([k, v]) => `${k}=${v}`).join(' ') : '';
    // Failures reach the user once, through Platform.fail; in text mode the event is detail.
    this.#platform.log(
      'debug',
      `${e.event} ${e.status} in ${e.duration_ms} ms${counts ? ` (${counts})` : ''}${e.error ? `: ${e.error}` : ''}`,
    );
  }

  /**
   * Time `fn` as one step and emit its event, also when it throws.
   *
   * @param event - event name, dotted (`aicr.recipe`, `artifact.upload`).
   * @param parameters - what the step was asked to do (no secrets).
   * @param fn - the work.
   * @param counts - derive counts (files, components, changes) from the result.
   * @returns what `fn` returned; rethrows what it threw.
   */
  async step<T>(
    event: string,
    parameters: Record<string, unknown>,
    fn: () => Promise<T>,
    counts?: (result: T) => Record<string, number>,
  ): Promise<T> {
    const started = performance.now();
    try {
      const result = await fn();
      this.event({
        event,
        status: 'ok',
        parameters,
        counts: counts?.(result),
        duration_ms: Math.round(performance.now() - started),
      });
      return result;
    } catch (err) {
      this.event({
        event,
        status: 'error',
        parameters,
        duration_ms: Math.round(performance.now() - started),
        error: err instanceof Error ? err.message : String(err),
      });
      throw err;
    }
  }
}
