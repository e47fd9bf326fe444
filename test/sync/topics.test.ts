/**
 * Every device topic comes from one builder (agent/sync/topics.ts): the events the live agent
 * enqueues go to the same `<prefix>/<device>/…` tree as status and health, whatever trailing
 * slash the configured prefix has.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { TrackedEvent } from '../../agent/detect/tracker.js';
import { silentLogger } from '../../agent/log.js';
import { EventRecorder as EventSink } from '../../agent/pipeline/event-recorder.js';
import { SampleRing } from '../../agent/pipeline/sample-ring.js';
import { MemoryStore } from '../helpers/memory-store.js';
import { topicsFor } from '../../agent/sync/topics.js';
import { validateConfig } from '../../config/load.js';

const MODEL = { name: 'efficientat-mn04', version: '1', sha256: 'cd'.repeat(32) };

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** The topic of the alert the live agent enqueues for a threat under this prefix. */
function enqueuedEventTopic(topicPrefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'earshot-topics-'));
  dirs.push(dir);
  const config = validateConfig({ device: { id: 'rig' }, storage: { dataDir: dir }, mqtt: { topicPrefix } }, 'test');
  const store = new MemoryStore();
  store.open();
  const sink = new EventSink({ config, store, ring: new SampleRing(32000), modelRate: 32000, model: MODEL, clockSynced: () => true, logger: silentLogger() });
  const ev: TrackedEvent = { key: 1, label: 'gunshot', category: 'threat', startSample: 0, endSample: 32000, confidence: 0.9, modelLabels: [], windows: 1 };
  const t = 1_700_000_000_000;
  sink.onChange({ kind: 'opened', event: ev, startMs: t, endMs: t + 1000 });
  const leased = store.lease(10);
  expect(leased).toHaveLength(1);
  store.close();
  return leased[0]!.topic;
}

describe('device topics', () => {
  it.each([
    ['earshot', 'earshot/rig'],
    ['site/', 'site/rig'],
    ['site//', 'site/rig'],
    ['a/b', 'a/b/rig'],
    ['a/b/', 'a/b/rig'],
  ])('prefix %j: status, events and health all under %s', (prefix, base) => {
    const t = topicsFor(prefix, 'rig');
    expect([t.status, t.events, t.health, t.requests, t.response('status')]).toEqual([
      `${base}/status`,
      `${base}/events`,
      `${base}/health`,
      `${base}/request/#`,
      `${base}/response/status`,
    ]);
  });

  it.each(['earshot', 'site/', 'a/b', 'a/b/'])('prefix %j: the event sink enqueues alerts on the events topic of the builder', (prefix) => {
    const topics = topicsFor(prefix, 'rig');
    const topic = enqueuedEventTopic(prefix);
    expect(topic).toBe(topics.events);
    // Same tree as status and health.
    expect(topic.replace(/\/events$/, '')).toBe(topics.status.replace(/\/status$/, ''));
    expect(topic.replace(/\/events$/, '')).toBe(topics.health.replace(/\/health$/, ''));
    expect(topic).not.toContain('//');
  });
});
