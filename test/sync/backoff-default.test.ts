/**
 * The default reconnect backoff (issue 13 item 6): a broker that comes back is used within a few
 * seconds, and the delays keep their jitter so a fleet does not reconnect in step. Built from the
 * schema's defaults exactly as SyncService builds it, with a fixed random.
 */
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../config/load.js';
import { ReconnectBackoff } from '../../agent/sync/backoff.js';

const defaults = validateConfig({}, 'defaults').mqtt;
const backoff = (random: () => number) => new ReconnectBackoff({ minMs: defaults.reconnectMinSec * 1000, maxMs: defaults.reconnectMaxSec * 1000, random });
const delays = (b: ReconnectBackoff, n: number) => Array.from({ length: n }, () => b.next());

describe('default reconnect backoff', () => {
  it('doubles from 1 s up to a 5 s cap; the jitter takes off up to half of each step', () => {
    expect([defaults.reconnectMinSec, defaults.reconnectMaxSec]).toEqual([1, 5]);
    expect(delays(backoff(() => 0), 8)).toEqual([1000, 2000, 4000, 5000, 5000, 5000, 5000, 5000]);
    expect(delays(backoff(() => 0.5), 8)).toEqual([750, 1500, 3000, 3750, 3750, 3750, 3750, 3750]);
    expect(delays(backoff(() => 0.999), 6)).toEqual([501, 1001, 2002, 2503, 2503, 2503]);
  });

  it('a broker back after any outage up to 10 min is connected to within 5 s (plus the attempt itself)', () => {
    for (const r of [0, 0.3, 0.7, 0.999]) {
      // Attempt times (ms) after the link went down, attempt 0 failing at once.
      const b = backoff(() => r);
      const attempts = [0];
      while (attempts.at(-1)! < 600_000) attempts.push(attempts.at(-1)! + b.next());
      let worst = 0;
      for (let back = 0; back <= 600_000; back += 250) worst = Math.max(worst, attempts.find((t) => t >= back)! - back);
      expect(worst, `random ${r}`).toBeLessThanOrEqual(5000);
    }
    // The case: back after 20 s. The old default (60 s cap) made it ~30 s; now at most 5 s.
    const b = backoff(() => 0);
    let t = 0;
    while (t < 20_000) t += b.next();
    expect(t - 20_000).toBeLessThanOrEqual(5000);
  });

  it('a reset after a connection starts again from the shortest delay', () => {
    const b = backoff(() => 0);
    delays(b, 6);
    b.reset();
    expect(b.next()).toBe(1000);
  });
});
