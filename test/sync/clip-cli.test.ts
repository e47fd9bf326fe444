/**
 * `earshot events clip <id> --out FILE` (issue 13 item 5), run as a user would (build first): from
 * the local data folder, and from a device over the request/response topics — a real Mosquitto and
 * a real SyncService serving a real stored clip (several chunks), reassembled and checked by sha256.
 * Errors: unknown event 66, damaged clip 65, a transfer that does not match its sha256 65, no device
 * answering 69, a device whose retained status says offline 69.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../agent/store/sqlite-store.js';
import { SyncService } from '../../agent/sync/sync-service.js';
import { runEarshotAsync } from '../helpers/cli.js';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { cliPath } from '../helpers/paths.js';
import { DEVICE, PREFIX, makeEvent, tempDir, testConfig, waitFor } from './helpers.js';

describe('earshot events clip', () => {
  let broker: Mosquitto;
  let deviceDir: string;
  let store: SqliteStore;
  let sync: SyncService;
  let clipBytes: Buffer;
  let withClip: { id: string; seq: number };
  let damagedId: string;
  /** A configuration on the operator's side: no data of its own, the broker configured. */
  let operatorConfig: string;
  /** The device's own configuration (its data folder). */
  let deviceConfig: string;
  let out: string;

  beforeAll(async () => {
    expect(fs.existsSync(cliPath), `${cliPath} missing: run \`npm run build\` first`).toBe(true);
    broker = await startMosquitto();
    deviceDir = tempDir();
    fs.mkdirSync(path.join(deviceDir, 'clips'));
    // 100 kB: four 32 KiB chunks.
    clipBytes = crypto.randomBytes(100_000);
    const clipFile = path.join(deviceDir, 'clips', 'a.flac');
    fs.writeFileSync(clipFile, clipBytes);
    const damagedFile = path.join(deviceDir, 'clips', 'b.flac');
    fs.writeFileSync(damagedFile, clipBytes);
    store = new SqliteStore({ file: path.join(deviceDir, 'events.db'), reserveBytes: 0 });
    store.open();
    const e = store.putEvent(makeEvent(0));
    const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');
    store.attachClip(e.id, { path: clipFile, format: 'flac', durationMs: 6000, sha256: sha256(clipBytes), bytes: clipBytes.length });
    withClip = { id: e.id, seq: e.seq };
    const d = store.putEvent(makeEvent(1));
    store.attachClip(d.id, { path: damagedFile, format: 'flac', durationMs: 6000, sha256: sha256(clipBytes), bytes: clipBytes.length });
    damagedId = d.id;
    fs.writeFileSync(damagedFile, Buffer.concat([clipBytes.subarray(0, 50), Buffer.from('x'), clipBytes.subarray(51)]));

    fs.writeFileSync(path.join(deviceDir, 'config.yaml'), `device:\n  id: ${DEVICE}\n`);
    sync = new SyncService({ config: testConfig(deviceDir, { url: broker.url }), configFile: path.join(deviceDir, 'config.yaml'), store, version: 't' });
    sync.start();
    await waitFor(() => store.getState('sync.link')?.includes('"connected":true') === true, 5000, 'the device to connect');

    const operatorDir = tempDir();
    operatorConfig = path.join(operatorDir, 'operator.yaml');
    fs.writeFileSync(operatorConfig, `device:\n  id: laptop\nstorage:\n  dataDir: ${JSON.stringify(path.join(operatorDir, 'data'))}\nmqtt:\n  url: ${broker.url}\n  topicPrefix: ${PREFIX}\n`);
    deviceConfig = path.join(operatorDir, 'device.yaml');
    fs.writeFileSync(deviceConfig, `device:\n  id: ${DEVICE}\nstorage:\n  dataDir: ${JSON.stringify(deviceDir)}\n`);
    out = path.join(operatorDir, 'out');
    fs.mkdirSync(out);
  });

  afterAll(async () => {
    await sync?.stop();
    store?.close();
    await broker?.dispose();
  });

  it('fetches a clip from a device over MQTT (--url), reassembling the chunks, checked by sha256', async () => {
    const file = path.join(out, 'remote.flac');
    const r = await runEarshotAsync(['events', 'clip', withClip.id, '--device', DEVICE, '--url', broker.url, '--prefix', PREFIX, '--out', file]);
    expect(r.code, r.stderr).toBe(0);
    expect(fs.readFileSync(file).equals(clipBytes)).toBe(true);
    expect(r.stdout).toBe(`wrote ${file} (flac, 6.0 s, 100000 bytes in 4 chunks, sha256 ok, from device ${DEVICE} via ${broker.url})\n`);
    expect(fs.readdirSync(out)).toEqual(['remote.flac']); // no temp file left
  });

  it('from the device: an unknown event is 66, a damaged clip file 65 (the configured broker)', async () => {
    // One after the other: a device serves one clip/get at a time (another meanwhile is request.busy, 69).
    const unknown = await runEarshotAsync(['-c', operatorConfig, 'events', 'clip', '0190aaaa-0000-7000-8000-000000000000', '--device', DEVICE, '--out', path.join(out, 'x.flac')]);
    const damaged = await runEarshotAsync(['-c', operatorConfig, 'events', 'clip', damagedId, '--device', DEVICE, '--out', path.join(out, 'y.flac')]);
    expect(unknown.code, unknown.stderr).toBe(66);
    expect(unknown.stderr).toContain(`earshot: device ${DEVICE}: no event with id 0190aaaa-0000-7000-8000-000000000000`);
    expect(damaged.code, damaged.stderr).toBe(65);
    expect(damaged.stderr).toMatch(/does not match its recorded sha256/);
    expect(fs.existsSync(path.join(out, 'x.flac')) || fs.existsSync(path.join(out, 'y.flac'))).toBe(false);
  });

  it('a transfer whose bytes do not match the announced sha256 is 65 and writes nothing', async () => {
    // A stand-in device that announces one sha256 and sends other bytes.
    const fake = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
    try {
      await fake.subscribeAsync(`${PREFIX}/liar/request/#`, { qos: 1 });
      fake.on('message', (_topic, payload) => {
        const { transaction } = JSON.parse(payload.toString()) as { transaction: string };
        const respond = (data: object) => fake.publish(`${PREFIX}/liar/response/clip/get`, JSON.stringify({ transaction, status: 'ok', data }), { qos: 1 });
        respond({ part: 'header', id: 'e', format: 'wav', durationMs: 1000, bytes: 4, sha256: 'ab'.repeat(32), chunkBytes: 32768, chunks: 1 });
        respond({ part: 'chunk', id: 'e', index: 0, chunks: 1, offset: 0, data: Buffer.from('abcd').toString('base64') });
        respond({ part: 'end', id: 'e', chunks: 1, bytes: 4, sha256: 'ab'.repeat(32) });
      });
      const file = path.join(out, 'liar.wav');
      const r = await runEarshotAsync(['-c', operatorConfig, 'events', 'clip', 'e', '--device', 'liar', '--out', file]);
      expect(r.code, r.stderr).toBe(65);
      expect(r.stderr).toMatch(/clip of event e: sha256 [0-9a-f]{64} of what arrived does not match the device's abab/);
      expect(fs.existsSync(file)).toBe(false);
    } finally {
      await fake.endAsync(true);
    }
  });

  it('no device answering is 69, naming the device', async () => {
    const r = await runEarshotAsync(['-c', operatorConfig, 'events', 'clip', withClip.id, '--device', 'nobody', '--timeout', '1', '--out', path.join(out, 'z.flac')]);
    expect(r.code, r.stderr).toBe(69);
    expect(r.stderr).toContain('earshot: device nobody did not answer clip/get within 1 s');
  });

  it('locally: the clip file of an event in this data folder (by seq), without a broker; an unknown one is 66 with a hint', async () => {
    const file = path.join(out, 'local.flac');
    const [ok, unknown, noFolder] = await Promise.all([
      runEarshotAsync(['-c', deviceConfig, 'events', 'clip', String(withClip.seq), '--out', file]),
      runEarshotAsync(['-c', deviceConfig, 'events', 'clip', '0190aaaa-0000', '--out', file]),
      runEarshotAsync(['-c', deviceConfig, 'events', 'clip', String(withClip.seq), '--out', path.join(out, 'nope', 'c.flac')]),
    ]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(fs.readFileSync(file).equals(clipBytes)).toBe(true);
    expect(ok.stdout).toMatch(/^wrote .*local\.flac \(flac, 6\.0 s, 100000 bytes, sha256 ok, from .*a\.flac\)\n$/);
    expect(unknown.code).toBe(66);
    expect(unknown.stderr).toMatch(/no such event .* add --device <id>/);
    expect(noFolder.code).toBe(2);
    expect(noFolder.stderr).toContain(`--out ${path.join(out, 'nope', 'c.flac')}: folder ${path.join(out, 'nope')} does not exist`);
  });

  // Last: stops the device.
  it('a device whose retained status says offline is 69 at once', async () => {
    await sync.stop();
    const r = await runEarshotAsync(['-c', operatorConfig, 'events', 'clip', withClip.id, '--device', DEVICE, '--timeout', '60', '--out', path.join(out, 'off.flac')]);
    expect(r.code, r.stderr).toBe(69);
    expect(r.stderr).toContain(`earshot: device ${DEVICE} is offline`);
  });
});
