/**
 * Device mode (`earshot console --device`): the same API over a real data folder written by the
 * agent's SqliteStore, read-only, no broker: alerts threats first, this device online while its
 * agent runs with its latest health, clips read from the data folder, a new event on the live
 * stream, reviews refused (405), and the database left untouched.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startConsole, type RunningConsole } from '../../agent/console/console-app.js';
import type { Alert, DeviceInfo } from '../../agent/console/types.js';
import { saveRunState } from '../../agent/run-state.js';
import { silentLogger } from '../../agent/silent-logger.js';
import { SqliteStore } from '../../agent/store/sqlite-store.js';
import { DEVICE, makeEvent, tempDir, testConfig, waitFor } from '../sync/helpers.js';
import { SseReader, getJson, post } from './helpers.js';

describe('console --device over a real data folder', () => {
  let dataDir: string;
  let store: SqliteStore;
  let app: RunningConsole;
  let clipBytes: Buffer;
  const ids: string[] = [];

  beforeAll(async () => {
    dataDir = tempDir('earshot-console-devmode-');
    fs.mkdirSync(path.join(dataDir, 'clips'));
    store = new SqliteStore({ file: path.join(dataDir, 'events.db'), reserveBytes: 0 });
    store.open();
    // makeEvent: 0 gunshot (threat), 1 dog, 2 human_voice, 3 gunshot; later events start later.
    for (let i = 0; i < 4; i++) ids.push(store.putEvent(makeEvent(i)).id);
    clipBytes = crypto.randomBytes(5000);
    const clipFile = path.join(dataDir, 'clips', 'a.wav');
    fs.writeFileSync(clipFile, clipBytes);
    store.attachClip(ids[1]!, { path: clipFile, format: 'wav', durationMs: 3000, sha256: crypto.createHash('sha256').update(clipBytes).digest('hex'), bytes: clipBytes.length });
    store.recordHealth({ at: '2026-03-01T12:00:00.000Z', data: { at: '2026-03-01T12:00:00.000Z', batteryPercent: 65, soundLevelDbfs: -61 } });
    store.recordHealth({ at: '2026-03-01T12:05:00.000Z', data: { at: '2026-03-01T12:05:00.000Z', batteryPercent: 64, cpuTempC: 51, queue: { depth: 2 }, soundLevelDbfs: -48 } });
    saveRunState(store, { pid: process.pid, startedAt: '2026-03-01T11:00:00.000Z', source: 'file', description: 'x.wav', version: '9.9' }, 'running', Date.now());
    const config = testConfig(dataDir, {}, { device: { id: DEVICE, location: { lat: -37.8, lon: -73.1 } }, storage: { dataDir, clipPreSec: 1 } });
    app = await startConsole({ config, mode: 'device', listen: { host: '127.0.0.1', port: 0 }, version: 't', logger: silentLogger(), pollMs: 50 });
  });

  afterAll(async () => {
    await app?.stop();
    store?.close();
  });

  it('lists the stored events, threats first then newest first, as Alerts', async () => {
    expect((await getJson(app.url, '/api/status')).body).toEqual({ mode: 'device', version: 't' });
    const { alerts } = (await getJson<{ alerts: Alert[] }>(app.url, '/api/alerts')).body;
    expect(alerts.map((a) => a.id)).toEqual([ids[3], ids[0], ids[2], ids[1]]);
    expect(alerts[0]).toMatchObject({ device: DEVICE, label: 'gunshot', category: 'threat', rev: 1, state: 'closed', seq: 4 });
    expect(alerts[3]!.clip).toEqual({ format: 'wav', durationMs: 3000, sha256: crypto.createHash('sha256').update(clipBytes).digest('hex') });
    expect((await getJson<{ alerts: Alert[] }>(app.url, '/api/alerts?label=dog')).body.alerts.map((a) => a.id)).toEqual([ids[1]]);
    expect((await getJson<{ alerts: Alert[] }>(app.url, '/api/alerts?device=other')).body.alerts).toEqual([]);
    expect((await getJson<Alert>(app.url, `/api/alerts/${ids[2]}`)).body.label).toBe('human_voice');
  });

  it('shows this device online while its agent runs, with its latest health and configured location', async () => {
    const { devices } = (await getJson<{ devices: DeviceInfo[] }>(app.url, '/api/devices')).body;
    expect(devices).toHaveLength(1);
    expect(devices[0]).toMatchObject({ device: DEVICE, state: 'online', version: '9.9', startedAt: '2026-03-01T11:00:00.000Z', location: { lat: -37.8, lon: -73.1 }, health: { at: '2026-03-01T12:05:00.000Z', batteryPercent: 64, cpuTempC: 51, queue: { depth: 2 }, soundLevelDbfs: -48 } });
  });

  it('serves this device\'s health history from the agent\'s samples; another device is 404', async () => {
    type History = { health: { at: string; soundLevelDbfs?: number }[] };
    const since = encodeURIComponent('2026-03-01T00:00:00Z');
    const { body } = await getJson<History>(app.url, `/api/devices/${DEVICE}/health?since=${since}`);
    expect(body.health.map((h) => [h.at, h.soundLevelDbfs])).toEqual([
      ['2026-03-01T12:00:00.000Z', -61],
      ['2026-03-01T12:05:00.000Z', -48],
    ]);
    expect((await getJson<History>(app.url, `/api/devices/${DEVICE}/health?since=${since}&limit=1`)).body.health.map((h) => h.soundLevelDbfs)).toEqual([-48]);
    expect((await getJson<History>(app.url, `/api/devices/${DEVICE}/health`)).body.health).toEqual([]); // a day back from now: none
    expect((await getJson(app.url, '/api/devices/other/health')).status).toBe(404);
  });

  it('serves clips from the data folder (Range too); 404 without one', async () => {
    const full = await fetch(`${app.url}/api/alerts/${ids[1]}/clip`);
    expect(full.status).toBe(200);
    expect(Buffer.from(await full.arrayBuffer()).equals(clipBytes)).toBe(true);
    const part = await fetch(`${app.url}/api/alerts/${ids[1]}/clip`, { headers: { Range: 'bytes=10-19' } });
    expect(part.status).toBe(206);
    expect(Buffer.from(await part.arrayBuffer()).equals(clipBytes.subarray(10, 20))).toBe(true);
    expect((await getJson(app.url, `/api/alerts/${ids[0]}/clip`)).status).toBe(404);
  });

  it('is read-only: a review is 405 and the database is not written', async () => {
    const before = fs.statSync(path.join(dataDir, 'events.db')).mtimeMs;
    const res = await post(app.url, `/api/alerts/${ids[0]}/review`, { verdict: 'confirmed' });
    expect(res.status).toBe(405);
    expect(((await res.json()) as { error: string }).error).toContain('device mode is read-only');
    expect(fs.statSync(path.join(dataDir, 'events.db')).mtimeMs).toBe(before);
  });

  it('puts an event the agent stores now on the live stream', async () => {
    const sse = new SseReader().start(app.url);
    try {
      await sse.opened;
      const fresh = store.putEvent(makeEvent(9, 1));
      await waitFor(() => sse.of('alert').some((a) => (a as Alert).id === fresh.id), 5000, 'the new event on the stream');
      saveRunState(store, { pid: process.pid, startedAt: '2026-03-01T11:00:00.000Z', source: 'file', description: 'x.wav', version: '9.9' }, 'stopped', Date.now());
      await waitFor(() => sse.of('device').some((d) => (d as DeviceInfo).state === 'offline'), 5000, 'the device offline once its agent stopped');
    } finally {
      sse.close();
    }
  });
});
