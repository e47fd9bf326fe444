/**
 * Clips in the HQ console: fetched from a real device (a SyncService serving a stored WAV over
 * `clip/get` through a real Mosquitto), sha256-checked, cached in the console's data folder (a
 * second request does not ask the device), served with Range; drawn as a spectrogram; 503 pending
 * while the device is offline, then fetched by the console itself once its status says online.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningConsole } from '../../agent/console/console-app.js';
import type { Alert, DeviceInfo } from '../../agent/console/types.js';
import { SqliteStore } from '../../agent/store/sqlite-store.js';
import { SyncService } from '../../agent/sync/sync-service.js';
import { encodeWavInt16Mono } from '../../dsp/wav-encode.js';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { DEVICE, makeEvent, tempDir, testConfig, waitFor } from '../sync/helpers.js';
import { getJson, startHq } from './helpers.js';

const sha256 = (b: Uint8Array) => crypto.createHash('sha256').update(b).digest('hex');

/** A 3 s WAV at 16 kHz: a 1 kHz tone in its middle second over low noise (`seed` varies the noise). */
function clipWav(seed: number): Buffer {
  const rate = 16_000;
  const s = new Int16Array(rate * 3);
  let x = seed;
  for (let i = 0; i < s.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    const noise = ((x >>> 16) / 65536 - 0.5) * 600;
    const tone = i >= rate && i < 2 * rate ? Math.sin((2 * Math.PI * 1000 * i) / rate) * 12_000 : 0;
    s[i] = Math.round(noise + tone);
  }
  return Buffer.from(encodeWavInt16Mono(s, rate));
}

