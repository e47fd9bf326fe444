/**
 * A full disk never crashes the agent: writes that fail with SQLITE_FULL/ENOSPC prune and retry,
 * losses are counted, and writing resumes when space returns. Three ways to run out of space:
 * the database quota (SQLite's own SQLITE_FULL via max_page_count), an injected statfs with
 * real clip files, and — when the machine allows mounts — a real 2 MiB tmpfs.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TransientError } from '../../agent/errors.js';
import { ClipWriter } from '../../agent/store/clip-writer.js';
import type { DiskUsage } from '../../agent/store/disk-space.js';
import { UNLIMITED } from '../../agent/store/limits.js';
import { Retention } from '../../agent/store/retention.js';
import { SqliteStore, RESERVE_FILE } from '../../agent/store/sqlite-store.js';
import type { Store } from '../../agent/store/types.js';
import { EVENTS_TOPIC, FakeClock, makeEvent, makeTempDir, removeTempDir } from './helpers.js';
import { enqueueLegacyHealth } from './legacy-health.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/** Bytes used by the files under `dir` (what a fake statfs reports as used). */
function usedBytes(dir: string): number {
  let total = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += fs.statSync(path.join(entry.parentPath, entry.name)).size;
  }
  return total;
}

function tone(samples: number): Int16Array {
  const out = new Int16Array(samples);
  for (let i = 0; i < samples; i++) out[i] = Math.round(8000 * Math.sin(i / 7));
  return out;
}

/** Runs a store call the way the agent does: a full-store error is counted by the store and survived. */
function survive<T>(fn: () => T): T | 'full' {
  try {
    return fn();
  } catch (err) {
    expect(err).toBeInstanceOf(TransientError);
    expect((err as TransientError).code).toBe('store.full');
    return 'full';
  }
}

describe('database quota reached (SQLITE_FULL from max_page_count)', () => {
  let dir: string;
  let clock: FakeClock;
  beforeEach(() => {
    dir = makeTempDir('earshot-quota-');
    clock = new FakeClock();
  });
  afterEach(() => removeTempDir(dir));

  it('prunes delivered events first, then the lowest-priority alerts, counting each loss; never throws', () => {
    const store = new SqliteStore({ file: path.join(dir, 'events.db'), clock: clock.now, limits: { ...UNLIMITED, maxDatabaseBytes: 320 * KiB }, reserveBytes: 0 });
    store.open();
    const threats: string[] = [];
    const delivered: string[] = [];
    // Phase 1: traffic that gets delivered.
    // Each undelivered event (row + alert) takes about 1.5 KB: about 200 fit in the quota.
    for (let i = 0; i < 60; i++) {
      const e = store.putEvent(makeEvent({ startMs: clock.nowMs, label: 'dog', modelLabels: [{ label: 'x'.repeat(300), score: 0.5 }] }), { alert: EVENTS_TOPIC });
      store.ack(store.lease(10).map((m) => m.id));
      delivered.push(e.id);
      clock.advance(1000);
    }
    // Phase 2: the broker is away; threats and ordinary events pile up in the outbox.
    for (let i = 0; i < 300; i++) {
      const label = i % 10 === 0 ? 'gunshot' : 'dog';
      const e = store.putEvent(makeEvent({ startMs: clock.nowMs, label, modelLabels: [{ label: 'y'.repeat(300), score: 0.5 }] }), { alert: EVENTS_TOPIC });
      if (label === 'gunshot') threats.push(e.id);
      clock.advance(1000);
    }
    const health = store.storeHealth();
    expect(health.databaseBytes).toBeLessThanOrEqual(320 * KiB);
    // Delivered events went first, then ordinary alerts; every threat alert is still queued.
    expect(store.getEvent(delivered[0]!)).toBeUndefined();
    expect(health.losses.eventAlerts).toBeGreaterThan(0);
    expect(health.losses.threatAlerts).toBe(0);
    expect(health.losses.failedWrites).toBe(0);
    const queued = new Set(store.lease(100_000).map((m) => m.eventId));
    for (const id of threats) expect(queued.has(id), `threat alert ${id}`).toBe(true);
    expect(health.lastPrune?.reason).toBe('no-space');
    store.close();
    // Losses are persisted, not just held in memory.
    const db = new Database(path.join(dir, 'events.db'), { readonly: true });
    expect(Number(db.prepare("SELECT value FROM state WHERE key = 'loss.eventAlerts'").pluck().get())).toBe(health.losses.eventAlerts);
    db.close();
  });

  it('drops threat alerts last, and only when nothing else is left', () => {
    const store = new SqliteStore({ file: path.join(dir, 'events.db'), clock: clock.now, limits: { ...UNLIMITED, maxDatabaseBytes: 200 * KiB }, reserveBytes: 0 });
    store.open();
    let full = 0;
    for (let i = 0; i < 300; i++) {
      const r = survive(() => store.putEvent(makeEvent({ startMs: clock.nowMs, label: 'gunshot', modelLabels: [{ label: 'z'.repeat(300), score: 0.5 }] }), { alert: EVENTS_TOPIC }));
      if (r === 'full') full++;
      clock.advance(1000);
    }
    const h = store.storeHealth();
    expect(full).toBe(0);
    expect(h.losses.threatAlerts).toBeGreaterThan(0);
    // Oldest went first: the alerts still queued are exactly the newest ones.
    const queued = store.lease(100_000).map((m) => m.seq!).sort((a, b) => a - b);
    expect(queued.length).toBeGreaterThan(30);
    expect(queued).toEqual(Array.from({ length: queued.length }, (_, i) => 300 - queued.length + 1 + i));
    store.close();
  });
});

