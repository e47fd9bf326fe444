/**
 * Whether the system clock is synchronised, asked at start and every 10 minutes (field devices
 * often boot without network time and sync later); events carry the answer as `clockSynced`.
 */
import type { Component } from '../component.js';
import type { TimerHandle, Timers } from '../timers.js';

export const CLOCK_CHECK_INTERVAL_MS = 600_000;

export class ClockSyncPoller implements Component {
  readonly name = 'clock sync';
  synced = false;
  private timer?: TimerHandle;

  constructor(
    private readonly check: () => boolean,
    private readonly timers: Timers,
  ) {}

  start(): void {
    this.synced = this.check();
    this.timer = this.timers.setInterval(() => (this.synced = this.check()), CLOCK_CHECK_INTERVAL_MS);
  }

  stop(): void {
    this.timers.clearInterval(this.timer);
    this.timer = undefined;
  }
}
