/**
 * Runs the store's retention and quotas periodically (and once at start). Pruning on a failed
 * write is the store's own job (it retries the write afterwards); this only makes sure the disk
 * is kept below its limits before anything fails.
 */
import type { Logger } from '../log.js';
import { silentLogger } from '../silent-logger.js';
import type { PruneReport, Store } from './types.js';

/** The timer functions Retention needs; tests pass a fake to step time by hand. */
export interface Scheduler {
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

export const systemScheduler: Scheduler = {
  setInterval: (fn, ms) => {
    const handle = setInterval(fn, ms);
    // Pruning alone must not keep the process alive at shutdown.
    handle.unref();
    return handle;
  },
  clearInterval: (handle) => clearInterval(handle as NodeJS.Timeout),
};

export const DEFAULT_PRUNE_INTERVAL_MS = 10 * 60_000;

export interface RetentionOptions {
  store: Pick<Store, 'prune'>;
  intervalMs?: number;
  scheduler?: Scheduler;
  logger?: Logger;
}

export class Retention {
  private handle: unknown;
  private runs = 0;
  private failures = 0;
  private readonly log: Logger;

  constructor(private readonly opts: RetentionOptions) {
    this.log = (opts.logger ?? silentLogger()).child({ component: 'retention' });
  }

  /** Prunes now, then every interval. */
  start(): void {
    if (this.handle !== undefined) return;
    this.runNow();
    this.handle = (this.opts.scheduler ?? systemScheduler).setInterval(() => this.runNow(), this.opts.intervalMs ?? DEFAULT_PRUNE_INTERVAL_MS);
  }

  stop(): void {
    if (this.handle === undefined) return;
    (this.opts.scheduler ?? systemScheduler).clearInterval(this.handle);
    this.handle = undefined;
  }

  /** One prune; never throws (a failed prune is logged, counted and retried at the next interval). */
  runNow(): PruneReport | undefined {
    this.runs++;
    try {
      return this.opts.store.prune('periodic');
    } catch (err) {
      this.failures++;
      this.log.error({ err }, 'prune failed; will retry at the next interval');
      return undefined;
    }
  }

  stats(): { runs: number; failures: number } {
    return { runs: this.runs, failures: this.failures };
  }
}