describe('free disk below the floor (injected statfs, real clip files)', () => {
  let dir: string;
  let clock: FakeClock;
  beforeEach(() => {
    dir = makeTempDir('earshot-statfs-');
    clock = new FakeClock();
  });
  afterEach(() => removeTempDir(dir));

  it('periodic pruning deletes the oldest clips, then delivered events, and keeps undelivered alerts', async () => {
    const totalBytes = 3 * MiB;
    const statfs = (): DiskUsage => ({ totalBytes, freeBytes: totalBytes - usedBytes(dir) });
    const store = new SqliteStore({ file: path.join(dir, 'events.db'), clock: clock.now, statfs, limits: { ...UNLIMITED, minFreeBytes: 1 * MiB, minFreePercent: 0 }, reserveBytes: 0 });
    store.open();
    const writer = new ClipWriter({ dir: path.join(dir, 'clips'), format: 'wav', keepClip: () => true, clock: clock.now, losses: store });
    const retention = new Retention({ store, scheduler: { setInterval: () => 0, clearInterval: () => undefined } });
    const clips: string[] = [];
    const events: string[] = [];
    for (let i = 0; i < 40; i++) {
      const e = store.putEvent(makeEvent({ startMs: clock.nowMs, label: i % 2 ? 'dog' : 'gunshot' }), { alert: EVENTS_TOPIC });
      const clip = await writer.write({ eventId: e.id, label: e.label, samples: tone(32_000), sampleRateHz: 16_000 }); // ~64 KB each
      store.attachClip(e.id, clip!);
      clips.push(clip!.path);
      events.push(e.id);
      if (i < 20) store.ack(store.lease(10).map((m) => m.id)); // the first half is delivered
      clock.advance(60_000);
    }
    expect(statfs().freeBytes).toBeLessThan(1 * MiB);
    const report = retention.runNow()!;
    expect(statfs().freeBytes).toBeGreaterThanOrEqual(1 * MiB);
    expect(report.clipsDeleted).toBeGreaterThan(0);
    expect(report.undeliveredDropped).toEqual({});
    // Oldest clips first: a prefix of the clips is gone, the rest is on disk.
    const gone = clips.map((c) => !fs.existsSync(c));
    const k = gone.indexOf(false);
    expect(k).toBe(report.clipsDeleted);
    expect(gone.slice(k).every((g) => !g)).toBe(true);
    // Every event and every undelivered alert is still there: clips were enough.
    expect(store.listEvents()).toHaveLength(40);
    expect(store.storeHealth().outbox.depth).toBe(20);
    store.close();
  });

  it('when clips are not enough, delivered events go, then undelivered alerts lowest priority first', () => {
    let freeBytes = 10 * MiB;
    const store = new SqliteStore({ file: path.join(dir, 'events.db'), clock: clock.now, statfs: () => ({ totalBytes: 100 * MiB, freeBytes }), limits: { ...UNLIMITED, minFreeBytes: 5 * MiB, minFreePercent: 0 }, reserveBytes: 0 });
    store.open();
    const delivered = store.putEvent(makeEvent({ label: 'dog' }), { alert: EVENTS_TOPIC });
    store.ack(store.lease(1).map((m) => m.id));
    const dog = store.putEvent(makeEvent({ label: 'dog' }), { alert: EVENTS_TOPIC });
    const gun = store.putEvent(makeEvent({ label: 'gunshot' }), { alert: EVENTS_TOPIC });
    enqueueLegacyHealth(path.join(dir, 'events.db'), clock.nowMs, { x: 1 });
    // The disk stays full whatever is deleted (someone else filled it): everything goes, in order, counted.
    freeBytes = 1 * MiB;
    const report = store.prune('periodic');
    expect(report.stillLow).toBe(true);
    expect(report.eventsDeleted).toBeGreaterThanOrEqual(1);
    expect(report.undeliveredDropped).toEqual({ healthSamples: 1, eventAlerts: 1, threatAlerts: 1 });
    // Under lasting pressure the events of dropped alerts go too (after their alerts, in order).
    expect(store.getEvent(delivered.id)).toBeUndefined();
    expect(store.getEvent(dog.id)).toBeUndefined();
    expect(store.getEvent(gun.id)).toBeUndefined();
    expect(store.storeHealth().losses).toMatchObject({ healthSamples: 1, eventAlerts: 1, threatAlerts: 1 });
    // Space comes back: writing resumes and nothing more is dropped.
    freeBytes = 50 * MiB;
    const next = store.putEvent(makeEvent(), { alert: EVENTS_TOPIC });
    expect(store.prune('periodic').undeliveredDropped).toEqual({});
    expect(store.lease(10).map((m) => m.eventId)).toEqual([next.id]);
    store.close();
  });
});

