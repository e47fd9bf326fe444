/**
 * "Done when": broker down with 1,000 events queued → broker up → a subscriber receives all of
 * them, each id at least once, in seq order within a priority; and an agent started with the
 * broker down connects within two backoff steps of it coming up.
 *
 * The real Mosquitto, sockets, MqttBroker and SyncService; only the broker's reconnect backoff
 * runs on manual timers (with a fixed jitter), which the test moves on one attempt at a time.
 */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Config } from '../../config/schema.js';
import { SqliteStore } from '../../agent/store/sqlite-store.js';
import { ReconnectBackoff } from '../../agent/sync/backoff.js';
import { LINK_STATE_KEY, parseLinkState } from '../../agent/sync/link-state.js';
import { MqttBroker } from '../../agent/sync/mqtt-broker.js';
import { connectionOptions } from '../../agent/sync/mqtt-options.js';
import { SyncService } from '../../agent/sync/sync-service.js';
import { ManualTimers } from '../helpers/manual-timers.js';
import { freePort, Mosquitto } from '../helpers/mosquitto.js';
import { TcpProxy } from './tcp-proxy.js';
import { DEVICE, EVENTS_TOPIC, PREFIX, Subscriber, firstArrivalSeqs, isIncreasing, queueEvents, tempDir, testConfig, waitFor } from './helpers.js';

/** The broker SyncService would make for `config`, with its reconnect waits on `timers`. */
function brokerOnTimers(config: Config, timers: ManualTimers, random: () => number): { broker: MqttBroker; backoff: ReconnectBackoff } {
  const backoff = new ReconnectBackoff({ minMs: config.mqtt.reconnectMinSec * 1000, maxMs: config.mqtt.reconnectMaxSec * 1000, random });
  return { broker: new MqttBroker({ url: config.mqtt.url, connection: connectionOptions(config.mqtt, DEVICE), backoff, timers }), backoff };
}

/** Runs the pending reconnect and waits for the real connection attempt it starts to fail. */
async function failedAttempt(broker: MqttBroker, timers: ManualTimers): Promise<number> {
  const failures = broker.stats.linkErrors;
  const waited = timers.runNext();
  await waitFor(() => broker.stats.linkErrors > failures, 5000, `connection attempt ${broker.stats.attempts} to fail`);
  return waited;
}

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

    const timers = new ManualTimers();
    const link = brokerOnTimers(config, timers, () => 0);
    const sync = new SyncService({ config, configFile: path.join(dir, 'config.yaml'), store, version: '0.0.0-test', broker: link.broker });
    sync.start();
    cleanups.push(() => sync.stop());
    await waitFor(() => link.broker.stats.linkErrors === 1, 5000, 'the first attempt to fail');
    await failedAttempt(link.broker, timers);
    expect(parseLinkState(store.getState(LINK_STATE_KEY))?.failedAttempts).toBe(2);
    expect(sync.drainStats?.published).toBe(0);

    await broker.start();
    const sub = await new Subscriber().connect(broker.url, [`${PREFIX}/${DEVICE}/#`]);
    cleanups.push(() => sub.close());
    await gate.listen(gatePort);
    timers.runNext();

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
    const state = parseLinkState(store.getState(LINK_STATE_KEY));
    expect(state).toMatchObject({ connected: true, url: `mqtt://127.0.0.1:${gatePort}` });
    expect(state?.lastError).toMatch(/127\.0\.0\.1:\d+: connection refused/);
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
    const timers = new ManualTimers();
    // Jitter fixed half way: each wait is three quarters of its nominal step.
    const link = brokerOnTimers(config, timers, () => 0.5);
    const sync = new SyncService({ config, configFile: path.join(dir, 'config.yaml'), store, version: '0.0.0-test', broker: link.broker });
    sync.start();
    cleanups.push(() => sync.stop());

    // The first attempt is immediate: it fails before any manual time has passed.
    await waitFor(() => link.broker.stats.linkErrors === 1, 5000, 'the first attempt to fail');
    expect(timers.now).toBe(0);
    // Then the waits grow (nominal 100, 200, 400, 800, 800, 800 ms) and stop growing at the cap.
    const waits: number[] = [];
    for (let i = 0; i < 6; i++) waits.push(await failedAttempt(link.broker, timers));
    expect(waits).toEqual([75, 150, 300, 600, 600, 600]);
    expect(parseLinkState(store.getState(LINK_STATE_KEY))).toMatchObject({ connected: false, failedAttempts: 7 });

    await broker.start();
    const upAt = timers.now;
    // The wait in progress when the broker came up is at most one step; its attempt connects.
    timers.runNext();
    await waitFor(() => link.broker.connected, 5000, 'the agent to connect');
    expect(timers.now - upAt).toBeLessThanOrEqual(maxMs);
    expect(link.broker.stats).toMatchObject({ attempts: 8, connects: 1, linkErrors: 7 });
    expect(link.backoff.attempts).toBe(0);
    await waitFor(() => parseLinkState(store.getState(LINK_STATE_KEY))?.connected === true, 5000, 'the link state to say connected');
  });
});
