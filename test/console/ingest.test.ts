/**
 * The HQ console's ingest end to end: a real Mosquitto, devices publishing status (retained, and
 * the Last Will), health and events, and the console's HTTP API and live stream. Per id the
 * highest rev is kept; a duplicate, an older rev and malformed messages change nothing; a hostile
 * device id is kept as text; a restart keeps history; the broker going away and coming back
 * loses nothing (the device's outbox holds what it detected meanwhile).
 */
import fs from 'node:fs';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningConsole } from '../../agent/console/console-app.js';
import type { HqConsole } from '../../agent/console/hq-console.js';
import type { Alert, DeviceInfo } from '../../agent/console/types.js';
import { SqliteStore } from '../../agent/store/sqlite-store.js';
import { SyncService } from '../../agent/sync/sync-service.js';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { makeEvent, tempDir, testConfig, waitFor } from '../sync/helpers.js';
import { SseReader, getJson, post, startHq } from './helpers.js';

/** A device id meant to run in a page that would render it as HTML (a topic level cannot hold "/"). */
const HOSTILE = '<img src=x onerror=alert(1)>';

const events = new Map<number, ReturnType<typeof makeEvent>>();
/** Event i (a gunshot): the same id on every call, rev and extra fields as given. */
function eventPayload(i: number, rev: number, extra: Record<string, unknown> = {}): string {
  if (!events.has(i)) events.set(i, makeEvent(i, 0));
  return JSON.stringify({ ...events.get(i)!, seq: i + 1, rev, state: rev === 1 ? 'open' : 'closed', ...extra });
}

