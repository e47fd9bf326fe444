/**
 * A damaged database never keeps the agent from starting: it is moved aside (with its -wal and
 * -shm) and what can still be read is salvaged into a fresh file.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EarshotEvent } from '../../agent/event.js';
import { UNLIMITED } from '../../agent/store/limits.js';
import { migrate } from '../../agent/store/sqlite-schema.js';
import { salvageDatabase } from '../../agent/store/sqlite-salvage.js';
import { SqliteStore } from '../../agent/store/sqlite-store.js';
import { SEQ_GAP_AFTER_LOSS } from '../../agent/store/state-keys.js';
import { silentLogger } from '../../agent/silent-logger.js';
import { EVENTS_TOPIC, FakeClock, makeEvent, makeTempDir, removeTempDir } from './helpers.js';
import { enqueueLegacyHealth } from './legacy-health.js';

const N_EVENTS = 400;

/** A deterministic byte stream (xorshift), so a failure can be reproduced. */
function noise(seed: number, n: number): Buffer {
  const out = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

describe('corruption recovery', () => {
  let dir: string;
  let file: string;
  let clock: FakeClock;
  const make = () => new SqliteStore({ file, clock: clock.now, limits: UNLIMITED, reserveBytes: 0, logger: silentLogger() });

  beforeEach(() => {
    dir = makeTempDir('earshot-corrupt-');
    file = path.join(dir, 'events.db');
    clock = new FakeClock();
  });
  afterEach(() => removeTempDir(dir));

  /** Fills a store: events (some delivered), alerts, a clip, health; returns the events by id. */
  function fill(): Map<string, EarshotEvent> {
    const store = make();
    store.open();
    const events = new Map<string, EarshotEvent>();
    for (let i = 0; i < N_EVENTS; i++) {
      const e = store.putEvent(makeEvent({ startMs: clock.nowMs, label: i % 3 === 0 ? 'dog' : 'gunshot', modelLabels: [{ label: `label number ${i} `.repeat(4), score: 0.5 }] }), { alert: EVENTS_TOPIC });
      events.set(e.id, e);
      clock.advance(1000);
    }
    store.ack(store.lease(100).map((m) => m.id));
    const withClip = [...events.values()][10]!;
    store.attachClip(withClip.id, { path: '/data/clips/a.flac', format: 'flac', durationMs: 6000, sha256: 'ab', bytes: 1000 });
    events.set(withClip.id, store.getEvent(withClip.id)!.event);
    enqueueLegacyHealth(file, clock.nowMs, { ok: true });
    store.close(); // checkpoints: everything is in the main file now
    return events;
  }

  it('moves a file of garbage aside and starts empty, with the recovery on record', () => {
    fs.writeFileSync(file, noise(7, 64 * 1024));
    fs.writeFileSync(`${file}-wal`, noise(8, 1000));
    const store = make();
    store.open();
    const info = store.storeHealth().corruptionRecovered!;
    // The file and its -wal are kept aside exactly as found.
    expect(fs.readFileSync(info.movedTo)).toEqual(noise(7, 64 * 1024));
    expect(fs.readFileSync(`${info.movedTo}-wal`)).toEqual(noise(8, 1000));
    expect(info.reason).toMatch(/not a database/);
    expect(path.basename(info.movedTo)).toMatch(/^events\.db\.corrupt-\d{4}-\d\d-\d\dT/);
    expect(Object.values(info.salvaged).every((n) => n === 0)).toBe(true);
    // Nothing is known about seqs already used: the counter leaves a gap rather than risk a repeat.
    expect(store.openEvent(makeEvent()).seq).toBe(SEQ_GAP_AFTER_LOSS + 1);
    store.close();
    // The recovery is remembered across restarts, and a sound file is not touched again.
    const again = make();
    again.open();
    expect(again.storeHealth().corruptionRecovered?.movedTo).toBe(info.movedTo);
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('events.db.corrupt-') && !f.endsWith('-wal') && !f.endsWith('-shm'))).toHaveLength(1);
    again.close();
  });

  it('salvages the readable rows of a file with damaged pages, skipping the damage', () => {
    const original = fill();
    // Overwrite the middle of a few leaf pages of the events table (not the first or last one).
    const probe = new Database(file, { readonly: true });
    const pageSize = probe.pragma('page_size', { simple: true }) as number;
    const leaves = (probe.prepare("SELECT pageno FROM dbstat WHERE name = 'events' AND pagetype = 'leaf' ORDER BY pageno").pluck().all() as number[]);
    probe.close();
    expect(leaves.length).toBeGreaterThan(10);
    const victims = [leaves[3]!, leaves[Math.floor(leaves.length / 2)]!, leaves[leaves.length - 3]!];
    const bytes = fs.readFileSync(file);
    for (const [k, page] of victims.entries()) noise(100 + k, 300).copy(bytes, (page - 1) * pageSize + Math.floor(pageSize / 3));
    fs.writeFileSync(file, bytes);

    const store = make();
    store.open();
    const info = store.storeHealth().corruptionRecovered!;
    expect(info.reason).toMatch(/quick_check/);
    expect(fs.existsSync(info.movedTo)).toBe(true);

    const salvaged = store.listEvents();
    // Some rows were lost, most were kept — including rows after each damaged page.
    expect(salvaged.length).toBeLessThan(N_EVENTS);
    expect(salvaged.length).toBeGreaterThan(N_EVENTS * 0.8);
    expect(info.salvaged.events).toBe(salvaged.length);
    expect(info.skipped.events).toBeGreaterThan(0);
    const seqs = salvaged.map((s) => s.event.seq);
    const missing = [...original.values()].map((e) => e.seq).filter((s) => !seqs.includes(s));
    expect(seqs.some((s) => s > Math.max(...missing))).toBe(true);
    // Every salvaged row is exactly what was written: damage never comes back as data.
    for (const s of salvaged) expect(s.event).toEqual(original.get(s.event.id));

    // The outbox still holds every surviving undelivered alert, and the (legacy) health row.
    const leased = store.lease(10_000);
    const queued = salvaged.filter((s) => s.alert === 'queued').map((s) => s.event.id).sort();
    expect(leased.filter((m) => m.kind === 'event').map((m) => m.eventId).sort()).toEqual(queued);
    expect(leased.filter((m) => m.kind === 'health')).toHaveLength(1);

    // The fresh database is sound and writing goes on past every seq ever used.
    const next = store.openEvent(makeEvent());
    expect(next.seq).toBe(N_EVENTS + 1);
    store.close();
    const db = new Database(file);
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
  });

  it('rebuilds events from surviving alerts and re-enqueues alerts whose outbox row was lost', () => {
    const original = fill();
    const [lostEvent, lostAlert] = [...original.values()].slice(-2);
    // Simulate rows lost to damage in a copy of the database, then salvage it into a fresh one.
    const src = new Database(file);
    src.pragma('foreign_keys = OFF');
    src.prepare('DELETE FROM events WHERE id = ?').run(lostEvent!.id);
    src.prepare('DELETE FROM outbox WHERE event_id = ?').run(lostAlert!.id);
    src.prepare("DELETE FROM state WHERE key = 'seq'").run();
    src.close();
    const destFile = path.join(dir, 'fresh.db');
    const dest = new Database(destFile);
    migrate(dest);
    const result = salvageDatabase(file, dest, clock.nowMs, silentLogger());
    dest.close();
    expect(result.salvaged.events).toBe(N_EVENTS);

    fs.renameSync(destFile, file);
    for (const s of ['-wal', '-shm']) fs.rmSync(`${file}${s}`, { force: true });
    const store = make();
    store.open();
    // Rebuilt from the alert payload, the clip-less contract event is intact.
    expect(store.getEvent(lostEvent!.id)).toMatchObject({ event: lostEvent, state: 'closed', alert: 'queued' });
    const leased = store.lease(10_000);
    expect(leased.map((m) => m.eventId)).toContain(lostEvent!.id);
    const realert = leased.find((m) => m.eventId === lostAlert!.id)!;
    // Its lost message may have been sent: the re-enqueued version has the next rev.
    expect(JSON.parse(realert.payload)).toEqual({ ...lostAlert, state: 'closed', rev: 2 });
    expect(realert.rev).toBe(2);
    expect(store.getEvent(lostAlert!.id)).toMatchObject({ alert: 'queued', rev: 2 });
    expect(realert.topic).toBe(EVENTS_TOPIC.topic);
    // The seq counter row was lost: the next seq leaves a gap past the highest salvaged one.
    expect(store.openEvent(makeEvent()).seq).toBe(N_EVENTS + SEQ_GAP_AFTER_LOSS + 1);
    store.close();
  });

  it('an event rebuilt from an open version comes back open, so the start after the crash closes and re-sends it', () => {
    let store = make();
    store.open();
    const e = store.openEvent(makeEvent({ label: 'chainsaw' }));
    store.enqueueAlert(e.id, EVENTS_TOPIC);
    store.close();
    const src = new Database(file);
    src.pragma('foreign_keys = OFF');
    src.prepare('DELETE FROM events WHERE id = ?').run(e.id);
    src.close();
    const destFile = path.join(dir, 'fresh.db');
    const dest = new Database(destFile);
    migrate(dest);
    salvageDatabase(file, dest, clock.nowMs, silentLogger());
    dest.close();
    fs.renameSync(destFile, file);
    for (const x of ['-wal', '-shm']) fs.rmSync(`${file}${x}`, { force: true });

    store = make();
    store.open();
    expect(store.getEvent(e.id)).toMatchObject({ state: 'open', alert: 'queued', rev: 1 });
    expect(store.recoverAfterCrash(EVENTS_TOPIC).closedEvents).toEqual([e.id]);
    expect(store.lease(10).map((m) => [m.rev, (JSON.parse(m.payload) as { state: string }).state])).toEqual([[1, 'closed']]);
    store.close();
  });

  it('opens a damaged file read-only in the CLI reader with a clear data error', async () => {
    const { openEventReader } = await import('../../agent/store/event-reader.js');
    fs.writeFileSync(file, noise(3, 8192));
    expect(() => openEventReader(file)).toThrow(/damaged/);
    expect(fs.existsSync(file)).toBe(true); // the reader never moves files
  });
});