describe('console clips from a real device', () => {
  let broker: Mosquitto;
  let deviceDir: string;
  let store: SqliteStore;
  let sync: SyncService;
  let hq: RunningConsole;
  let publisher: MqttClient;
  let requests: number;
  const stored: { id: string; bytes: Buffer }[] = [];
  let noClipId: string;

  const startDevice = () => {
    sync = new SyncService({ config: testConfig(deviceDir, { url: broker.url, reconnectMinSec: 0.1, reconnectMaxSec: 0.3 }), configFile: path.join(deviceDir, 'config.yaml'), store, version: 't' });
    sync.start();
  };
  const deviceState = async () => (await getJson<{ devices: DeviceInfo[] }>(hq.url, '/api/devices')).body.devices.find((d) => d.device === DEVICE)?.state;

  /** Publishes the alert of a stored event as the device would (with its clip). */
  async function announce(id: string, bytes?: Buffer): Promise<void> {
    const e = store.getEvent(id)!.event;
    const clip = bytes ? { path: '/x.wav', format: 'wav', durationMs: 3000, sha256: sha256(bytes) } : undefined;
    await publisher.publishAsync(`earshot/${DEVICE}/events`, JSON.stringify({ ...e, rev: 2, state: 'closed', ...(clip ? { clip } : {}) }), { qos: 1 });
    await waitFor(async () => (await getJson(hq.url, `/api/alerts/${id}`)).status === 200, 5000, `alert ${id} in the console`);
  }

  beforeAll(async () => {
    broker = await startMosquitto();
    deviceDir = tempDir('earshot-console-device-');
    fs.writeFileSync(path.join(deviceDir, 'config.yaml'), `device:\n  id: ${DEVICE}\n`);
    fs.mkdirSync(path.join(deviceDir, 'clips'));
    store = new SqliteStore({ file: path.join(deviceDir, 'events.db'), reserveBytes: 0 });
    store.open();
    for (let i = 0; i < 2; i++) {
      const bytes = clipWav(i + 1);
      const file = path.join(deviceDir, 'clips', `${i}.wav`);
      fs.writeFileSync(file, bytes);
      const e = store.putEvent({ ...makeEvent(i, 0), start: new Date(Date.parse('2026-03-01T12:00:00Z') + i * 10_000 + 2000).toISOString(), end: new Date(Date.parse('2026-03-01T12:00:00Z') + i * 10_000 + 3000).toISOString() });
      store.attachClip(e.id, { path: file, format: 'wav', durationMs: 3000, sha256: sha256(bytes), bytes: bytes.length });
      stored.push({ id: e.id, bytes });
    }
    noClipId = store.putEvent(makeEvent(5, 0)).id;
    startDevice();
    await waitFor(() => store.getState('sync.link')?.includes('"connected":true') === true, 5000, 'the device to connect');
    const consoleDir = tempDir('earshot-console-');
    hq = await startHq(testConfig(consoleDir, { url: broker.url, reconnectMinSec: 0.1, reconnectMaxSec: 0.3 }), path.join(consoleDir, 'console'), { clipRetryDelaysMs: [200, 500, 1000, 2000] });
    publisher = await mqtt.connectAsync(broker.url, { protocolVersion: 5, reconnectPeriod: 0 });
    // Counts the clip requests the device receives.
    requests = 0;
    await publisher.subscribeAsync(`earshot/${DEVICE}/request/clip/get`, { qos: 1 });
    publisher.on('message', (topic) => {
      if (topic.endsWith('/request/clip/get')) requests++;
    });
    await waitFor(async () => (await deviceState()) === 'online', 5000, 'the console to see the device online');
    await announce(stored[0]!.id, stored[0]!.bytes);
  });

  afterAll(async () => {
    await publisher?.endAsync(true).catch(() => undefined);
    await hq?.stop();
    await sync?.stop();
    store?.close();
    await broker?.dispose();
  });

  it('fetches a clip from the device on demand, caches it by sha256 and serves it again without asking the device', async () => {
    const { id, bytes } = stored[0]!;
    const first = await fetch(`${hq.url}/api/alerts/${id}/clip`);
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toBe('audio/wav');
    expect(first.headers.get('accept-ranges')).toBe('bytes');
    expect(Buffer.from(await first.arrayBuffer()).equals(bytes)).toBe(true);
    expect(requests).toBe(1);
    expect(fs.readFileSync(path.join(hq.dataDir, 'clips', `${sha256(bytes)}.wav`)).equals(bytes)).toBe(true);

    const again = await fetch(`${hq.url}/api/alerts/${id}/clip`);
    expect(Buffer.from(await again.arrayBuffer()).equals(bytes)).toBe(true);
    expect(requests).toBe(1);
  });

  it('answers Range requests (206 with Content-Range; 416 past the end)', async () => {
    const { id, bytes } = stored[0]!;
    const part = await fetch(`${hq.url}/api/alerts/${id}/clip`, { headers: { Range: 'bytes=100-199' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 100-199/${bytes.length}`);
    expect(Buffer.from(await part.arrayBuffer()).equals(bytes.subarray(100, 200))).toBe(true);
    const tail = await fetch(`${hq.url}/api/alerts/${id}/clip`, { headers: { Range: 'bytes=-10' } });
    expect(Buffer.from(await tail.arrayBuffer()).equals(bytes.subarray(bytes.length - 10))).toBe(true);
    const past = await fetch(`${hq.url}/api/alerts/${id}/clip`, { headers: { Range: `bytes=${bytes.length}-` } });
    expect(past.status).toBe(416);
    expect(past.headers.get('content-range')).toBe(`bytes */${bytes.length}`);
  });

  it('draws the clip as a PNG spectrogram', async () => {
    const res = await fetch(`${hq.url}/api/alerts/${stored[0]!.id}/spectrogram.png`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    const png = PNG.sync.read(Buffer.from(await res.arrayBuffer()));
    expect([png.width, png.height]).toEqual([800, 300]);
  });

  it('404 for an event without a clip, and for one the device does not know', async () => {
    await announce(noClipId);
    const none = await getJson(hq.url, `/api/alerts/${noClipId}/clip`);
    expect(none).toMatchObject({ status: 404, body: { error: 'no clip was kept for this event' } });
    // Announced with a clip, but the device has no such event.
    const ghost = { ...makeEvent(7, 0), rev: 1, state: 'closed', clip: { format: 'wav', durationMs: 3000, sha256: 'b'.repeat(64) } };
    await publisher.publishAsync(`earshot/${DEVICE}/events`, JSON.stringify(ghost), { qos: 1 });
    await waitFor(async () => (await getJson(hq.url, `/api/alerts/${ghost.id}`)).status === 200, 5000, 'the ghost alert');
    const missing = await getJson<{ error: string }>(hq.url, `/api/alerts/${ghost.id}/spectrogram.png`);
    expect(missing.status).toBe(404);
    expect(missing.body.error).toMatch(/no event with id/);
  });

  it('503 pending while the device is offline; the console fetches the clip itself when the device is back', async () => {
    const { id, bytes } = stored[1]!;
    await announce(id, bytes);
    await sync.stop(); // publishes the retained offline status
    await waitFor(async () => (await deviceState()) === 'offline', 5000, 'the console to see the device offline');
    const before = requests;
    const pending = await getJson<Alert>(hq.url, `/api/alerts/${id}/clip`);
    expect(pending).toMatchObject({ status: 503, body: { error: 'device offline', pending: true } });
    expect((await getJson(hq.url, `/api/alerts/${id}/spectrogram.png`)).status).toBe(503);
    expect(requests).toBe(before); // an offline device is not asked
    const cached = path.join(hq.dataDir, 'clips', `${sha256(bytes)}.wav`);
    expect(fs.existsSync(cached)).toBe(false);

    startDevice();
    // Nobody asks again: the console fetches it when the device's status says online.
    await waitFor(() => fs.existsSync(cached), 10_000, 'the console to fetch the wanted clip');
    const served = await fetch(`${hq.url}/api/alerts/${id}/clip`);
    expect(served.status).toBe(200);
    expect(Buffer.from(await served.arrayBuffer()).equals(bytes)).toBe(true);
  });
});
