import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UNLIMITED } from '../../agent/store/limits.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../../agent/store/sqlite-schema.js';
import { SqliteStore } from '../../agent/store/sqlite-store.js';
import { EVENTS_TOPIC, FakeClock, makeEvent, makeTempDir, removeTempDir } from './helpers.js';
import { describeStoreContract } from './store-contract.js';

describeStoreContract('SqliteStore', (opts) => {
  const dir = makeTempDir();
  return {
    store: new SqliteStore({ file: path.join(dir, 'events.db'), ...opts, reserveBytes: 0 }),
    cleanup: () => removeTempDir(dir),
  };
});

describe('SqliteStore on disk', () => {
  let dir: string;
  let file: string;
  let clock: FakeClock;
  const make = () => new SqliteStore({ file, clock: clock.now, limits: UNLIMITED, reserveBytes: 0, leaseMs: 10_000 });

  beforeEach(() => {
    dir = makeTempDir();
    file = path.join(dir, 'data', 'events.db');
    clock = new FakeClock();
  });
  afterEach(() => removeTempDir(dir));

  it('uses WAL, synchronous=FULL, foreign keys and the latest schema version', () => {
    const store = make();
    store.open();
    store.close();
    const db = new Database(file, { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(db.pragma('auto_vacuum', { simple: true })).toBe(2); // incremental
    db.close();
    // Per-connection settings are checked on a live store connection.
    const live = make();
    live.open();
    const conn = (live as unknown as { db: Database.Database }).db;
    expect(conn.pragma('synchronous', { simple: true })).toBe(2); // FULL
    expect(conn.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(conn.pragma('busy_timeout', { simple: true })).toBe(5000);
    live.close();
  });

  it('keeps events, the outbox and the seq counter across a reopen', () => {
    let store = make();
    store.open();
    const a = store.putEvent(makeEvent(), { alert: EVENTS_TOPIC });
    const b = store.openEvent(makeEvent({ label: 'dog' }));
    const [leased] = store.lease(1);
    store.close();

    store = make();
    store.open();
    expect(store.getEvent(a.id)?.event).toEqual(a);
    expect(store.getEvent(b.id)?.state).toBe('open');
    // Still leased by the previous process until the lease times out, then offered again.
    expect(store.lease(10)).toEqual([]);
    clock.advance(10_000);
    expect(store.lease(10).map((m) => m.id)).toEqual([leased!.id]);
    expect(store.openEvent(makeEvent()).seq).toBe(3);
    store.close();
  });

  it('does not reuse seq numbers after their events are pruned', () => {
    const store = new SqliteStore({ file, clock: clock.now, limits: { ...UNLIMITED, retentionMs: 1000 }, reserveBytes: 0 });
    store.open();
    store.putEvent(makeEvent({ startMs: clock.nowMs }));
    store.putEvent(makeEvent({ startMs: clock.nowMs }));
    clock.advance(60_000);
    expect(store.prune('periodic').eventsDeleted).toBe(2);
    expect(store.listEvents()).toEqual([]);
    expect(store.openEvent(makeEvent({ startMs: clock.nowMs })).seq).toBe(3);
    store.close();
  });

  it('deletes clip files with the events and clips it prunes', () => {
    const store = new SqliteStore({ file, clock: clock.now, limits: { ...UNLIMITED, retentionMs: 1000, maxClipBytes: 10 }, reserveBytes: 0 });
    store.open();
    const clipFiles = [0, 1].map((i) => {
      const p = path.join(dir, `clip-${i}.wav`);
      fs.writeFileSync(p, Buffer.alloc(8));
      return p;
    });
    const a = store.putEvent(makeEvent({ startMs: clock.nowMs }));
    store.attachClip(a.id, { path: clipFiles[0]!, format: 'wav', durationMs: 1, sha256: 'x', bytes: 8 });
    clock.advance(500);
    const b = store.putEvent(makeEvent({ startMs: clock.nowMs }));
    store.attachClip(b.id, { path: clipFiles[1]!, format: 'wav', durationMs: 1, sha256: 'x', bytes: 8 });
    // 16 bytes of clips > 10: the oldest clip goes; its event stays.
    expect(store.prune('periodic')).toMatchObject({ clipsDeleted: 1, eventsDeleted: 0 });
    expect(fs.existsSync(clipFiles[0]!)).toBe(false);
    expect(fs.existsSync(clipFiles[1]!)).toBe(true);
    expect(store.getEvent(a.id)).toBeDefined();
    // Later both events age out, and b's clip file goes with it.
    clock.advance(10_000);
    expect(store.prune('periodic')).toMatchObject({ eventsDeleted: 2 });
    expect(fs.existsSync(clipFiles[1]!)).toBe(false);
    store.close();
  });

  it('reads the loss counters and the last prune back after a restart', () => {
    let store = make();
    store.open();
    store.countLoss('threatAlerts', 2);
    store.prune('manual');
    store.close();
    store = make();
    store.open();
    expect(store.storeHealth().losses.threatAlerts).toBe(2);
    expect(store.storeHealth().lastPrune?.reason).toBe('manual');
    store.close();
  });

  it('migrates a database written before event versions: queued alerts become rev 1 with their state', () => {
    // Schema 1 as a released version left it: an open threat whose alert waits, a delivered event.
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const old = new Database(file);
    old.exec(MIGRATIONS[0]!.sql);
    old.pragma('user_version = 1');
    const gun = makeEvent();
    const dog = makeEvent({ label: 'dog' });
    const insert = old.prepare(
      `INSERT INTO events (id, seq, device, label, category, confidence, start, start_ms, "end", end_ms, model_labels, model, clock_synced, state, alert, alert_topic, created_ms, updated_ms)
       VALUES (?, ?, ?, ?, ?, 0.8, ?, 0, ?, 0, '[]', '{}', 1, ?, ?, ?, 0, 0)`,
    );
    insert.run(gun.id, 1, gun.device, gun.label, gun.category, gun.start, gun.end, 'open', 'queued', EVENTS_TOPIC.topic);
    insert.run(dog.id, 2, dog.device, dog.label, dog.category, dog.start, dog.end, 'closed', 'delivered', EVENTS_TOPIC.topic);
    old.prepare(
      `INSERT INTO outbox (kind, event_id, topic, payload, priority, seq, next_attempt_ms, state, created_ms) VALUES ('event', ?, ?, ?, 0, 1, 0, 'ready', 0)`,
    ).run(gun.id, EVENTS_TOPIC.topic, JSON.stringify({ id: gun.id, seq: 1, label: 'gunshot' }));
    old.close();

    const store = make();
    store.open();
    const [m] = store.lease(10);
    expect(m).toMatchObject({ eventId: gun.id, rev: 1 });
    expect(JSON.parse(m!.payload)).toEqual({ id: gun.id, seq: 1, label: 'gunshot', state: 'open', rev: 1 });
    expect(store.getEvent(gun.id)).toMatchObject({ rev: 1, alert: 'queued' });
    expect(store.getEvent(dog.id)).toMatchObject({ rev: 1, alert: 'delivered' });
    // The old message is leased: the close is queued beside it as rev 2.
    store.closeEvent(gun.id, {}, { alert: EVENTS_TOPIC });
    expect(store.lease(10).map((x) => x.rev)).toEqual([2]);
    store.close();
  });

  it('lets a read-only reader see committed events while the store is open', () => {
    const store = make();
    store.open();
    const e = store.putEvent(makeEvent(), { alert: EVENTS_TOPIC });
    const reader = new Database(file, { readonly: true });
    expect(reader.prepare('SELECT id FROM events').pluck().all()).toEqual([e.id]);
    reader.close();
    store.close();
  });
});
