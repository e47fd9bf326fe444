import fs from 'node:fs';
import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { Mosquitto } from '../helpers/mosquitto.js';

describe('test/helpers/mosquitto', () => {
  const broker = new Mosquitto({ tls: true });
  afterAll(() => broker.dispose());

  it('starts a broker that accepts MQTT on plain and TLS listeners, and restarts on the same port', async () => {
    await broker.start();
    const c = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
    expect(c.connected).toBe(true);
    await c.endAsync();
    const certs = broker.certs!;
    const t = await mqtt.connectAsync(broker.tlsUrl, { reconnectPeriod: 0, ca: fs.readFileSync(certs.ca), cert: fs.readFileSync(certs.clientCert), key: fs.readFileSync(certs.clientKey) });
    expect(t.connected).toBe(true);
    await t.endAsync();
    const port = broker.port;
    await broker.stop();
    expect(broker.running).toBe(false);
    await expect(mqtt.connectAsync(broker.url, { reconnectPeriod: 0, connectTimeout: 1000 })).rejects.toThrow();
    await broker.start();
    expect(broker.port).toBe(port);
    const again = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
    expect(again.connected).toBe(true);
    await again.endAsync();
  });
});
