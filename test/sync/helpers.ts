/** Shared pieces of the sync tests: a configuration, a store with a backlog, a subscriber. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { validateConfig } from '../../config/load.js';
import type { Config } from '../../config/schema.js';
import { newEventId, type Category } from '../../agent/event.js';
import type { NewEvent, Store } from '../../agent/store/types.js';
import { waitFor } from '../helpers/wait-for.js';

export { waitFor };

export const DEVICE = 'guardian-07';
export const PREFIX = 'earshot';
export const EVENTS_TOPIC = `${PREFIX}/${DEVICE}/events`;

const tempDirs = new Set<string>();
process.once('exit', () => {
  for (const d of tempDirs) fs.rmSync(d, { recursive: true, force: true });
});

/** A fresh temp folder, removed when the test process exits. */
export function tempDir(prefix = 'earshot-sync-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

/** A validated configuration for tests; `mqtt` overrides merge into the section. */
export function testConfig(dataDir: string, mqttOverrides: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Config {
  return validateConfig(
    {
      device: { id: DEVICE },
      storage: { dataDir },
      mqtt: { url: 'mqtt://127.0.0.1:1', topicPrefix: PREFIX, reconnectMinSec: 0.1, reconnectMaxSec: 1, ...mqttOverrides },
      ...extra,
    },
    'test',
  );
}

const LABELS: { label: string; category: Category }[] = [
  { label: 'gunshot', category: 'threat' },
  { label: 'dog', category: 'wildlife' },
  { label: 'human_voice', category: 'human' },
];

export function makeEvent(i: number, labelIndex = i % 3): NewEvent {
  const { label, category } = LABELS[labelIndex]!;
  const start = Date.parse('2026-03-01T12:00:00.000Z') + i * 1000;
  return {
    id: newEventId(start),
    device: DEVICE,
    label,
    category,
    confidence: 0.9,
    start: new Date(start).toISOString(),
    end: new Date(start + 1500).toISOString(),
    modelLabels: [{ label: 'Gunshot, gunfire', score: 0.9 }],
    model: { name: 'efficientat-mn04', version: '1', sha256: 'ab'.repeat(32) },
    clockSynced: true,
  };
}

/** Queues `n` closed events with alerts (a third of them threats). */
export function queueEvents(store: Store, n: number, from = 0): void {
  for (let i = from; i < from + n; i++) store.putEvent(makeEvent(i), { alert: { topic: EVENTS_TOPIC } });
}

export interface Received {
  topic: string;
  payload: Record<string, unknown>;
  userId?: string;
  retain: boolean;
}

/** A subscriber that records what arrives (QoS 1). */
export class Subscriber {
  readonly messages: Received[] = [];
  client?: MqttClient;

  async connect(url: string, topics: string[], opts: IClientOptions = {}): Promise<this> {
    this.client = await mqtt.connectAsync(url, { reconnectPeriod: 0, protocolVersion: 5, ...opts });
    this.client.on('error', () => undefined);
    this.client.on('message', (topic, payload, packet) => {
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(payload.toString()) as Record<string, unknown>;
      } catch {
        parsed = { raw: payload.toString() };
      }
      const up = packet.properties?.userProperties?.id;
      this.messages.push({ topic, payload: parsed, retain: packet.retain, ...(typeof up === 'string' ? { userId: up } : {}) });
    });
    await this.client.subscribeAsync(topics, { qos: 1 });
    return this;
  }

  on(topic: string): Received[] {
    return this.messages.filter((m) => m.topic === topic);
  }

  /** Waits until `pred` holds (polling), or fails after `timeoutMs` with `what`. */
  async until(pred: () => boolean, timeoutMs: number, what: string): Promise<void> {
    await waitFor(pred, timeoutMs, what);
  }

  async close(): Promise<void> {
    await this.client?.endAsync(true).catch(() => undefined);
  }
}

/** For each priority, whether first arrivals of ids come in increasing seq order. */
export function firstArrivalSeqs(messages: Received[]): { threat: number[]; other: number[] } {
  const seen = new Set<string>();
  const threat: number[] = [];
  const other: number[] = [];
  for (const m of messages) {
    const id = String(m.payload.id);
    if (seen.has(id)) continue;
    seen.add(id);
    (m.payload.category === 'threat' ? threat : other).push(Number(m.payload.seq));
  }
  return { threat, other };
}

export function isIncreasing(xs: number[]): boolean {
  return xs.every((x, i) => i === 0 || x > xs[i - 1]!);
}
