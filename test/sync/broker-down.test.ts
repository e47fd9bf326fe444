/**
 * "Done when": broker down with 1,000 events queued → broker up → a subscriber receives all of
 * them, each id at least once, in seq order within a priority; and an agent started with the
 * broker down connects within two backoff steps of it coming up.
 */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../agent/store/sqlite-store.js';
import { LINK_STATE_KEY, parseLinkState } from '../../agent/sync/link-state.js';
import { SyncService } from '../../agent/sync/sync-service.js';
import { freePort, Mosquitto } from '../helpers/mosquitto.js';
import { TcpProxy } from './tcp-proxy.js';
import { DEVICE, EVENTS_TOPIC, PREFIX, Subscriber, firstArrivalSeqs, isIncreasing, queueEvents, tempDir, testConfig, waitFor } from './helpers.js';

describe('sync against a broker that is down at first', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.reverse()) await c();
    cleanups.length = 0;
  });

  it('delivers a backlog of 1,000 events queued while the broker was down: all ids, seq order within each priority', async () => {
    const dir = tempDir();
    const broker = new Mosquitto({ port: await freePort() });
    cleanups.push(() => broker.dispose());
    // The agent reaches the broker through a gate that stays closed until the subscriber listens,
    // so the subscriber cannot miss the first messages.
    const gate = new TcpProxy({ port: broker.port });
    const gatePort = await freePort();
    cleanups.push(() => gate.close());

    const config = testConfig(dir, { url: `mqtt://127.0.0.1:${gatePort}` });
    const store = new SqliteStore({ file: path.join(dir, 'events.db') });
    store.open();
    cleanups.push(() => store.close());
    queueEvents(store, 1000);
    expect(store.storeHealth().outbox.depth).toBe(1000);

    const sync = new SyncService({ config, configFile: path.join(dir, 'config.yaml'), store, version: '0.0.0-test' });
    sync.start();
    cleanups.push(() => sync.stop());
    await waitFor(() => (parseLinkState(store.getState(LINK_STATE_KEY))?.failedAttempts ?? 0) >= 2, 5000, 'failed attempts while down');
    expect(sync.drainStats?.published).toBe(0);

    await broker.start();
    const sub = await new Subscriber().connect(broker.url, [`${PREFIX}/${DEVICE}/#`]);
    cleanups.push(() => sub.close());
    await gate.listen(gatePort);

    await sub.until(() => new Set(sub.on(EVENTS_TOPIC).map((m) => m.payload.id)).size === 1000, 30_000, '1,000 distinct events');
    const events = sub.on(EVENTS_TOPIC);
    const { threat, other } = firstArrivalSeqs(events);
    expect(threat.length + other.length).toBe(1000);
    expect(threat.length).toBe(334);
    expect(isIncreasing(threat)).toBe(true);
    expect(isIncreasing(other)).toBe(true);
    // Threat alerts go first: the last threat arrives before the first other event.
    const firstOther = events.findIndex((m) => m.payload.category !== 'threat');
    const lastThreat = events.map((m) => m.payload.category).lastIndexOf('threat');
    expect(lastThreat).toBeLessThan(firstOther);
    // MQTT 5 user property `id` on every event.
    expect(events.every((m) => m.userId === m.payload.id)).toBe(true);
    // Retained online status came first on this connection.
    const status = sub.on(`${PREFIX}/${DEVICE}/status`);
    expect(status[0]?.payload).toMatchObject({ state: 'online', version: '0.0.0-test' });

    await waitFor(() => store.storeHealth().outbox.depth === 0, 5000, 'the outbox to empty');
    const link = parseLinkState(store.getState(LINK_STATE_KEY));
    expect(link).toMatchObject({ connected: true, url: `mqtt://127.0.0.1:${gatePort}` });
    expect(link?.lastError).toMatch(/127\.0\.0\.1:\d+: connection refused/);
    expect(store.storeHealth().lastSyncAt).toBeDefined();
  });

  it('connects within two backoff steps of the broker coming up (started with it down)', async () => {
    const dir = tempDir();
    const broker = new Mosquitto({ port: await freePort() });
    cleanups.push(() => broker.dispose());
    const minMs = 100;
    const maxMs = 800;
    const config = testConfig(dir, { url: `mqtt://127.0.0.1:${broker.port}`, reconnectMinSec: minMs / 1000, reconnectMaxSec: maxMs / 1000 });
    const store = new SqliteStore({ file: path.join(dir, 'events.db') });
    store.open();
    cleanups.push(() => store.close());
    const sync = new SyncService({ config, configFile: path.join(dir, 'config.yaml'), store, version: '0.0.0-test' });

    const failures: number[] = [];
    let connectedAt = 0;
    // Observe the broker the service made, through its link-state writes.
    const realSet = store.setState.bind(store);
    store.setState = (key, value) => {
      if (key === LINK_STATE_KEY) {
        const s = parseLinkState(value)!;
        if (s.connected && !connectedAt) connectedAt = performance.now();
        if (!s.connected && s.failedAttempts > failures.length) failures.push(performance.now());
      }
      realSet(key, value);
    };
    const t0 = performance.now();
    sync.start();
    cleanups.push(() => sync.stop());
    await new Promise((r) => setTimeout(r, 3000));
    expect(connectedAt).toBe(0);
    // Backoff grew: 100, 200, 400, 800, 800 ... ms (each shortened by up to half): about 6–12 attempts in 3 s, not 30.
    expect(failures.length).toBeGreaterThanOrEqual(5);
    expect(failures.length).toBeLessThanOrEqual(14);
    const gaps = failures.slice(1).map((t, i) => t - failures[i]!);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(maxMs + 250);
    expect(gaps.slice(-2).every((g) => g >= maxMs / 2 - 20)).toBe(true);
    expect(failures[0]! - t0).toBeLessThan(500); // the first attempt is immediate

    await broker.start();
    const upAt = performance.now();
    await waitFor(() => connectedAt > 0, 5000, 'the agent to connect');
    const lag = connectedAt - upAt;
    // The wait in progress when the broker came up is at most one step (800 ms); two steps is the bound.
    expect(lag).toBeLessThanOrEqual(2 * maxMs);
    console.log(`reconnect: ${failures.length} failed attempts while down; connected ${Math.round(lag)} ms after the broker came up (bound ${2 * maxMs} ms)`);
  });
});
