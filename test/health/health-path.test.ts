/**
 * The one health path: the ticker takes one sample per tick, and that same object is stored and
 * published retained on `<prefix>/<device>/health`; a (re)connect re-publishes the latest sample
 * rather than taking another; the link state in the sample comes from the sync in memory.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { HealthPayload } from '../../agent/health/health-payload.js';
import { HealthTicker } from '../../agent/health/health-ticker.js';
import { systemHealth } from '../../agent/health/system-health.js';
import { silentLogger } from '../../agent/silent-logger.js';
import type { HealthSample } from '../../agent/store/types.js';
import { SyncService } from '../../agent/sync/sync-service.js';
import { ManualTimers } from '../helpers/manual-timers.js';
import { MemoryStore } from '../helpers/memory-store.js';
import { FakeBroker } from '../sync/fake-broker.js';
import { DEVICE, PREFIX, tempDir, testConfig } from '../sync/helpers.js';

const HEALTH_TOPIC = `${PREFIX}/${DEVICE}/health`;

describe('health: one sample, stored and published', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  function setup() {
    const dir = tempDir();
    dirs.push(dir);
    const timers = new ManualTimers();
    timers.now = Date.parse('2026-03-01T12:00:00Z');
    const store = new MemoryStore();
    store.open();
    const broker = new FakeBroker();
    const config = testConfig(dir, { healthQos: 1 }, { health: { intervalSec: 60 } });
    const sync = new SyncService({ config, configFile: path.join(dir, 'c.yaml'), store, broker, version: '1', startedAtMs: timers.now, clock: timers.clock, timers });
    const stored: HealthSample[] = [];
    let samples = 0;
    const ticker = new HealthTicker({
      intervalSec: 60,
      sample: (): HealthPayload => {
        samples++;
        return { ...systemHealth(store, timers.now - 1000, timers.now), sync: { connected: sync.link()?.connected ?? false }, n: samples };
      },
      store: { recordHealth: (s) => void stored.push(s) },
      publish: (s) => sync.publishHealth(s),
      timers,
      logger: silentLogger(),
    });
    const published = () => broker.published.filter((p) => p.topic === HEALTH_TOPIC);
    return { timers, broker, sync, ticker, stored, published, samples: () => samples };
  }

  it('each tick takes one sample; the stored sample deep-equals the retained payload', async () => {
    const h = setup();
    h.sync.start();
    h.broker.goOnline();
    h.ticker.start();
    expect(h.samples()).toBe(1);
    expect(h.stored).toHaveLength(1);
    expect(h.published()).toHaveLength(1);
    expect(JSON.parse(h.published()[0]!.payload)).toEqual(h.stored[0]!.data);
    expect(h.published()[0]!.opts).toMatchObject({ qos: 1, retain: true });
    expect(h.stored[0]!.data).toMatchObject({ n: 1, sync: { connected: true } });

    h.timers.advance(60_000);
    expect(h.samples()).toBe(2);
    expect(h.published().map((p) => JSON.parse(p.payload) as unknown)).toEqual(h.stored.map((s) => s.data));
    h.ticker.stop();
    await h.sync.stop();
  });

  it('retime() changes the interval at once (how the agent applies config/set health.intervalSec live)', () => {
    const h = setup();
    h.ticker.start();
    expect(h.ticker.retime(10)).toBe(true);
    expect(h.timers.pending).toEqual([10_000]);
    h.timers.advance(30_000);
    expect(h.samples()).toBe(4);
    h.ticker.stop();
    expect(h.timers.pending).toEqual([]);
  });

  it('while offline samples are stored only; the next connect re-publishes the latest one, not a new sample', async () => {
    const h = setup();
    h.sync.start();
    h.ticker.start(); // not connected yet
    expect(h.published()).toHaveLength(0);
    h.broker.goOnline();
    expect(h.published().map((p) => JSON.parse(p.payload).n)).toEqual([1]);

    h.broker.goOffline();
    h.timers.advance(60_000);
    h.timers.advance(60_000);
    expect(h.stored.map((s) => s.data.n)).toEqual([1, 2, 3]);
    expect(h.stored[2]!.data).toMatchObject({ sync: { connected: false } });
    expect(h.published()).toHaveLength(1);

    h.broker.goOnline();
    expect(h.samples()).toBe(3);
    expect(h.published()).toHaveLength(2);
    expect(JSON.parse(h.published()[1]!.payload)).toEqual(h.stored[2]!.data);
    h.ticker.stop();
    await h.sync.stop();
  });
});
