/** "Done when": TLS with client certificates works; a wrong CA fails with a clear error and retries. */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MemoryStore } from '../helpers/memory-store.js';
import type { LinkError } from '../../agent/sync/broker.js';
import { LINK_STATE_KEY, parseLinkState } from '../../agent/sync/link-state.js';
import { SyncService } from '../../agent/sync/sync-service.js';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { EVENTS_TOPIC, Subscriber, queueEvents, tempDir, testConfig, waitFor } from './helpers.js';

describe('TLS with client certificates (Mosquitto, require_certificate true)', () => {
  let broker: Mosquitto;
  const cleanups: (() => Promise<void> | void)[] = [];
  beforeAll(async () => {
    broker = await startMosquitto({ tls: true });
  });
  afterEach(async () => {
    for (const c of cleanups.reverse()) await c();
    cleanups.length = 0;
  });
  afterAll(() => broker.dispose());

  function agent(tls: Record<string, unknown>) {
    const dir = tempDir();
    const store = new MemoryStore();
    store.open();
    const errors: LinkError[] = [];
    const sync = new SyncService({ config: testConfig(dir, { url: broker.tlsUrl, tls, reconnectMinSec: 0.1, reconnectMaxSec: 0.3 }), configFile: path.join(dir, 'c.yaml'), store, version: 't' });
    // The link errors, as `sync status` will show them.
    const realSet = store.setState.bind(store);
    store.setState = (k, v) => {
      const s = k === LINK_STATE_KEY ? parseLinkState(v) : undefined;
      if (s?.lastError && s.lastErrorAt !== errors.at(-1)?.at) errors.push({ at: s.lastErrorAt!, message: s.lastError });
      realSet(k, v);
    };
    cleanups.push(() => sync.stop(), () => fs.rmSync(dir, { recursive: true, force: true }));
    return { store, sync, errors };
  }

  it('connects with a client certificate and delivers events over TLS', async () => {
    const c = broker.certs!;
    const { store, sync } = agent({ ca: c.ca, cert: c.clientCert, key: c.clientKey });
    const sub = await new Subscriber().connect(broker.url, [EVENTS_TOPIC]);
    cleanups.push(() => sub.close());
    queueEvents(store, 5);
    sync.start();
    await sub.until(() => sub.on(EVENTS_TOPIC).length === 5, 10_000, '5 events over TLS');
    expect(parseLinkState(store.getState(LINK_STATE_KEY))).toMatchObject({ connected: true, url: broker.tlsUrl });
    await waitFor(() => store.storeHealth().outbox.depth === 0, 2000, 'acks written');
  });

  it('a wrong CA fails with a clear error naming mqtt.tls.ca, and keeps retrying', async () => {
    const c = broker.certs!;
    const { store, sync, errors } = agent({ ca: c.otherCa, cert: c.clientCert, key: c.clientKey });
    sync.start();
    await waitFor(() => errors.length >= 3, 10_000, 'three failed attempts');
    expect(errors[0]!.message).toContain(broker.tlsUrl);
    expect(errors[0]!.message).toMatch(/TLS certificate does not verify/);
    expect(errors[0]!.message).toContain(`mqtt.tls.ca (${c.otherCa})`);
    console.log(`wrong CA: ${errors[0]!.message}`);
    expect(parseLinkState(store.getState(LINK_STATE_KEY))).toMatchObject({ connected: false });
    expect(parseLinkState(store.getState(LINK_STATE_KEY))!.failedAttempts).toBeGreaterThanOrEqual(3);
  });

  it('without a client certificate the broker refuses the handshake: a clear error, and retries', async () => {
    const { sync, errors } = agent({ ca: broker.certs!.ca });
    sync.start();
    await waitFor(() => errors.length >= 2, 10_000, 'two failed attempts');
    expect(errors[0]!.message).toContain(broker.tlsUrl);
    expect(errors[0]!.message).toMatch(/TLS handshake failed \(tlsv13 alert certificate required\); the broker did not accept the client certificate \(mqtt\.tls\.cert: none/);
    console.log(`no client certificate: ${errors[0]!.message}`);
  });

  it('an unreadable certificate file is a configuration error at start, naming the key and file', () => {
    const { sync } = agent({ ca: '/nonexistent/ca.pem' });
    expect(() => sync.start()).toThrow(/mqtt\.tls\.ca: \/nonexistent\/ca\.pem: cannot read the CA certificate: not found/);
  });
});