describe('clip writes that hit ENOSPC (injected write layer)', () => {
  let dir: string;
  beforeEach(() => (dir = makeTempDir('earshot-clipfull-')));
  afterEach(() => removeTempDir(dir));

  const enospc = () => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });

  it('prunes and retries once; a second failure is a counted loss, not an exception', async () => {
    const losses: string[] = [];
    let prunes = 0;
    let failuresLeft = 1;
    const writer = new ClipWriter({
      dir,
      format: 'wav',
      keepClip: () => true,
      onNoSpace: () => void prunes++,
      losses: { countLoss: (kind) => void losses.push(kind) },
      writeFile: async (file, data) => {
        if (failuresLeft-- > 0) throw enospc();
        await fs.promises.writeFile(file, data);
      },
    });
    const ok = await writer.write({ eventId: 'e1', label: 'gunshot', samples: tone(100), sampleRateHz: 8000 });
    expect(ok?.bytes).toBe(244);
    expect(prunes).toBe(1);
    failuresLeft = 2;
    const lost = await writer.write({ eventId: 'e2', label: 'gunshot', samples: tone(100), sampleRateHz: 8000 });
    expect(lost).toBeUndefined();
    expect(prunes).toBe(2);
    expect(losses).toEqual(['clipWrites']);
    // No temp files are left behind by the failed attempts.
    const left = fs.readdirSync(dir, { recursive: true }).map(String).filter((f) => f.endsWith('.tmp'));
    expect(left).toEqual([]);
  });
});

