import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../config/load.js';
import { MemoryStore } from '../helpers/memory-store.js';
import { ReplayGuard, requestMac, signRequest } from '../../agent/sync/request-auth.js';
import { createRequestHandlers, type RequestDeps } from '../../agent/sync/request-handlers.js';
import { RequestRouter, type RequestAuth } from '../../agent/sync/request-router.js';
import { topicsFor } from '../../agent/sync/topics.js';
import { FakeBroker } from './fake-broker.js';
import { DEVICE, EVENTS_TOPIC, PREFIX, makeEvent, tempDir } from './helpers.js';

const topics = topicsFor(PREFIX, DEVICE);
const req = (action: string) => `${PREFIX}/${DEVICE}/request/${action}`;
const SECRET = 'correct horse battery staple';

interface Response {
  topic: string;
  body: { transaction: string | null; status: 'ok' | 'error'; data?: Record<string, unknown>; error?: string; code?: string; details?: string[] };
  correlation?: string;
}

describe('requests and responses (fake broker)', () => {
  let dir: string;
  let configFile: string;
  let broker: FakeBroker;
  let store: MemoryStore;
  let router: RequestRouter;
  let applied: string[];
  let restarted: number;
  let deps: RequestDeps;

  const responses = (): Response[] =>
    broker.published
      .filter((p) => p.topic.includes('/response/'))
      .map((p) => ({ topic: p.topic, body: JSON.parse(p.payload) as Response['body'], ...(p.opts.properties?.correlationData ? { correlation: p.opts.properties.correlationData.toString() } : {}) }));
  const send = async (action: string, payload: unknown, properties?: { correlationData: Buffer }) => {
    const text = typeof payload === 'string' ? payload : JSON.stringify(payload);
    await router.handle({ topic: req(action), payload: Buffer.from(text), ...(properties ? { properties } : {}) });
    return responses().at(-1)!;
  };
  const make = (auth?: RequestAuth, extra: Partial<RequestDeps> = {}) => {
    deps = {
      store,
      status: () => ({ state: 'online', device: DEVICE }),
      config: { file: configFile, env: {}, current: () => loadConfig({ flag: configFile, env: {} }).config, apply: (u) => (applied.push(u.keyPath), u.keyPath.startsWith('mqtt.max')) },
      syncNow: () => ({ queued: store.storeHealth().outbox.depth }),
      restart: () => restarted++,
      ...extra,
    };
    router = new RequestRouter({ broker, topics, maxRequestBytes: 2048, handlers: createRequestHandlers(deps), ...(auth ? { auth } : {}) });
    router.start();
  };

  beforeEach(() => {
    dir = tempDir();
    configFile = path.join(dir, 'config.yaml');
    fs.writeFileSync(configFile, `# site config\ndevice:\n  id: ${DEVICE}\nmqtt:\n  url: mqtt://broker.example:1883\n  password: hunter2hunter2\n`);
    broker = new FakeBroker();
    store = new MemoryStore();
    store.open();
    applied = [];
    restarted = 0;
    broker.goOnline();
  });
  afterEach(() => {
    router.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('subscribes to its request topics on every connect', async () => {
    make();
    await Promise.resolve();
    expect(broker.subscriptions).toEqual([[`${PREFIX}/${DEVICE}/request/#`]]);
    broker.goOffline();
    broker.goOnline();
    await Promise.resolve();
    expect(broker.subscriptions).toHaveLength(2);
  });

  it('answers status on response/status, echoing the transaction and the MQTT 5 correlation data', async () => {
    make();
    broker.deliver(req('status'), JSON.stringify({ transaction: 't-1' }), { correlationData: Buffer.from('corr-9') });
    await vi.waitFor(() => expect(responses()).toHaveLength(1));
    expect(responses()[0]).toEqual({ topic: `${PREFIX}/${DEVICE}/response/status`, body: { transaction: 't-1', status: 'ok', data: { state: 'online', device: DEVICE } }, correlation: 'corr-9' });
    expect(broker.published[0]!.opts).toMatchObject({ qos: 1 });
  });

  it('turns every kind of malformed request into an error response with a code, and keeps going', async () => {
    make();
    const cases: [string, unknown, string, string | null][] = [
      ['status', '{"transaction": "t", ', 'request.bad-json', null],
      ['status', '[1,2]', 'request.bad-request', null],
      ['status', '"text"', 'request.bad-request', null],
      ['status', { no: 'transaction' }, 'request.bad-transaction', null],
      ['status', { transaction: 42 }, 'request.bad-transaction', null],
      ['status', { transaction: 'x'.repeat(200) }, 'request.bad-transaction', null],
      ['status', 'x'.repeat(3000), 'request.too-large', null],
      ['self-destruct', { transaction: 't1' }, 'request.unknown-action', 't1'],
      ['status', { transaction: 't2', verbose: true }, 'request.bad-args', 't2'],
      ['events/list', { transaction: 't3', limit: 'ten' }, 'request.bad-args', 't3'],
      ['events/list', { transaction: 't4', limit: 100000 }, 'request.bad-args', 't4'],
      ['config/set', { transaction: 't5', key: 'mqtt.inFlight' }, 'request.bad-args', 't5'],
      ['config/get', { transaction: 't6', key: 'mqtt.nope' }, 'config.unknown-key', 't6'],
      ['clip/get', { transaction: 't7', id: 'no-such-event' }, 'events.not-found', 't7'],
    ];
    for (const [action, payload, code, transaction] of cases) {
      const r = await send(action, payload);
      expect(r.body, `${action} ${JSON.stringify(payload).slice(0, 40)}`).toMatchObject({ status: 'error', code, transaction });
      expect(r.topic).toBe(`${PREFIX}/${DEVICE}/response/${action}`);
      expect(r.body.error).toBeTruthy();
    }
    expect(responses().find((r) => r.body.code === 'request.unknown-action')!.body.error).toMatch(/known: status, config\/get, config\/set, sync\/now, events\/list, clip\/get, restart/);
    expect(responses().find((r) => r.body.transaction === 't3')!.body.details).toEqual([expect.stringMatching(/^limit: /)]);
    expect(router.stats).toMatchObject({ received: cases.length, errors: cases.length, ok: 0 });
    expect((await send('status', { transaction: 'after' })).body.status).toBe('ok');
  });

  it('config/get redacts secrets; config/set validates, writes atomically and says whether it applied live', async () => {
    make();
    expect((await send('config/get', { transaction: 'g1', key: 'mqtt.password' })).body.data).toEqual({ key: 'mqtt.password', value: '[redacted]' });
    expect((await send('config/get', { transaction: 'g2' })).body.data!.value).toMatchObject({ device: { id: DEVICE }, mqtt: { password: '[redacted]' } });

    const ok = await send('config/set', { transaction: 's1', key: 'mqtt.maxBytesPerSec', value: 2000 });
    expect(ok.body).toMatchObject({ status: 'ok', data: { key: 'mqtt.maxBytesPerSec', value: 2000, changed: true, applied: true, restartRequired: false } });
    const text = fs.readFileSync(configFile, 'utf8');
    expect(text).toContain('maxBytesPerSec: 2000');
    expect(text.startsWith('# site config\n')).toBe(true); // comments kept
    // An existing file keeps its mode, without access for others (it was written 0644 above).
    expect((fs.statSync(configFile).mode & 0o777).toString(8)).toBe('640');

    const restart = await send('config/set', { transaction: 's2', key: 'detection.threads', value: '2' }); // text read as on the command line
    expect(restart.body.data).toMatchObject({ value: 2, applied: false, restartRequired: true });
    expect(applied).toEqual(['mqtt.maxBytesPerSec', 'detection.threads']);

    const before = fs.readFileSync(configFile, 'utf8');
    const bad = await send('config/set', { transaction: 's3', key: 'mqtt.inFlight', value: 0 });
    expect(bad.body).toMatchObject({ status: 'error', code: 'config.invalid', transaction: 's3' });
    expect(bad.body.error).toMatch(/mqtt\.inFlight: expected a number >= 1, got 0/);
    expect((await send('config/set', { transaction: 's4', key: 'mqtt.url', value: 'http://x' })).body.code).toBe('config.invalid');
    expect(fs.readFileSync(configFile, 'utf8')).toBe(before);
    const secret = await send('config/set', { transaction: 's5', key: 'mqtt.password', value: 'new-password-1' });
    expect(secret.body.data!.value).toBe('[redacted]');
    expect(JSON.stringify(responses())).not.toContain('new-password-1');
  });

  it('events/list returns stored events with their delivery state; sync/now reports the queue', async () => {
    make();
    const a = store.putEvent(makeEvent(0), { alert: { topic: EVENTS_TOPIC } });
    store.putEvent(makeEvent(1), { alert: { topic: EVENTS_TOPIC } });
    store.ack(store.lease(1).map((m) => m.id));
    const r = await send('events/list', { transaction: 'e1', limit: 5 });
    const events = r.body.data!.events as { id: string; seq: number; alert: string }[];
    expect(r.body.data!.count).toBe(2);
    expect(events.map((e) => [e.seq, e.alert])).toEqual([
      [2, 'queued'],
      [1, 'delivered'],
    ]);
    expect((await send('events/list', { transaction: 'e2', undelivered: true, order: 'asc' })).body.data!.count).toBe(1);
    expect((await send('events/list', { transaction: 'e3', label: 'gunshot', since: '2026-03-01T12:00:00Z' })).body.data!.events).toEqual([expect.objectContaining({ id: a.id })]);
    expect((await send('sync/now', { transaction: 'n1' })).body.data).toEqual({ queued: 1 });
  });

  it('clip/get sends a header, the clip in base64 chunks and an end, which reassemble to the recorded sha256', async () => {
    make();
    const e = store.putEvent(makeEvent(0), { alert: { topic: EVENTS_TOPIC } });
    const clipFile = path.join(dir, 'clip.flac');
    const bytes = crypto.randomBytes(5000);
    fs.writeFileSync(clipFile, bytes);
    const sha256 = crypto.createHash('sha256').update(bytes).digest('hex');
    store.attachClip(e.id, { path: clipFile, format: 'flac', durationMs: 6000, sha256, bytes: bytes.length });
    const paced: number[] = [];
    router.stop();
    make(undefined, { pace: async (n) => void paced.push(n) });

    const end = await send('clip/get', { transaction: 'c1', id: e.id, chunkBytes: 2048 });
    const parts = responses().filter((r) => r.body.transaction === 'c1');
    expect(parts.map((p) => p.body.data!.part)).toEqual(['header', 'chunk', 'chunk', 'chunk', 'end']);
    expect(parts[0]!.body.data).toMatchObject({ id: e.id, format: 'flac', bytes: 5000, sha256, chunks: 3, chunkBytes: 2048 });
    const joined = Buffer.concat(parts.filter((p) => p.body.data!.part === 'chunk').map((p) => Buffer.from(String(p.body.data!.data), 'base64')));
    expect(crypto.createHash('sha256').update(joined).digest('hex')).toBe(sha256);
    expect(end.body.data).toEqual({ part: 'end', id: e.id, chunks: 3, bytes: 5000, sha256 });
    expect(paced).toEqual([2048, 2048, 904]);

    // Resume from a chunk.
    await send('clip/get', { transaction: 'c2', id: e.id, chunkBytes: 2048, from: 2 });
    expect(responses().filter((r) => r.body.transaction === 'c2').map((p) => p.body.data!.part)).toEqual(['header', 'chunk', 'end']);

    fs.writeFileSync(clipFile, 'tampered');
    expect((await send('clip/get', { transaction: 'c3', id: e.id })).body.code).toBe('clip.damaged');
    fs.rmSync(clipFile);
    expect((await send('clip/get', { transaction: 'c4', id: e.id })).body).toMatchObject({ code: 'clip.missing', error: expect.stringMatching(/pruned/) });
    const noClip = store.putEvent(makeEvent(1), { alert: { topic: EVENTS_TOPIC } });
    expect((await send('clip/get', { transaction: 'c5', id: noClip.id })).body.code).toBe('clip.none');
  });

  it('a second clip/get while one is running is refused as busy', async () => {
    make();
    const e = store.putEvent(makeEvent(0), { alert: { topic: EVENTS_TOPIC } });
    const clipFile = path.join(dir, 'clip.wav');
    fs.writeFileSync(clipFile, Buffer.alloc(4096, 1));
    store.attachClip(e.id, { path: clipFile, format: 'wav', durationMs: 100, sha256: crypto.createHash('sha256').update(Buffer.alloc(4096, 1)).digest('hex'), bytes: 4096 });
    broker.autoAck = false; // the first transfer waits for its PUBACKs
    const first = router.handle({ topic: req('clip/get'), payload: Buffer.from(JSON.stringify({ transaction: 'a', id: e.id })) });
    await vi.waitFor(() => expect(broker.pending()).toHaveLength(1));
    broker.autoAck = true;
    const second = await send('clip/get', { transaction: 'b', id: e.id });
    expect(second.body).toMatchObject({ transaction: 'b', code: 'request.busy' });
    broker.pending()[0]!.ack();
    await first;
    expect(responses().filter((r) => r.body.transaction === 'a').at(-1)!.body.data!.part).toBe('end');
  });

  it('restart answers first, then calls the restart hook; without a hook it is unsupported', async () => {
    make();
    broker.autoAck = false;
    const pending = router.handle({ topic: req('restart'), payload: Buffer.from('{"transaction":"r1"}') });
    await vi.waitFor(() => expect(broker.pending()).toHaveLength(1));
    expect(restarted).toBe(0);
    broker.pending()[0]!.ack();
    await pending;
    expect(restarted).toBe(1);
    broker.autoAck = true;
    router.stop();
    make(undefined, { restart: undefined });
    expect((await send('restart', { transaction: 'r2' })).body).toMatchObject({ status: 'error', code: 'request.unsupported' });
  });

  describe('with a shared secret (HMAC-SHA256)', () => {
    let now: number;
    let saved: string | undefined;
    const auth = (): RequestAuth => ({
      secret: Buffer.from(SECRET),
      maxSkewMs: 60_000,
      replay: new ReplayGuard({ windowMs: 60_000, load: () => saved, save: (t) => (saved = t) }),
    });
    beforeEach(() => {
      now = Date.now();
    });

    it('answers properly signed requests and silently ignores unsigned, forged, stale, misdirected and replayed ones', async () => {
      make(auth());
      const good = signRequest(SECRET, req('status'), { transaction: 'ok-1' }, now);
      expect((await send('status', good)).body).toMatchObject({ transaction: 'ok-1', status: 'ok' });
      const count = responses().length;

      const envelope = JSON.parse(good) as { signed: string; hmac: string };
      const forged = JSON.stringify({ signed: envelope.signed.replace('ok-1', 'ok-2'), hmac: envelope.hmac });
      const ignoredPayloads: [string, string][] = [
        ['status', JSON.stringify({ transaction: 'plain' })],
        ['status', forged],
        ['status', JSON.stringify({ signed: envelope.signed, hmac: 'zz' })],
        ['status', signRequest('another secret of length', req('status'), { transaction: 'x1' }, now)],
        ['status', signRequest(SECRET, req('status'), { transaction: 'old' }, now - 120_000)],
        ['restart', signRequest(SECRET, req('status'), { transaction: 'moved' }, now)], // signed for another topic
        ['status', good], // replay
        ['status', 'not json'],
        ['status', 'x'.repeat(5000)],
      ];
      for (const [action, payload] of ignoredPayloads) await router.handle({ topic: req(action), payload: Buffer.from(payload) });
      expect(responses()).toHaveLength(count);
      expect(router.stats.ignored).toBe(ignoredPayloads.length);
      expect(restarted).toBe(0);

      // Signed but malformed inside: a normal error response (the sender is authorised).
      const badArgs = signRequest(SECRET, req('events/list'), { transaction: 'ok-3', limit: -1 }, now);
      expect((await send('events/list', badArgs)).body).toMatchObject({ transaction: 'ok-3', code: 'request.bad-args' });
    });

    it('remembers accepted transactions across a restart (the seen list is saved)', async () => {
      make(auth());
      const good = signRequest(SECRET, req('status'), { transaction: 'once' }, now);
      expect((await send('status', good)).body.status).toBe('ok');
      router.stop();
      make(auth()); // a new process: loads the saved list
      const before = responses().length;
      await router.handle({ topic: req('status'), payload: Buffer.from(good) });
      expect(responses()).toHaveLength(before);
      expect(router.stats.ignored).toBe(1);
    });

    it('the scheme is HMAC-SHA256(secret, topic + "\\n" + signed text), lowercase hex', () => {
      const signed = '{"transaction":"t","ts":1767225600000}';
      const expected = crypto.createHmac('sha256', SECRET).update(`${req('status')}\n${signed}`).digest('hex');
      expect(requestMac(SECRET, req('status'), signed)).toBe(expected);
      expect(expected).toMatch(/^[0-9a-f]{64}$/);
    });
  });
});