describe('console ingest over a real broker', () => {
  let broker: Mosquitto;
  let dataDir: string;
  let hq: RunningConsole;
  let device: MqttClient;
  let sse: SseReader;
  const id = JSON.parse(eventPayload(0, 1)).id as string;

  const alerts = async (query = '') => (await getJson<{ alerts: Alert[] }>(hq.url, `/api/alerts${query}`)).body.alerts;
  const devices = async () => (await getJson<{ devices: DeviceInfo[] }>(hq.url, '/api/devices')).body.devices;
  const connected = async () => (await getJson<{ broker: { connected: boolean } }>(hq.url, '/api/status')).body.broker.connected;

  beforeAll(async () => {
    broker = await startMosquitto();
    dataDir = tempDir('earshot-console-');
    hq = await startHq(testConfig(dataDir, { url: broker.url, reconnectMinSec: 0.1, reconnectMaxSec: 0.3 }), path.join(dataDir, 'console'));
    await waitFor(connected, 5000, 'the console to subscribe');
    sse = new SseReader().start(hq.url);
    await sse.opened;
    device = await mqtt.connectAsync(broker.url, {
      protocolVersion: 5,
      reconnectPeriod: 0,
      will: { topic: 'earshot/dev-a/status', payload: Buffer.from(JSON.stringify({ state: 'offline', version: '1.2', startedAt: '2026-03-01T11:00:00.000Z' })), qos: 1, retain: true },
    });
    device.on('error', () => undefined);
  });

  afterAll(async () => {
    sse?.close();
    await device?.endAsync(true).catch(() => undefined);
    await hq?.stop();
    await broker?.dispose();
  });

  it('keeps the highest rev per id; a duplicate, an older rev and malformed messages change nothing; SSE delivers each new alert once', async () => {
    await device.publishAsync('earshot/dev-a/status', JSON.stringify({ state: 'online', version: '1.2', startedAt: '2026-03-01T11:00:00.000Z' }), { qos: 1, retain: true });
    await device.publishAsync('earshot/dev-a/health', JSON.stringify({ at: '2026-03-01T12:00:00.000Z', batteryPercent: 81, cpuTempC: 47.5, disk: { freeBytes: 1e9, totalBytes: 8e9 }, queue: { depth: 3, byPriority: {} }, clockSynced: true, soundLevelDbfs: -52, uptimeSec: 5 }), { qos: 1, retain: true });
    await device.publishAsync('earshot/dev-a/events', eventPayload(0, 1, { confidence: 0.6 }), { qos: 1 });
    await waitFor(() => sse.of('alert').length === 1, 5000, 'the first alert on the stream');
    await device.publishAsync('earshot/dev-a/events', eventPayload(0, 2, { confidence: 0.93, clip: { path: '/var/lib/earshot/clips/x.flac', format: 'flac', durationMs: 6500, sha256: 'a'.repeat(64) } }), { qos: 1 });
    await device.publishAsync('earshot/dev-a/events', eventPayload(0, 2, { confidence: 0.93 }), { qos: 1 }); // duplicate
    await device.publishAsync('earshot/dev-a/events', eventPayload(0, 1, { confidence: 0.5 }), { qos: 1 }); // late, older
    await device.publishAsync('earshot/dev-a/events', '{not json', { qos: 1 });
    await device.publishAsync('earshot/dev-a/events', JSON.stringify({ id: 'x', label: 'gunshot' }), { qos: 1 }); // fields missing
    await device.publishAsync('earshot/dev-a/health', JSON.stringify({ at: 'yesterday' }), { qos: 1 });
    await device.publishAsync('earshot/dev-a/events', eventPayload(1, 1, { category: 'wildlife', label: 'dog' }), { qos: 1 });
    const ingest = (hq.backend as HqConsole).ingest!;
    await waitFor(() => ingest.stats.messages >= 10, 5000, 'every message to be handled');

    const list = await alerts();
    expect(list.map((a) => [a.label, a.rev])).toEqual([
      ['gunshot', 2],
      ['dog', 1],
    ]);
    const top = list[0]!;
    expect(top).toMatchObject({ id, device: 'dev-a', category: 'threat', confidence: 0.93, state: 'closed', clip: { format: 'flac', durationMs: 6500, sha256: 'a'.repeat(64) } });
    expect(top.clip).not.toHaveProperty('path');
    expect(Date.parse(top.receivedAt)).toBeGreaterThan(Date.now() - 60_000);
    expect((await getJson<Alert>(hq.url, `/api/alerts/${id}`)).body.rev).toBe(2);
    expect(ingest.stats).toMatchObject({ alerts: 2, updates: 1, duplicates: 2, malformed: 3 });
    // rev 1, rev 2, the dog: the duplicate and the older rev never reach the page.
    expect(sse.of('alert').map((a) => [(a as Alert).label, (a as Alert).rev])).toEqual([
      ['gunshot', 1],
      ['gunshot', 2],
      ['dog', 1],
    ]);
    expect((await getJson(hq.url, '/api/alerts/nope')).status).toBe(404);
    expect(await alerts('?label=dog')).toHaveLength(1);
    expect(await alerts('?device=other')).toHaveLength(0);
    expect(await alerts('?until=2026-03-01T12:00:00.500Z')).toHaveLength(1);
    expect((await getJson(hq.url, '/api/alerts?since=tomorrow')).body).toEqual({ error: 'since=tomorrow: expected an ISO 8601 time (e.g. 2026-03-01T12:00:00Z)' });
  });

  it('shows a device online from its retained status, with its health; offline from its Last Will', async () => {
    const [dev] = await devices();
    expect(dev).toMatchObject({ device: 'dev-a', state: 'online', version: '1.2', startedAt: '2026-03-01T11:00:00.000Z', health: { at: '2026-03-01T12:00:00.000Z', batteryPercent: 81, cpuTempC: 47.5, queue: { depth: 3 }, clockSynced: true, soundLevelDbfs: -52 } });
    expect(dev!.health).not.toHaveProperty('uptimeSec');
    // The connection breaks without a DISCONNECT: the broker publishes the Last Will.
    device.stream.destroy();
    await waitFor(async () => (await devices())[0]!.state === 'offline', 5000, 'the Last Will to mark dev-a offline');
    // Device events are coalesced (at most one a second per device): the offline state follows within that.
    await waitFor(() => sse.of('device').some((d) => (d as DeviceInfo).state === 'offline'), 3000, 'dev-a offline on the stream');
  });

  it('serves a device’s health history, oldest first, by time and count; names what is wrong with a query', async () => {
    const t = Date.now();
    const at = (hoursAgo: number) => new Date(t - hoursAgo * 3600_000).toISOString();
    const other = await mqtt.connectAsync(broker.url, { protocolVersion: 5, reconnectPeriod: 0 });
    for (const [h, db] of [[3, -60], [2, -55], [1, -50]] as const) {
      await other.publishAsync('earshot/dev-h/health', JSON.stringify({ at: at(h), batteryPercent: 90 - h, soundLevelDbfs: db, clockSynced: true, uptimeSec: 9 }), { qos: 1 });
    }
    await other.endAsync();
    type History = { device: string; since: string; health: { at: string; soundLevelDbfs?: number; batteryPercent?: number }[] };
    const history = async (query = '') => getJson<History>(hq.url, `/api/devices/dev-h/health${query}`);
    await waitFor(async () => (await history()).body.health?.length === 3, 5000, 'three health samples of dev-h');
    const all = (await history()).body;
    expect(all.health.map((x) => [x.at, x.soundLevelDbfs, x.batteryPercent])).toEqual([
      [at(3), -60, 87],
      [at(2), -55, 88],
      [at(1), -50, 89],
    ]);
    expect(all.health[0]).not.toHaveProperty('uptimeSec');
    expect(Date.parse(all.since)).toBeGreaterThan(t - 24 * 3600_000 - 60_000); // a day by default
    expect((await history('?limit=2')).body.health.map((x) => x.soundLevelDbfs)).toEqual([-55, -50]);
    expect((await history(`?since=${encodeURIComponent(at(1.5))}`)).body.health.map((x) => x.soundLevelDbfs)).toEqual([-50]);
    const unknown = await getJson<{ error: string }>(hq.url, '/api/devices/nobody/health');
    expect([unknown.status, unknown.body.error]).toEqual([404, 'no device nobody']);
    for (const [q, message] of [
      ['?limit=0', /limit=0: expected a whole number from 1 to 2016/],
      ['?since=yesterday', /since=yesterday: expected an ISO 8601 time/],
    ] as const) {
      const r = await getJson<{ error: string }>(hq.url, `/api/devices/dev-h/health${q}`);
      expect(r.status).toBe(400);
      expect(r.body.error).toMatch(message);
    }
    expect((await getJson(hq.url, '/api/devices/%E0%A4%A/health')).status).toBe(400);
    expect((await post(hq.url, '/api/devices/dev-h/health', {})).status).toBe(405);
  });

  it('keeps a hostile device id as the text it is', async () => {
    const hostile = await mqtt.connectAsync(broker.url, { protocolVersion: 5, reconnectPeriod: 0 });
    try {
      await hostile.publishAsync(`earshot/${HOSTILE}/events`, eventPayload(2, 1, { label: '<script>alert(1)</script>' }), { qos: 1 });
    } finally {
      await hostile.endAsync();
    }
    await waitFor(async () => (await alerts(`?device=${encodeURIComponent(HOSTILE)}`)).length === 1, 5000, 'the hostile device\'s alert');
    const [a] = await alerts(`?device=${encodeURIComponent(HOSTILE)}`);
    expect(a).toMatchObject({ device: HOSTILE, label: '<script>alert(1)</script>' });
    expect((await devices()).map((d) => d.device)).toContain(HOSTILE);
    // JSON, never HTML: the page renders it with textContent.
    const res = await fetch(`${hq.url}/api/alerts?device=${encodeURIComponent(HOSTILE)}`);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
  });

  it('keeps alerts, reviews and devices across a console restart', async () => {
    const reviewed = await post(hq.url, `/api/alerts/${id}/review`, { verdict: 'confirmed', note: 'heard it too' });
    expect(reviewed.status).toBe(200);
    await hq.stop();
    hq = await startHq(testConfig(dataDir, { url: broker.url, reconnectMinSec: 0.1, reconnectMaxSec: 0.3 }), path.join(dataDir, 'console'));
    const list = await alerts();
    expect(list.map((a) => a.id)).toContain(id);
    expect(list.find((a) => a.id === id)).toMatchObject({ rev: 2, review: { verdict: 'confirmed', note: 'heard it too' } });
    expect((await devices()).find((d) => d.device === 'dev-a')).toMatchObject({ state: 'offline', health: { batteryPercent: 81 } });
    await waitFor(connected, 5000, 'the restarted console to subscribe');
  });

  it('gets the events published while it was stopped (its broker session queued them)', async () => {
    await hq.stop();
    const pub = await mqtt.connectAsync(broker.url, { protocolVersion: 5, reconnectPeriod: 0 });
    await pub.publishAsync('earshot/dev-b/events', eventPayload(3, 1), { qos: 1 });
    await pub.endAsync();
    hq = await startHq(testConfig(dataDir, { url: broker.url, reconnectMinSec: 0.1, reconnectMaxSec: 0.3 }), path.join(dataDir, 'console'));
    await waitFor(async () => (await alerts('?device=dev-b')).length === 1, 5000, 'the event published while the console was stopped');
    expect(fs.readFileSync(path.join(hq.dataDir, 'client-id'), 'utf8')).toMatch(/^earshot-console-/);
  });

  it('serves its history through a broker outage, says so, and ingests again when the broker is back: nothing the device detected meanwhile is lost', async () => {
    const deviceDir = tempDir('earshot-console-device-');
    const deviceConfig = testConfig(deviceDir, { url: broker.url, reconnectMinSec: 0.1, reconnectMaxSec: 0.3 });
    const store = new SqliteStore({ file: path.join(deviceDir, 'events.db'), reserveBytes: 0 });
    store.open();
    let sync = new SyncService({ config: deviceConfig, configFile: path.join(deviceDir, 'config.yaml'), store, version: 't' });
    sync.start();
    try {
      const stream = new SseReader().start(hq.url);
      await stream.opened;
      const before = (await alerts()).length;
      store.putEvent(makeEvent(10, 0), { alert: { topic: 'earshot/guardian-07/events' } });
      await waitFor(async () => (await alerts('?device=guardian-07')).length === 1, 5000, 'the first device event');

      await broker.stop();
      await waitFor(async () => !(await connected()), 5000, 'the console to notice the broker is gone');
      expect(stream.of('broker').at(-1)).toEqual({ connected: false });
      expect((await alerts()).length).toBe(before + 1); // history still served
      // Detected while the broker is away: kept in the device's outbox.
      for (let i = 11; i < 14; i++) store.putEvent(makeEvent(i, 0), { alert: { topic: 'earshot/guardian-07/events' } });
      await sync.stop();

      await broker.start();
      await waitFor(connected, 10_000, 'the console to resubscribe');
      expect(stream.of('broker').at(-1)).toEqual({ connected: true });
      // The device comes back after the console (a fresh broker keeps no sessions): its outbox drains.
      sync = new SyncService({ config: deviceConfig, configFile: path.join(deviceDir, 'config.yaml'), store, version: 't' });
      sync.start();
      await waitFor(async () => (await alerts('?device=guardian-07')).length === 4, 10_000, 'the events detected during the outage');
      expect((await alerts('?device=guardian-07')).map((a) => a.seq).sort()).toEqual([1, 2, 3, 4]);
      stream.close();
    } finally {
      await sync.stop();
      store.close();
    }
  });
});
