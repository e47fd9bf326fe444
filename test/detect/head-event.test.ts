/**
 * Events say which head scored them: `head: {name, sha256}` on events of the head's labels, in
 * `analyze` output (offlineEvent) and in the live agent (EventSink); the field is accepted by the
 * store, kept through SQLite (and the memory store) across updates and closing, and sent in the
 * MQTT payload.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { offlineEvent } from '../../agent/offline/report.js';
import { scoringHead, type ScoringHead } from '../../agent/detect/scoring-head.js';
import type { TrackedEvent } from '../../agent/detect/tracker.js';
import { DataError } from '../../agent/errors.js';
import { newEventId, type EarshotEvent } from '../../agent/event.js';
import { silentLogger } from '../../agent/log.js';
import { EventRecorder as EventSink } from '../../agent/pipeline/event-recorder.js';
import { SampleRing } from '../../agent/pipeline/sample-ring.js';
import { eventPayload } from '../../agent/store/event-payload.js';
import { MemoryStore } from '../helpers/memory-store.js';
import { SqliteStore } from '../../agent/store/sqlite-store.js';
import type { NewEvent, Store } from '../../agent/store/types.js';
import { OutboxDrain } from '../../agent/sync/outbox-drain.js';
import { validateConfig } from '../../config/load.js';
import { FakeBroker } from '../sync/fake-broker.js';

const HEAD: ScoringHead = { ref: { name: 'site-a', sha256: 'ab'.repeat(32) }, labels: ['gunshot'] };
const MODEL = { name: 'efficientat-mn04', version: '1', sha256: 'cd'.repeat(32) };

function tracked(label: string, key = 1): TrackedEvent {
  return { key, label, category: label === 'dog' ? 'wildlife' : 'threat', startSample: 32000, endSample: 96000, confidence: 0.81234, modelLabels: [{ label: 'Gunshot, gunfire', score: 0.5 }], windows: 2 };
}

function newEvent(label: string, head?: ScoringHead['ref']): NewEvent {
  const start = Date.parse('2026-11-29T10:00:00.000Z');
  return {
    id: newEventId(start),
    device: 'rig',
    label,
    category: 'threat',
    confidence: 0.8,
    start: new Date(start).toISOString(),
    end: new Date(start + 2000).toISOString(),
    modelLabels: [],
    model: MODEL,
    clockSynced: true,
    ...(head ? { head } : {}),
  };
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'earshot-head-event-'));
  dirs.push(d);
  return d;
}

describe('the event head field', () => {
  it('offlineEvent: set on the head\'s labels only, as {name, sha256}', () => {
    const ctx = { device: 'rig', model: MODEL, file: 'a.wav', sampleRate: 32000, recordingStartMs: 0, clockSynced: false, head: HEAD };
    expect(offlineEvent(tracked('gunshot'), 1, ctx).head).toEqual({ name: 'site-a', sha256: 'ab'.repeat(32) });
    expect('head' in offlineEvent(tracked('dog'), 2, ctx)).toBe(false);
    expect('head' in offlineEvent(tracked('gunshot'), 3, { ...ctx, head: undefined })).toBe(false);
  });

  it('scoringHead: the names of the labels a head scores', () => {
    expect(scoringHead(undefined)).toBeUndefined();
    expect(scoringHead({ ref: HEAD.ref, labels: [{ name: 'gunshot' }, { name: 'chainsaw' }] })).toEqual({ ref: HEAD.ref, labels: ['gunshot', 'chainsaw'] });
  });

  it('EventSink (the live agent): stored events of head labels carry the head, through open, update and close', () => {
    const config = validateConfig({ device: { id: 'rig' }, storage: { dataDir: tempDir() } }, 'test');
    const store = new MemoryStore();
    store.open();
    const sink = new EventSink({ config, store, ring: new SampleRing(32000), modelRate: 32000, model: MODEL, head: HEAD, clockSynced: () => true, logger: silentLogger() });
    const t = 1_700_000_000_000;
    for (const [label, key] of [['gunshot', 1], ['dog', 2]] as const) {
      const ev = tracked(label, key);
      sink.onChange({ kind: 'opened', event: ev, startMs: t, endMs: t + 1000 });
      sink.onChange({ kind: 'updated', event: { ...ev, confidence: 0.9 }, startMs: t, endMs: t + 2000 });
      sink.onChange({ kind: 'closed', event: { ...ev, confidence: 0.9 }, startMs: t, endMs: t + 3000 });
    }
    const events = store.listEvents();
    const gun = events.find((e) => e.event.label === 'gunshot')!;
    const dog = events.find((e) => e.event.label === 'dog')!;
    expect(gun.state).toBe('closed');
    expect(gun.event.head).toEqual(HEAD.ref);
    expect(gun.event.confidence).toBe(0.9);
    expect(dog.event.head).toBeUndefined();
  });

  it.each([
    ['SQLite', (dir: string) => new SqliteStore({ file: path.join(dir, 'events.db') })],
    ['memory', () => new MemoryStore()],
  ] as const)('%s store: accepted, kept across patches and closing, in the MQTT payload after the contract keys', (_name, make) => {
    const dir = tempDir();
    let store: Store = make(dir);
    store.open();
    const opened = store.openEvent(newEvent('gunshot', HEAD.ref));
    store.updateEvent(opened.id, { confidence: 0.95 });
    store.closeEvent(opened.id, { end: new Date(Date.parse(opened.end) + 1000).toISOString() }, { alert: { topic: 'earshot/rig/events' } });
    if (store instanceof SqliteStore) {
      // Through the file: reopen.
      store.close();
      store = make(dir);
      store.open();
    }
    const got = store.getEvent(opened.id)!;
    expect(got.event.head).toEqual(HEAD.ref);
    expect(got.event.confidence).toBe(0.95);
    const payload = JSON.parse(eventPayload(got.event)) as EarshotEvent;
    expect(payload.head).toEqual(HEAD.ref);
    expect(Object.keys(payload).at(-1)).toBe('head');
    store.close();
  });

  it('the store refuses a malformed head', () => {
    const store = new MemoryStore();
    store.open();
    for (const head of [{ name: 'x' }, { name: 3, sha256: 'ab'.repeat(32) }, 'site-a', { name: 'x', sha256: 'not-hex' }]) {
      expect(() => store.openEvent({ ...newEvent('gunshot'), head } as unknown as NewEvent)).toThrow(DataError);
    }
    expect(() => store.openEvent({ ...newEvent('gunshot'), head: { name: 'x', sha256: 'ab'.repeat(32) } })).not.toThrow();
  });

  it('MQTT: the published alert of a head event carries the head (SQLite outbox → broker)', async () => {
    const dir = tempDir();
    const store = new SqliteStore({ file: path.join(dir, 'events.db') });
    store.open();
    const broker = new FakeBroker();
    const drain = new OutboxDrain({ store, broker, window: 4, ackTimeoutMs: 10_000, leaseBatch: 8, ackFlushMs: 10, pollMs: 20 });
    try {
      const ev = store.putEvent(newEvent('gunshot', HEAD.ref), { alert: { topic: 'earshot/rig/events' } });
      store.putEvent(newEvent('dog'), { alert: { topic: 'earshot/rig/events' } });
      drain.start();
      broker.goOnline();
      const deadline = Date.now() + 5000;
      while (broker.published.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const sent = broker.published.map((p) => JSON.parse(p.payload) as EarshotEvent);
      expect(sent.find((e) => e.id === ev.id)?.head).toEqual(HEAD.ref);
      expect(sent.find((e) => e.label === 'dog')?.head).toBeUndefined();
    } finally {
      await drain.stop(0);
      store.close();
    }
  });
});