describe('a real full filesystem (2 MiB tmpfs)', () => {
  let dir: string;
  let mounted = false;
  beforeAll(() => {
    dir = makeTempDir('earshot-tmpfs-');
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', dir], { stdio: 'ignore' });
      mounted = true;
    } catch {
      mounted = false; // not root, or mounts not allowed (CI): the injected tests above cover the logic
    }
  });
  afterAll(() => {
    if (mounted) execFileSync('umount', ['-l', dir], { stdio: 'ignore' });
    removeTempDir(dir);
  });

  it('keeps working while clips and other files fill the disk, and resumes when space returns', async (ctx) => {
    if (!mounted) ctx.skip();
    const file = path.join(dir, 'events.db');
    const store: Store = new SqliteStore({ file, limits: { ...UNLIMITED, minFreeBytes: 0, minFreePercent: 0 }, reserveBytes: 128 * KiB });
    store.open();
    store.prune('periodic'); // creates the reserve file
    expect(fs.existsSync(path.join(dir, RESERVE_FILE))).toBe(true);
    const writer = new ClipWriter({ dir: path.join(dir, 'clips'), format: 'wav', keepClip: () => true, onNoSpace: () => void store.prune('no-space'), losses: store });
    const ids: string[] = [];
    let clipsKept = 0;
    // ~10 MiB of clips into a 2 MiB disk.
    for (let i = 0; i < 100; i++) {
      const e = survive(() => store.putEvent(makeEvent({ label: 'gunshot' }), { alert: EVENTS_TOPIC }));
      expect(e).not.toBe('full');
      if (e === 'full') continue;
      ids.push(e.id);
      const clip = await writer.write({ eventId: e.id, label: 'gunshot', samples: tone(50_000), sampleRateHz: 16_000 });
      if (clip) {
        survive(() => store.attachClip(e.id, clip));
        clipsKept++;
      }
    }
    expect(clipsKept).toBeGreaterThan(90);
    expect(store.storeHealth().clips.count).toBeLessThan(clipsKept); // old clips made room for new ones
    expect(store.listEvents()).toHaveLength(100); // no event was lost to clips

    // Now something else fills the disk completely.
    const junk = path.join(dir, 'junk');
    const fd = fs.openSync(junk, 'w');
    try {
      for (;;) fs.writeSync(fd, Buffer.alloc(16 * KiB));
    } catch (err) {
      expect((err as NodeJS.ErrnoException).code).toBe('ENOSPC');
    } finally {
      fs.closeSync(fd);
    }
    // Writes go on: the reserve and the remaining clips make room.
    const during: (string | 'full')[] = [];
    for (let i = 0; i < 20; i++) {
      const r = survive(() => store.putEvent(makeEvent({ label: 'gunshot' }), { alert: EVENTS_TOPIC }));
      during.push(r === 'full' ? r : r.id);
    }
    expect(during.filter((r) => r !== 'full').length).toBeGreaterThan(0);
    // Fill again to the last byte with nothing left to prune: a write fails as a counted loss, no crash.
    const fd2 = fs.openSync(path.join(dir, 'junk2'), 'w');
    try {
      for (;;) fs.writeSync(fd2, Buffer.alloc(4 * KiB));
    } catch {
      // full
    } finally {
      fs.closeSync(fd2);
    }
    let failed = 0;
    for (let i = 0; i < 200 && failed === 0; i++) {
      if (survive(() => store.putEvent(makeEvent({ label: 'dog', modelLabels: [{ label: 'q'.repeat(2000), score: 0.5 }] }), { alert: EVENTS_TOPIC })) === 'full') failed++;
    }
    expect(failed).toBe(1);
    expect(store.storeHealth().losses.failedWrites).toBeGreaterThanOrEqual(1);

    // Space returns: writing resumes, and the database is sound.
    fs.rmSync(junk);
    fs.rmSync(path.join(dir, 'junk2'));
    const after = store.putEvent(makeEvent(), { alert: EVENTS_TOPIC });
    expect(store.getEvent(after.id)?.alert).toBe('queued');
    const clip = await writer.write({ eventId: after.id, label: 'gunshot', samples: tone(1000), sampleRateHz: 16_000 });
    expect(clip).toBeDefined();
    store.prune('periodic');
    expect(store.storeHealth().losses.failedWrites).toBeGreaterThanOrEqual(1);
    store.close();
    const db = new Database(file);
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
  });

  it('opens on a disk that filled up while the agent was down, thanks to the reserve file', async (ctx) => {
    if (!mounted) ctx.skip();
    for (const f of fs.readdirSync(dir)) fs.rmSync(path.join(dir, f), { recursive: true, force: true });
    const file = path.join(dir, 'events.db');
    const opts = { file, limits: { ...UNLIMITED, minFreeBytes: 0, minFreePercent: 0 }, reserveBytes: 128 * KiB };
    let store = new SqliteStore(opts);
    store.open();
    store.prune('periodic');
    const before = store.putEvent(makeEvent(), { alert: EVENTS_TOPIC });
    store.close();
    const fd = fs.openSync(path.join(dir, 'junk'), 'w');
    try {
      for (;;) fs.writeSync(fd, Buffer.alloc(4 * KiB));
    } catch {
      // full
    } finally {
      fs.closeSync(fd);
    }
    // Without room SQLite cannot even create its -shm file (SQLITE_IOERR_SHMSIZE); the reserve gives it room.
    store = new SqliteStore(opts);
    store.open();
    expect(fs.existsSync(path.join(dir, RESERVE_FILE))).toBe(false);
    expect(store.getEvent(before.id)?.alert).toBe('queued');
    const after = survive(() => store.putEvent(makeEvent(), { alert: EVENTS_TOPIC }));
    expect(after).not.toBe('full');
    store.close();
    // With no reserve left and the disk still full, opening is a TransientError the agent can retry.
    const fd2 = fs.openSync(path.join(dir, 'junk2'), 'w');
    try {
      for (;;) fs.writeSync(fd2, Buffer.alloc(4 * KiB));
    } catch {
      // full
    } finally {
      fs.closeSync(fd2);
    }
    fs.rmSync(`${file}-shm`, { force: true });
    const stuck = new SqliteStore(opts);
    expect(() => stuck.open()).toThrow(expect.objectContaining({ code: 'store.full' }));
    fs.rmSync(path.join(dir, 'junk'));
    stuck.open();
    expect(stuck.getEvent(before.id)).toBeDefined();
    stuck.close();
  });
});
