import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryStore } from '../helpers/memory-store.js';
import { LINK_STATE_KEY, parseLinkState } from '../../agent/sync/link-state.js';
import { SyncService } from '../../agent/sync/sync-service.js';
import { FakeBroker } from './fake-broker.js';
import { DEVICE, EVENTS_TOPIC, PREFIX, makeEvent, tempDir, testConfig } from './helpers.js';

describe('SyncService (fake broker)', () => {
  let dir: string;
  let store: MemoryStore;
  let broker: FakeBroker;
  let sync: SyncService;

  beforeEach(() => {
    vi.useFakeTimers({ now: Date.parse('2026-03-01T12:00:00Z') });
    dir = tempDir();
    store = new MemoryStore();
    store.open();
    broker = new FakeBroker();
  });
  afterEach(async () => {
    await sync?.stop();
    vi.useRealTimers();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const start = (extra: Record<string, unknown> = {}, health: Record<string, unknown> = {}) => {
    const config = testConfig(dir, extra, { health: { intervalSec: 60, ...health } });
    fs.writeFileSync(path.join(dir, 'config.yaml'), `device:\n  id: ${DEVICE}\n`);
    sync = new SyncService({ config, configFile: path.join(dir, 'config.yaml'), store, broker, version: '1.2.3', startedAtMs: Date.now() });
    sync.start();
    return sync;
  };
  const topics = () => broker.published.map((p) => p.topic);

  const sample = (n: number) => ({ at: new Date().toISOString(), uptimeSec: n, queue: { depth: 0, byPriority: { 0: 0, 1: 0, 2: 0 } } });

  it('on every connect: retained online status first, then requests subscribed, outbox resumed, the latest health re-published', async () => {
    store.putEvent(makeEvent(0), { alert: { topic: EVENTS_TOPIC } });
    start();
    const latest = sample(7);
    sync.publishHealth(latest);
    expect(broker.started).toBe(true);
    broker.goOnline();
    await vi.advanceTimersByTimeAsync(10);
    expect(topics()[0]).toBe(`${PREFIX}/${DEVICE}/status`);
    expect(JSON.parse(broker.published[0]!.payload)).toEqual({ state: 'online', version: '1.2.3', startedAt: '2026-03-01T12:00:00.000Z' });
    expect(broker.published[0]!.opts).toMatchObject({ qos: 1, retain: true });
    expect(topics()).toContain(EVENTS_TOPIC);
    const health = broker.published.find((p) => p.topic.endsWith('/health'))!;
    expect(health.opts).toMatchObject({ qos: 1, retain: true });
    expect(JSON.parse(health.payload)).toEqual(latest);
    expect(broker.subscriptions).toEqual([[`${PREFIX}/${DEVICE}/request/#`]]);

    broker.goOffline();
    broker.published.length = 0;
    broker.goOnline();
    await vi.advanceTimersByTimeAsync(10);
    expect(topics()[0]).toBe(`${PREFIX}/${DEVICE}/status`);
    expect(broker.subscriptions).toHaveLength(2);
    expect(broker.published.filter((p) => p.topic.endsWith('/health')).map((p) => JSON.parse(p.payload))).toEqual([latest]); // again, after the reconnect
  });

  it('publishes each health sample handed in while connected, with the configured QoS, and samples none itself', async () => {
    start({ healthQos: 0 });
    const health = () => broker.published.filter((p) => p.topic.endsWith('/health'));
    broker.goOnline();
    await vi.advanceTimersByTimeAsync(120_000);
    expect(health()).toEqual([]);
    sync.publishHealth(sample(1));
    expect(health().map((p) => [JSON.parse(p.payload).uptimeSec, p.opts.qos])).toEqual([[1, 0]]);
    broker.deliver(`${PREFIX}/${DEVICE}/request/config/set`, JSON.stringify({ transaction: 'q', key: 'mqtt.healthQos', value: 1 }));
    await vi.advanceTimersByTimeAsync(0);
    sync.publishHealth(sample(2));
    expect(health().map((p) => [JSON.parse(p.payload).uptimeSec, p.opts.qos])).toEqual([[1, 0], [2, 1]]);
    broker.goOffline();
    sync.publishHealth(sample(3));
    expect(health()).toHaveLength(2);
  });

  it('tells the agent its link in memory, as recorded for `earshot sync status`', () => {
    start();
    expect(sync.link()).toBeUndefined();
    broker.goOnline();
    expect(sync.link()).toMatchObject({ connected: true, url: 'mqtt://fake:1883' });
    expect(sync.link()).toEqual(parseLinkState(store.getState(LINK_STATE_KEY)));
    broker.goOffline('cut');
    expect(sync.link()?.connected).toBe(false);
  });

  it('records its link state in the store for `earshot sync status`', async () => {
    start();
    broker.emit('linkError', { at: new Date().toISOString(), message: 'mqtt://fake:1883: connection refused' });
    let link = parseLinkState(store.getState(LINK_STATE_KEY))!;
    expect(link).toMatchObject({ connected: false, failedAttempts: 1, lastError: 'mqtt://fake:1883: connection refused', pid: process.pid, url: 'mqtt://fake:1883' });
    vi.advanceTimersByTime(1000);
    broker.goOnline();
    link = parseLinkState(store.getState(LINK_STATE_KEY))!;
    expect(link).toMatchObject({ connected: true, failedAttempts: 0, since: '2026-03-01T12:00:01.000Z', lastConnectedAt: '2026-03-01T12:00:01.000Z', lastError: 'mqtt://fake:1883: connection refused' });
    broker.goOffline('cut');
    expect(parseLinkState(store.getState(LINK_STATE_KEY))).toMatchObject({ connected: false });
  });

  it('applies rate-limit changes from config/set live and answers restart-required for the rest', async () => {
    start();
    broker.goOnline();
    await vi.advanceTimersByTimeAsync(10);
    for (let i = 0; i < 10; i++) store.putEvent(makeEvent(i, 1), { alert: { topic: EVENTS_TOPIC } });
    broker.deliver(`${PREFIX}/${DEVICE}/request/config/set`, JSON.stringify({ transaction: 'x', key: 'mqtt.maxMessagesPerSec', value: 2 }));
    await vi.advanceTimersByTimeAsync(0);
    const resp = broker.published.find((p) => p.topic.endsWith('/response/config/set'))!;
    expect(JSON.parse(resp.payload)).toMatchObject({ status: 'ok', data: { applied: true, restartRequired: false } });
    broker.published.length = 0;
    sync.kick();
    await vi.advanceTimersByTimeAsync(2000);
    const events = broker.published.filter((p) => p.topic === EVENTS_TOPIC).length;
    expect(events).toBeGreaterThanOrEqual(4);
    expect(events).toBeLessThanOrEqual(7); // ~2/s after a 2-message burst, not all 10 at once
    broker.deliver(`${PREFIX}/${DEVICE}/request/config/set`, JSON.stringify({ transaction: 'y', key: 'audio.gainDb', value: 3 }));
    await vi.advanceTimersByTimeAsync(0);
    const second = broker.published.find((p) => p.topic.endsWith('/response/config/set'))!;
    expect(JSON.parse(second.payload)).toMatchObject({ status: 'ok', data: { applied: false, restartRequired: true } });
  });

  it('stop() publishes a retained offline status and puts unacknowledged messages back', async () => {
    start();
    broker.goOnline();
    await vi.advanceTimersByTimeAsync(10);
    broker.autoAck = false;
    store.putEvent(makeEvent(0), { alert: { topic: EVENTS_TOPIC } });
    sync.kick();
    await vi.advanceTimersByTimeAsync(0);
    broker.autoAck = true;
    const stopping = sync.stop();
    await vi.advanceTimersByTimeAsync(3000);
    await stopping;
    const last = broker.published.filter((p) => p.topic.endsWith('/status')).at(-1)!;
    expect(JSON.parse(last.payload)).toMatchObject({ state: 'offline', version: '1.2.3' });
    expect(last.opts).toMatchObject({ qos: 1, retain: true });
    expect(store.storeHealth().outbox).toMatchObject({ depth: 1, leased: 0 });
    expect(broker.started).toBe(false);
    expect(parseLinkState(store.getState(LINK_STATE_KEY))?.connected).toBe(false);
  });
});
