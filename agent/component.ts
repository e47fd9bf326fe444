/**
 * The one lifecycle contract of everything `earshot run` starts, and the runner that starts and
 * stops them (the shape of BirdNET-Go's `internal/app` services):
 *
 * - components start one after the other, in the order given; when one fails to start, those
 *   already started are stopped in reverse (rollback) and the error goes to the caller, so the
 *   exit code is the failing component's (a missing model is 69, a bad configuration 78);
 * - stop() stops the started ones in reverse order, each bounded by its time limit: a stop that
 *   fails or hangs is logged and the runner goes on, so the database is still closed when the
 *   broker or the microphone does not answer.
 *
 * Constructors of components only assign; every resource is taken in start().
 */
import type { Logger } from './log.js';
import { systemTimers, type TimerHandle, type Timers } from './timers.js';

export interface Component {
  /** Names the component in logs ("capture", "sync", ...). */
  readonly name: string;
  /** How long stop() may take before the runner gives up on it; default `defaultStopLimitMs`. */
  readonly stopLimitMs?: number;
  start(): Promise<void> | void;
  stop(): Promise<void> | void;
}

export interface ComponentRunnerOptions {
  logger: Logger;
  timers?: Timers;
  defaultStopLimitMs?: number;
}

export class ComponentRunner {
  private readonly started: Component[] = [];
  private starting?: Promise<void>;
  private stopping?: Promise<void>;

  constructor(private readonly opts: ComponentRunnerOptions) {}

  /** Starts `components` in order; on a failure stops the started ones in reverse and rethrows. */
  start(components: readonly Component[]): Promise<void> {
    this.starting ??= this.startAll(components);
    return this.starting;
  }

  /**
   * Stops the started components in reverse order; idempotent. A start in progress finishes its
   * current component first (and starts no more), so nothing is left running.
   */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await this.starting?.catch(() => undefined);
      await this.stopStarted();
    })();
    return this.stopping;
  }

  private async startAll(components: readonly Component[]): Promise<void> {
    for (const c of components) {
      if (this.stopping) return;
      try {
        await c.start();
      } catch (err) {
        this.opts.logger.error({ component: c.name, err: (err as Error).message }, 'could not start; stopping the components already started');
        await this.stopStarted();
        throw err;
      }
      this.started.push(c);
    }
  }

  private async stopStarted(): Promise<void> {
    for (let c = this.started.pop(); c; c = this.started.pop()) await this.stopOne(c);
  }

  private async stopOne(c: Component): Promise<void> {
    try {
      await withinTimeLimit(() => c.stop(), c.stopLimitMs ?? this.opts.defaultStopLimitMs ?? 1000, this.opts.timers ?? systemTimers);
    } catch (err) {
      this.opts.logger.warn({ component: c.name, err: (err as Error).message }, 'stop failed; going on with the others');
    }
  }
}

/** Runs `fn`; rejects if it throws, rejects or has not finished within `ms`. */
export async function withinTimeLimit(fn: () => unknown, ms: number, timers: Timers): Promise<void> {
  let timer: TimerHandle | undefined;
  const limit = new Promise<never>((_, reject) => (timer = timers.setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms)));
  try {
    await Promise.race([Promise.resolve().then(fn), limit]);
  } finally {
    timers.clearTimeout(timer);
  }
}
