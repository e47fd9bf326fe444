/**
 * `--share GROUP`: two consoles in one group split the events between them (each event reaches
 * exactly one), while both see every device's retained status (status and health are normal
 * subscriptions: retained messages are not delivered on shared subscriptions).
 */
import path from 'node:path';
import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunningConsole } from '../../agent/console/console-app.js';
import type { HqConsole } from '../../agent/console/hq-console.js';
import { consoleSubscriptions } from '../../agent/console/topics.js';
import type { Alert, DeviceInfo } from '../../agent/console/types.js';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { makeEvent, tempDir, testConfig, waitFor } from '../sync/helpers.js';
import { getJson, startHq } from './helpers.js';

describe('consoles sharing the ingest', () => {
  let broker: Mosquitto;
  const consoles: RunningConsole[] = [];

  afterAll(async () => {
    for (const c of consoles) await c.stop();
    await broker?.dispose();
  });

  it('subscribes to events through $share and to status and health directly', () => {
    expect(consoleSubscriptions('earshot', 'hq')).toEqual(['earshot/+/status', 'earshot/+/health', '$share/hq/earshot/+/events']);
    expect(consoleSubscriptions('a/b/')).toEqual(['a/b/+/status', 'a/b/+/health', 'a/b/+/events']);
  });

  it('splits the events between the consoles of a group, each once; both see the retained status', async () => {
    broker = await startMosquitto();
    const device = await mqtt.connectAsync(broker.url, { protocolVersion: 5, reconnectPeriod: 0 });
    // Published before the consoles exist: they get it as a retained message only.
    await device.publishAsync('earshot/dev-s/status', JSON.stringify({ state: 'online', version: '1', startedAt: '2026-03-01T00:00:00Z' }), { qos: 1, retain: true });
    for (let i = 0; i < 2; i++) {
      const dir = tempDir('earshot-console-share-');
      consoles.push(await startHq(testConfig(dir, { url: broker.url }), path.join(dir, 'console'), { share: 'hq' }));
    }
    await waitFor(() => consoles.every((c) => c.backend.status().broker?.connected === true), 5000, 'both consoles to subscribe');
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const e = { ...makeEvent(i), rev: 1, state: 'closed' };
      ids.push(e.id);
      await device.publishAsync('earshot/dev-s/events', JSON.stringify(e), { qos: 1 });
    }
    await device.endAsync();
    const ingested = () => consoles.map((c) => (c.backend as HqConsole).ingest!.stats.alerts);
    await waitFor(() => ingested().reduce((a, b) => a + b, 0) >= 20, 5000, 'all 20 events ingested by the group');
    const lists = await Promise.all(consoles.map(async (c) => (await getJson<{ alerts: Alert[] }>(c.url, '/api/alerts?limit=100')).body.alerts.map((a) => a.id)));
    expect(lists[0]!.length + lists[1]!.length).toBe(20);
    expect(new Set([...lists[0]!, ...lists[1]!])).toEqual(new Set(ids));
    expect(lists.every((l) => l.length > 0)).toBe(true);
    for (const c of consoles) {
      await waitFor(async () => (await getJson<{ devices: DeviceInfo[] }>(c.url, '/api/devices')).body.devices.some((d) => d.device === 'dev-s' && d.state === 'online'), 5000, 'the retained status on every console');
    }
  });
});
