import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../helpers/memory-store.js';
import { Retention, type Scheduler } from '../../agent/store/retention.js';
import { UNLIMITED } from '../../agent/store/limits.js';
import type { PruneReason, PruneReport } from '../../agent/store/types.js';
import { EVENTS_TOPIC, FakeClock, makeEvent } from './helpers.js';

/** A scheduler whose interval fires when the test says so. */
class ManualScheduler implements Scheduler {
  fn: (() => void) | undefined;
  ms: number | undefined;
  cleared = 0;
  setInterval(fn: () => void, ms: number): unknown {
    this.fn = fn;
    this.ms = ms;
    return 42;
  }
  clearInterval(handle: unknown): void {
    if (handle === 42) this.cleared++;
    this.fn = undefined;
  }
  tick(): void {
    this.fn?.();
  }
}

describe('Retention', () => {
  it('prunes at start and then on every interval, until stopped', () => {
    const reasons: PruneReason[] = [];
    const store = { prune: (reason?: PruneReason) => (reasons.push(reason!), {} as PruneReport) };
    const scheduler = new ManualScheduler();
    const retention = new Retention({ store, scheduler, intervalMs: 5 * 60_000 });
    retention.start();
    retention.start(); // idempotent
    expect(reasons).toEqual(['periodic']);
    expect(scheduler.ms).toBe(300_000);
    scheduler.tick();
    scheduler.tick();
    expect(reasons).toHaveLength(3);
    retention.stop();
    expect(scheduler.cleared).toBe(1);
    scheduler.tick();
    expect(reasons).toHaveLength(3);
    expect(retention.stats()).toEqual({ runs: 3, failures: 0 });
  });

  it('survives a failing prune and tries again at the next interval', () => {
    let fail = true;
    const store = {
      prune: () => {
        if (fail) throw new Error('disk I/O error');
        return { eventsDeleted: 0 } as PruneReport;
      },
    };
    const scheduler = new ManualScheduler();
    const retention = new Retention({ store, scheduler });
    expect(() => retention.start()).not.toThrow();
    fail = false;
    scheduler.tick();
    expect(retention.stats()).toEqual({ runs: 2, failures: 1 });
  });

  it('applies the retention age of a real store over time', () => {
    const clock = new FakeClock();
    const store = new MemoryStore({ clock: clock.now, limits: { ...UNLIMITED, retentionMs: 60_000 } });
    store.open();
    const e = store.putEvent(makeEvent({ startMs: clock.nowMs }), { alert: EVENTS_TOPIC });
    store.ack(store.lease(1).map((m) => m.id));
    const scheduler = new ManualScheduler();
    new Retention({ store, scheduler }).start();
    expect(store.getEvent(e.id)).toBeDefined();
    clock.advance(120_000);
    scheduler.tick();
    expect(store.getEvent(e.id)).toBeUndefined();
  });
});
