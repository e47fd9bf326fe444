/**
 * "Done when": 100 malformed or unauthorised requests all get error responses (or are ignored,
 * for unauthorised), and the agent keeps running and publishing. Against a real Mosquitto.
 */
import fs from 'node:fs';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../agent/store/sqlite-store.js';
import { signRequest } from '../../agent/sync/request-auth.js';
import { SyncService } from '../../agent/sync/sync-service.js';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { DEVICE, EVENTS_TOPIC, PREFIX, Subscriber, queueEvents, tempDir, testConfig, waitFor } from './helpers.js';

const req = (action: string) => `${PREFIX}/${DEVICE}/request/${action}`;

/** 100 bad requests of many kinds: [action, payload]. */
function malformed(): [string, string | Buffer][] {
  const out: [string, string | Buffer][] = [];
  const kinds: (() => [string, string | Buffer])[] = [
    () => ['status', '{"transaction": '],
    () => ['status', Buffer.from([0xff, 0xfe, 0x00, 0x01])],
    () => ['status', ''],
    () => ['status', 'null'],
    () => ['status', '[]'],
    () => ['status', '{"transaction": 7}'],
    () => ['status', `{"transaction": "t", "pad": "${'x'.repeat(20_000)}"}`],
    () => ['no/such/action', '{"transaction": "t"}'],
    () => ['events/list', '{"transaction": "t", "limit": "all"}'],
    () => ['config/set', '{"transaction": "t", "key": "mqtt.inFlight", "value": -5}'],
    () => ['config/set', '{"transaction": "t", "key": "no.such.key", "value": 1}'],
    () => ['clip/get', '{"transaction": "t", "id": 12}'],
    () => ['restart', '{"transaction": "t", "now": true}'],
    () => ['status', `${'['.repeat(5000)}${']'.repeat(5000)}`],
  ];
  for (let i = 0; i < 100; i++) out.push(kinds[i % kinds.length]!());
  return out;
}

describe('requests against a real broker', () => {
  let broker: Mosquitto;
  let operator: MqttClient;
  const cleanups: (() => Promise<void> | void)[] = [];
  beforeAll(async () => {
    broker = await startMosquitto();
    operator = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0, protocolVersion: 5 });
    operator.on('error', () => undefined);
  });
  // One agent at a time: they share the device's client id.
  afterEach(async () => {
    for (const c of cleanups.reverse()) await c();
    cleanups.length = 0;
  });
  afterAll(async () => {
    await operator.endAsync(true);
    await broker.dispose();
  });

  async function startAgent(mqttExtra: Record<string, unknown> = {}) {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'config.yaml'), `device:\n  id: ${DEVICE}\n`);
    const store = new SqliteStore({ file: path.join(dir, 'events.db') });
    store.open();
    const sync = new SyncService({ config: testConfig(dir, { url: broker.url, ...mqttExtra }), configFile: path.join(dir, 'config.yaml'), store, version: 't' });
    sync.start();
    cleanups.push(() => store.close(), () => sync.stop());
    await waitFor(() => sync.drainStats !== undefined && store.getState('sync.link')?.includes('"connected":true') === true, 5000, 'the agent to connect');
    return { store, sync, dir };
  }

  it('answers 100 malformed requests with error responses and keeps publishing events', async () => {
    const { store, sync } = await startAgent();
    const sub = await new Subscriber().connect(broker.url, [`${PREFIX}/${DEVICE}/response/#`, EVENTS_TOPIC]);
    cleanups.push(() => sub.close());
    queueEvents(store, 20);
    sync.kick();
    const bad = malformed();
    await Promise.all(bad.map(([action, payload]) => operator.publishAsync(req(action), payload, { qos: 1 })));
    queueEvents(store, 20, 20);
    sync.kick();

    const responses = () => sub.messages.filter((m) => m.topic.includes('/response/'));
    await sub.until(() => responses().length >= 100, 15_000, '100 responses');
    expect(responses()).toHaveLength(100);
    expect(responses().every((r) => r.payload.status === 'error' && typeof r.payload.code === 'string' && typeof r.payload.error === 'string')).toBe(true);
    const codes = new Set(responses().map((r) => r.payload.code));
    expect([...codes].sort()).toEqual(['config.invalid', 'config.unknown-key', 'request.bad-args', 'request.bad-json', 'request.bad-request', 'request.bad-transaction', 'request.too-large', 'request.unknown-action'].sort());
    expect(sync.requestStats).toMatchObject({ received: 100, errors: 100 });

    // Still alive and publishing: every event made it, including those queued after the burst.
    await sub.until(() => new Set(sub.on(EVENTS_TOPIC).map((m) => m.payload.id)).size === 40, 10_000, '40 events');
    operator.publish(req('status'), JSON.stringify({ transaction: 'still-there' }), { qos: 1 });
    await sub.until(() => responses().some((r) => r.payload.transaction === 'still-there'), 5000, 'a status response');
    expect(responses().find((r) => r.payload.transaction === 'still-there')!.payload).toMatchObject({ status: 'ok', data: { state: 'online', device: DEVICE } });
  });

  it('with a request secret, ignores 100 unauthorised requests (no response), answers a signed one, keeps publishing', async () => {
    const secretFile = path.join(tempDir(), 'request.secret');
    const secret = 'a long shared secret for tests';
    fs.writeFileSync(secretFile, `${secret}\n`);
    const { store, sync } = await startAgent({ requestSecretFile: secretFile });
    const sub = await new Subscriber().connect(broker.url, [`${PREFIX}/${DEVICE}/response/#`, EVENTS_TOPIC]);
    cleanups.push(() => sub.close());
    const now = Date.now();
    const unauthorised: [string, string | Buffer][] = [
      ...malformed().slice(0, 60),
      ...Array.from({ length: 20 }, (_, i): [string, string] => ['restart', JSON.stringify({ transaction: `u${i}` })]),
      ...Array.from({ length: 10 }, (_, i): [string, string] => ['config/set', signRequest('wrong secret, same length!!', req('config/set'), { transaction: `w${i}`, key: 'mqtt.url', value: 'mqtt://evil:1883' }, now)]),
      ...Array.from({ length: 10 }, (_, i): [string, string] => ['restart', signRequest(secret, req('restart'), { transaction: `old${i}` }, now - 3600_000)]),
    ];
    expect(unauthorised).toHaveLength(100);
    queueEvents(store, 10);
    sync.kick();
    await Promise.all(unauthorised.map(([a, p]) => operator.publishAsync(req(a), p, { qos: 1 })));
    await waitFor(() => (sync.requestStats?.ignored ?? 0) >= 100, 10_000, '100 ignored requests');
    operator.publish(req('status'), signRequest(secret, req('status'), { transaction: 'signed-1' }, Date.now()), { qos: 1 });
    await sub.until(() => sub.messages.some((m) => m.payload.transaction === 'signed-1'), 5000, 'the signed response');
    expect(sub.messages.filter((m) => m.topic.includes('/response/')).map((m) => m.payload.transaction)).toEqual(['signed-1']);
    expect(sync.requestStats).toMatchObject({ ignored: 100, ok: 1 });
    await sub.until(() => new Set(sub.on(EVENTS_TOPIC).map((m) => m.payload.id)).size === 10, 10_000, '10 events');
  });
});
