/** MqttBroker and the connection behaviour of SyncService against a real Mosquitto. */
import fs from 'node:fs';
import path from 'node:path';
import mqtt from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MemoryStore } from '../helpers/memory-store.js';
import { ReconnectBackoff } from '../../agent/sync/backoff.js';
import { LinkDownError, type LinkError } from '../../agent/sync/broker.js';
import { LINK_STATE_KEY, parseLinkState } from '../../agent/sync/link-state.js';
import { MqttBroker } from '../../agent/sync/mqtt-broker.js';
import { SyncService } from '../../agent/sync/sync-service.js';
import { freePort, startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { TcpProxy } from './tcp-proxy.js';
import { DEVICE, EVENTS_TOPIC, PREFIX, Subscriber, queueEvents, tempDir, testConfig, waitFor } from './helpers.js';

const STATUS = `${PREFIX}/${DEVICE}/status`;
const HEALTH = `${PREFIX}/${DEVICE}/health`;

describe('MqttBroker and SyncService connection behaviour (real Mosquitto)', () => {
  let broker: Mosquitto;
  const cleanups: (() => Promise<void> | void)[] = [];
  beforeAll(async () => {
    broker = await startMosquitto();
  });
  afterEach(async () => {
    for (const c of cleanups.reverse()) await c();
    cleanups.length = 0;
  });
  afterAll(() => broker.dispose());

  const mqttBroker = (url: string) => {
    const b = new MqttBroker({ url, connection: { clientId: `t-${Math.random().toString(16).slice(2)}`, protocolVersion: 5 }, backoff: new ReconnectBackoff({ minMs: 100, maxMs: 300 }) });
    cleanups.push(() => b.stop());
    return b;
  };

  it('never queues in memory: publish rejects at once while not connected', async () => {
    const b = mqttBroker(`mqtt://127.0.0.1:${await freePort()}`);
    b.start();
    const t0 = performance.now();
    await expect(b.publish('x/y', 'z', { qos: 1 })).rejects.toBeInstanceOf(LinkDownError);
    await expect(b.publish('x/y', 'z', { qos: 0 })).rejects.toThrow(/not connected/);
    expect(performance.now() - t0).toBeLessThan(50);
  });

  it('with sessionExpirySec the broker keeps the subscription and queues QoS 1 messages across a restart; without, it does not', async () => {
    const received = async (sessionExpirySec: number | undefined): Promise<string[]> => {
      const clientId = `session-${sessionExpirySec ?? 'none'}-${Math.random().toString(16).slice(2)}`;
      const topic = `t/session/${clientId}`;
      const make = () =>
        new MqttBroker({ url: broker.url, connection: { clientId, protocolVersion: 5 }, backoff: new ReconnectBackoff({ minMs: 100, maxMs: 300 }), ...(sessionExpirySec ? { sessionExpirySec } : {}) });
      const first = make();
      const up = new Promise<void>((r) => first.once('connect', r));
      first.start();
      await up;
      await first.subscribe([topic], 1);
      await first.stop();
      // Published while the client is away.
      const pub = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
      await pub.publishAsync(topic, 'while away', { qos: 1 });
      await pub.endAsync();
      // The same client id comes back; a marker published after it subscribed (again) arrives
      // after anything the broker had queued for it.
      const second = make();
      cleanups.push(() => second.stop());
      const got: string[] = [];
      second.on('message', (m) => got.push(m.payload.toString()));
      const back = new Promise<void>((r) => second.once('connect', r));
      second.start();
      await back;
      await second.subscribe([topic], 1);
      await second.publish(topic, 'marker', { qos: 1 });
      await waitFor(() => got.includes('marker'), 5000, 'the marker');
      return got;
    };
    expect(await received(60)).toEqual(['while away', 'marker']);
    expect(await received(undefined)).toEqual(['marker']);
  });

  it('learns the receive maximum, holds publishes beyond it until PUBACKs free a slot, and resolves them all', async () => {
    let outstanding = 0;
    let most = 0;
    const b = new MqttBroker({
      url: broker.url,
      connection: { clientId: 'window-test', protocolVersion: 5 },
      backoff: new ReconnectBackoff({ minMs: 100, maxMs: 300 }),
      connect: (url, opts) => {
        const client = mqtt.connect(url, opts);
        client.on('packetsend', (p) => {
          if (p.cmd === 'publish' && p.qos === 1) most = Math.max(most, ++outstanding);
        });
        client.on('packetreceive', (p) => {
          if (p.cmd === 'puback') outstanding--;
        });
        return client;
      },
    });
    cleanups.push(() => b.stop());
    const connected = new Promise<void>((r) => b.once('connect', r));
    b.start();
    await connected;
    expect(b.maxInFlight).toBe(20); // mosquitto's default
    const results = await Promise.allSettled(Array.from({ length: 100 }, (_, i) => b.publish('t/window', String(i), { qos: 1 })));
    expect(results.every((r) => r.status === 'fulfilled')).toBe(true);
    expect(most).toBe(20);
  });

  it('rejects unacknowledged publishes when the connection drops, says offline, and reconnects by itself', async () => {
    const proxy = new TcpProxy({ port: broker.port });
    await proxy.listen();
    cleanups.push(() => proxy.close());
    const b = mqttBroker(`mqtt://127.0.0.1:${proxy.port}`);
    let connects = 0;
    const offline: string[] = [];
    b.on('connect', () => connects++);
    b.on('offline', (why) => offline.push(why));
    b.start();
    await waitFor(() => connects === 1, 5000, 'connect');
    // A hung link: no PUBACK comes back; then it is cut.
    proxy.stall();
    const pending = Array.from({ length: 5 }, (_, i) => b.publish('t/cut', String(i), { qos: 1 }));
    await new Promise((r) => setTimeout(r, 100));
    proxy.cutAll();
    const settled = await Promise.allSettled(pending);
    expect(settled.map((s) => s.status)).toEqual(['rejected', 'rejected', 'rejected', 'rejected', 'rejected']);
    for (const s of settled) expect((s as PromiseRejectedResult).reason).toBeInstanceOf(LinkDownError);
    await waitFor(() => offline.length === 1 && connects === 2, 5000, 'offline then a reconnect');
    expect(offline[0]).toMatch(/127\.0\.0\.1:\d+/);
  });

  it('drops a hung connection when a PUBACK is overdue (mqtt.ackTimeoutSec) and resends on a new one', async () => {
    const proxy = new TcpProxy({ port: broker.port });
    await proxy.listen();
    cleanups.push(() => proxy.close());
    const sub = await new Subscriber().connect(broker.url, [EVENTS_TOPIC]);
    cleanups.push(() => sub.close());
    const dir = tempDir();
    const store = new MemoryStore();
    store.open();
    const sync = new SyncService({ config: testConfig(dir, { url: `mqtt://127.0.0.1:${proxy.port}`, ackTimeoutSec: 1 }), configFile: path.join(dir, 'c.yaml'), store, version: 't' });
    sync.start();
    cleanups.push(() => sync.stop());
    await waitFor(() => parseLinkState(store.getState(LINK_STATE_KEY))?.connected === true, 5000, 'connected');
    proxy.stall();
    queueEvents(store, 5);
    sync.kick();
    await sub.until(() => new Set(sub.on(EVENTS_TOPIC).map((m) => m.payload.id)).size === 5, 8000, '5 events after the hang');
    expect(sync.drainStats!.ackTimeouts).toBeGreaterThanOrEqual(1);
    expect(proxy.accepted).toBeGreaterThanOrEqual(2);
    await waitFor(() => store.storeHealth().outbox.depth === 0, 3000, 'acks written');
  });

  it('retries after a CONNACK refusal (bad password) with a clear error, and connects with the password file', async () => {
    const secured = await startMosquitto({ users: { device: 'right-password-123' } });
    cleanups.push(() => secured.dispose());
    const dir = tempDir();
    const passwordFile = path.join(dir, 'mqtt.password');
    fs.writeFileSync(passwordFile, 'wrong-password\n');
    const store = new MemoryStore();
    store.open();
    const errors: LinkError[] = [];
    const sync = new SyncService({ config: testConfig(dir, { url: secured.url, username: 'device', passwordFile }), configFile: path.join(dir, 'c.yaml'), store, version: 't' });
    const realSet = store.setState.bind(store);
    store.setState = (k, v) => {
      const s = k === LINK_STATE_KEY ? parseLinkState(v) : undefined;
      if (s?.lastErrorAt && s.lastErrorAt !== errors.at(-1)?.at) errors.push({ at: s.lastErrorAt, message: s.lastError! });
      realSet(k, v);
    };
    sync.start();
    cleanups.push(() => sync.stop());
    await waitFor(() => errors.length >= 3, 10_000, 'three refused attempts');
    expect(errors[0]!.message).toMatch(new RegExp(`^${secured.url}: the broker refused the connection: Not authorized \\(reason code 135\\); check mqtt\\.username and mqtt\\.password/passwordFile$`));
    expect(JSON.stringify(errors)).not.toContain('wrong-password');
    await sync.stop();

    fs.writeFileSync(passwordFile, 'right-password-123\n');
    const again = new SyncService({ config: testConfig(dir, { url: secured.url, username: 'device', passwordFile }), configFile: path.join(dir, 'c.yaml'), store, version: 't' });
    again.start();
    cleanups.push(() => again.stop());
    await waitFor(() => parseLinkState(store.getState(LINK_STATE_KEY))?.connected === true, 5000, 'a connection with the right password');
  });

  it('leaves a retained online status and health for late subscribers; the Last Will says offline when the link dies; stop() says offline too', async () => {
    const proxy = new TcpProxy({ port: broker.port });
    await proxy.listen();
    cleanups.push(() => proxy.close());
    const dir = tempDir();
    const store = new MemoryStore();
    store.open();
    const sync = new SyncService({ config: testConfig(dir, { url: `mqtt://127.0.0.1:${proxy.port}`, keepalive: 5 }), configFile: path.join(dir, 'c.yaml'), store, version: '9.9.9' });
    sync.start();
    sync.publishHealth({ at: new Date().toISOString(), uptimeSec: 1, queue: { depth: 0, byPriority: { 0: 0, 1: 0, 2: 0 } } }); // the agent's health ticker hands samples in
    cleanups.push(() => sync.stop());
    await waitFor(() => parseLinkState(store.getState(LINK_STATE_KEY))?.connected === true, 5000, 'connected');
    await new Promise((r) => setTimeout(r, 200));

    const late = await new Subscriber().connect(broker.url, [STATUS, HEALTH]);
    cleanups.push(() => late.close());
    await late.until(() => late.on(STATUS).length === 1 && late.on(HEALTH).length === 1, 3000, 'retained status and health');
    expect(late.on(STATUS)[0]).toMatchObject({ retain: true, payload: { state: 'online', version: '9.9.9' } });
    expect(late.on(HEALTH)[0]).toMatchObject({ retain: true, payload: { uptimeSec: expect.any(Number), queue: { depth: 0 } } });

    // The link dies without a DISCONNECT: the broker publishes the will.
    await proxy.close();
    await late.until(() => late.on(STATUS).length === 2, 5000, 'the Last Will');
    expect(late.on(STATUS)[1]!.payload).toMatchObject({ state: 'offline', version: '9.9.9' });
    const fresh = await new Subscriber().connect(broker.url, [STATUS]);
    cleanups.push(() => fresh.close());
    await fresh.until(() => fresh.on(STATUS).length === 1, 3000, 'retained offline');
    expect(fresh.on(STATUS)[0]!.payload.state).toBe('offline');

    // Back up, then a clean stop: `offline` published explicitly (a clean DISCONNECT drops the will).
    await proxy.listen();
    await late.until(() => late.on(STATUS).at(-1)?.payload.state === 'online', 5000, 'online again');
    await sync.stop();
    await late.until(() => late.on(STATUS).at(-1)?.payload.state === 'offline', 3000, 'offline on stop');
  });

  it('works over MQTT 3.1.1 (protocolVersion 4): events delivered, requests answered', async () => {
    const dir = tempDir();
    const store = new MemoryStore();
    store.open();
    const sub = await new Subscriber().connect(broker.url, [EVENTS_TOPIC, `${PREFIX}/${DEVICE}/response/#`], { protocolVersion: 4 });
    cleanups.push(() => sub.close());
    queueEvents(store, 3);
    const sync = new SyncService({ config: testConfig(dir, { url: broker.url, protocolVersion: 4 }), configFile: path.join(dir, 'c.yaml'), store, version: 't' });
    sync.start();
    cleanups.push(() => sync.stop());
    await sub.until(() => sub.on(EVENTS_TOPIC).length === 3, 5000, '3 events');
    const op = await mqtt.connectAsync(broker.url, { protocolVersion: 4, reconnectPeriod: 0 });
    await op.publishAsync(`${PREFIX}/${DEVICE}/request/status`, JSON.stringify({ transaction: 'v4' }), { qos: 1 });
    await op.endAsync();
    await sub.until(() => sub.messages.some((m) => m.payload.transaction === 'v4'), 5000, 'the response');
    expect(sub.messages.find((m) => m.payload.transaction === 'v4')!.payload.status).toBe('ok');
  });
});
