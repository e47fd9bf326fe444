/**
 * The one health path: every `health.intervalSec` (and at once when asked, e.g. when a capture
 * gap ends or the listening mode changes) one sample is taken, and that same object is stored
 * (`store.recordHealth`) and handed to the publisher (the sync's retained `<prefix>/<device>/health`).
 * A sample at start gives the broker a fresh value at once; one at stop records how the run ended.
 */
import type { Component } from '../component.js';
import type { Logger } from '../log.js';
import type { Store } from '../store/types.js';
import type { TimerHandle, Timers } from '../timers.js';
import type { HealthPayload } from './health-payload.js';

export interface HealthTickerOptions {
  intervalSec: number;
  sample: () => HealthPayload;
  store: Pick<Store, 'recordHealth'>;
  /** Publishes the sample (absent when MQTT is off). */
  publish?: (sample: HealthPayload) => void;
  timers: Timers;
  logger: Logger;
}

export class HealthTicker implements Component {
  readonly name = 'health';
  private timer?: TimerHandle;
  private intervalSec: number;

  constructor(private readonly opts: HealthTickerOptions) {
    this.intervalSec = opts.intervalSec;
  }

  start(): void {
    this.tick();
    this.schedule();
  }

  stop(): void {
    this.opts.timers.clearInterval(this.timer);
    this.timer = undefined;
    this.tick();
  }

  /** A new interval from `config/set health.intervalSec`; applies at once. */
  retime(intervalSec: number): boolean {
    this.intervalSec = intervalSec;
    if (this.timer !== undefined) {
      this.opts.timers.clearInterval(this.timer);
      this.schedule();
    }
    return true;
  }

  /** Samples once, stores and publishes that sample. Never throws. */
  tick(): HealthPayload | undefined {
    let sample: HealthPayload;
    try {
      sample = this.opts.sample();
    } catch (err) {
      this.opts.logger.warn({ component: this.name, err: (err as Error).message }, 'health not sampled');
      return undefined;
    }
    try {
      this.opts.store.recordHealth({ at: sample.at, data: sample });
    } catch (err) {
      this.opts.logger.warn({ component: this.name, err: (err as Error).message }, 'health sample not stored');
    }
    this.opts.publish?.(sample);
    return sample;
  }

  private schedule(): void {
    this.timer = this.opts.timers.setInterval(() => this.tick(), this.intervalSec * 1000);
  }
}
