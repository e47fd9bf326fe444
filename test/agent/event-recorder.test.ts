/**
 * The event recorder: tracker changes → the store and its outbox, and clips cut from the sample
 * ring. A threat's alert is enqueued when it opens, on the events topic at threat priority, and
 * is published again with the final event once closed; other events alert when they close; a
 * kept clip is a further version. A clip is written once
 * its post-roll is in the ring (not before), when the segment ends, and on flush.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { TrackedEvent } from '../../agent/detect/tracker.js';
import { EventRecorder } from '../../agent/pipeline/event-recorder.js';
import { SampleRing } from '../../agent/pipeline/sample-ring.js';
import { silentLogger } from '../../agent/silent-logger.js';
import type { ClipRequest } from '../../agent/store/clip-writer.js';
import { Priority } from '../../agent/store/types.js';
import { validateConfig } from '../../config/load.js';
import { MemoryStore } from '../helpers/memory-store.js';

const RATE = 1000; // model rate of the test: 1 sample per ms keeps the arithmetic readable
const T = Date.parse('2026-03-01T12:00:00Z');
const MODEL = { name: 'm', version: '1', sha256: 'ab'.repeat(32) };

/** Lets the recorder's queued clip writes run. */
const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function setup() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'earshot-recorder-'));
  dirs.push(dir);
  const config = validateConfig({ device: { id: 'rec' }, storage: { dataDir: dir, clipPreSec: 1, clipPostSec: 2 }, mqtt: { topicPrefix: 'site' } }, 'test');
  const store = new MemoryStore();
  store.open();
  const ring = new SampleRing(60 * RATE);
  const written: ClipRequest[] = [];
  const clips = {
    write: async (req: ClipRequest) => {
      written.push(req);
      return { path: `/clips/${req.eventId}.wav`, format: 'wav' as const, durationMs: (req.samples.length / RATE) * 1000, sha256: '00', bytes: req.samples.length * 2 };
    },
  };
  let kicks = 0;
  const recorder = new EventRecorder({ config, store, clips, ring, modelRate: RATE, model: MODEL, clockSynced: () => true, kick: () => kicks++, logger: silentLogger() });
  const event = (key: number, label: string, category: TrackedEvent['category'], startSample: number, endSample: number, confidence = 0.8): TrackedEvent => ({ key, label, category, startSample, endSample, confidence, modelLabels: [], windows: 1 });
  const change = (kind: 'opened' | 'updated' | 'closed', e: TrackedEvent) => recorder.onChange({ kind, event: e, startMs: T + e.startSample, endMs: T + e.endSample });
  const audio = (ms: number) => {
    ring.write(new Float32Array(ms).fill(0.1));
    recorder.audioProgressed();
  };
  return { store, recorder, written, change, audio, event, kicks: () => kicks };
}

describe('EventRecorder', () => {
  it("a threat's alert goes to <prefix>/<device>/events at threat priority when it opens and carries the final event", () => {
    const s = setup();
    const gun = s.event(1, 'gunshot', 'threat', 5000, 6000, 0.7);
    s.change('opened', gun);
    const stored = s.store.listEvents();
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ state: 'open', alert: 'queued', event: { label: 'gunshot', device: 'rec', start: new Date(T + 5000).toISOString(), model: MODEL, clockSynced: true } });
    expect(s.kicks()).toBe(1);
    s.change('closed', { ...gun, endSample: 7000, confidence: 0.95 });
    const [m, ...rest] = s.store.lease(10);
    expect(rest).toEqual([]);
    expect(m).toMatchObject({ kind: 'event', topic: 'site/rec/events', priority: Priority.threatAlert, eventId: stored[0]!.event.id });
    expect(JSON.parse(m!.payload)).toMatchObject({ confidence: 0.95, end: new Date(T + 7000).toISOString() });
  });

  it('other events alert only when they close, at event priority', () => {
    const s = setup();
    const dog = s.event(2, 'dog', 'wildlife', 1000, 2000);
    s.change('opened', dog);
    s.change('updated', { ...dog, confidence: 0.9 });
    expect(s.store.lease(10)).toEqual([]);
    expect(s.store.listEvents()[0]).toMatchObject({ alert: 'pending', event: { confidence: 0.9 } });
    s.change('closed', dog);
    expect(s.store.lease(10)).toEqual([expect.objectContaining({ topic: 'site/rec/events', priority: Priority.eventAlert })]);
  });

  it('writes a clip (pre-roll, event, post-roll) once the post-roll is in the ring, and attaches it', async () => {
    const s = setup();
    s.audio(8000);
    const gun = s.event(1, 'gunshot', 'threat', 5000, 7000);
    s.change('opened', gun);
    s.change('closed', gun);
    s.audio(500);
    await settle();
    expect(s.written).toEqual([]); // post-roll ends at 9000, the ring at 8500
    s.audio(500);
    await settle();
    expect(s.written).toHaveLength(1);
    expect(s.written[0]!.samples.length).toBe(1000 + 2000 + 2000);
    await s.recorder.flush();
    expect(s.store.listEvents()[0]!.clip).toMatchObject({ path: expect.stringMatching(/\.wav$/), durationMs: 5000 });
  });

  it('a threat delivered at open is published again closed (rev 2), then with its clip (rev 3), kicking the drain each time', async () => {
    const s = setup();
    s.audio(8000);
    const gun = s.event(1, 'gunshot', 'threat', 5000, 6000, 0.57);
    s.change('opened', gun);
    s.store.ack(s.store.lease(10).map((m) => m.id));
    s.change('closed', { ...gun, confidence: 0.94 });
    expect(s.kicks()).toBe(2);
    const [closed] = s.store.lease(10);
    expect(JSON.parse(closed!.payload)).toMatchObject({ state: 'closed', rev: 2, confidence: 0.94 });
    s.store.ack([closed!.id]);
    s.audio(2000); // the post-roll: the clip is written
    await s.recorder.flush();
    expect(s.kicks()).toBe(3);
    const [withClip, ...rest] = s.store.lease(10);
    expect(rest).toEqual([]);
    expect(JSON.parse(withClip!.payload)).toMatchObject({ state: 'closed', rev: 3, clip: { path: expect.stringMatching(/\.wav$/) } });
  });

  it('a segment end and a flush write pending clips with the audio there is', async () => {
    const s = setup();
    s.audio(8000);
    const a = s.event(1, 'gunshot', 'threat', 6000, 7000);
    s.change('opened', a);
    s.change('closed', a);
    s.recorder.segmentEnded();
    await settle();
    expect(s.written.map((w) => w.samples.length)).toEqual([3000]); // 5000..8000: the post-roll never came
    const b = s.event(2, 'chainsaw', 'threat', 7000, 7500);
    s.change('opened', b);
    s.change('closed', b);
    await settle();
    expect(s.written).toHaveLength(1);
    await s.recorder.flush();
    expect(s.written).toHaveLength(2);
    expect(s.store.listEvents().every((e) => e.clip !== undefined)).toBe(true);
  });
});
