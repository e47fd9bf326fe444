/**
 * Retention and quotas for the SQLite store. One `run()` applies, in order:
 *
 *  1. Age: events with nothing waiting in the outbox, and health samples, older than the
 *     retention age are deleted (with their clip files).
 *  2. Clip quota: oldest clips (already-uploaded ones first) are deleted until the total fits.
 *  3. Database quota (above 90 % of it) and free disk (below the floor): give up, in order,
 *     clips (oldest first), events with nothing waiting in the outbox (oldest first), health
 *     samples, and only then undelivered outbox messages — lowest priority first (health, then
 *     ordinary events, threat alerts last), oldest first — each one counted as a loss. After
 *     each batch the database file is shrunk so the disk really gets the space back.
 *
 * On an emergency (a write just failed with ENOSPC/SQLITE_FULL) the disk reserve file is
 * released first, so the deletions themselves have room to be written.
 */
import type Database from 'better-sqlite3';
import { errnoCode } from '../errors.js';
import type { Logger } from '../log.js';
import { isNoSpaceError, requiredFreeBytes, type Ballast, type DiskUsage, type StatFs } from './disk-space.js';
import type { LossKind, Priority, PruneReason, PruneReport, StoreLimits } from './types.js';

/** Prune the database when it passes this share of its quota, down to the low mark. */
const DB_HIGH_MARK = 0.9;
const DB_LOW_MARK = 0.8;
const EVENT_BATCH = 200;
const CLIP_BATCH = 10;
/** Undelivered alerts are real losses: drop few at a time and check again. */
const DROP_BATCH = 10;
/** On an emergency, free at least this share of the disk (capped) even when the configured floor is lower. */
const EMERGENCY_HEADROOM_SHARE = 0.05;
const EMERGENCY_HEADROOM_MAX = 8 * 1024 * 1024;

export interface PrunerDeps {
  db: Database.Database;
  limits: StoreLimits;
  /** Folder whose filesystem is checked for free space (the database's folder). */
  dataDir: string;
  statfs: StatFs;
  removeFile: (file: string) => void;
  ballast: Ballast;
  clock: () => number;
  logger: Logger;
  /** Adds to a persisted loss counter; called inside the pruner's transactions. */
  countLossInTx: (kind: LossKind, n: number) => void;
}

const LOSS_BY_PRIORITY: Record<Priority, LossKind> = { 0: 'threatAlerts', 1: 'eventAlerts', 2: 'healthSamples' };

interface ClipVictim {
  event_id: string;
  path: string;
  bytes: number;
}

export class SqlitePruner {
  private readonly s;

  constructor(private readonly d: PrunerDeps) {
    const db = d.db;
    this.s = {
      agedEvents: db.prepare(`SELECT e.id, c.path FROM events e LEFT JOIN clips c ON c.event_id = e.id WHERE e.end_ms < ? AND e.alert != 'queued' ORDER BY e.seq LIMIT ${EVENT_BATCH}`),
      oldestSettledEvents: db.prepare(`SELECT e.id, c.path FROM events e LEFT JOIN clips c ON c.event_id = e.id WHERE e.alert != 'queued' AND e.state = 'closed' ORDER BY e.seq LIMIT ${EVENT_BATCH}`),
      deleteEvent: db.prepare('DELETE FROM events WHERE id = ?'),
      agedHealth: db.prepare('DELETE FROM health WHERE at_ms < ? AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.health_id = health.id)'),
      oldestHealth: db.prepare(`DELETE FROM health WHERE id IN (SELECT id FROM health h WHERE NOT EXISTS (SELECT 1 FROM outbox o WHERE o.health_id = h.id) ORDER BY id LIMIT ${EVENT_BATCH})`),
      clipBytes: db.prepare('SELECT coalesce(sum(bytes), 0) FROM clips').pluck(),
      oldestClips: db.prepare('SELECT event_id, path, bytes FROM clips ORDER BY uploaded DESC, created_ms, rowid LIMIT ?'),
      deleteClip: db.prepare('DELETE FROM clips WHERE event_id = ?'),
      undelivered: db.prepare(`SELECT id, kind, event_id, health_id, priority FROM outbox ORDER BY priority DESC, coalesce(seq, id), id LIMIT ${DROP_BATCH}`),
      deleteOutbox: db.prepare('DELETE FROM outbox WHERE id = ?'),
      markDropped: db.prepare("UPDATE events SET alert = 'dropped' WHERE id = ?"),
      deleteHealth: db.prepare('DELETE FROM health WHERE id = ?'),
    };
  }

  run(reason: PruneReason): PruneReport {
    const started = Date.now();
    const report: PruneReport = { reason, clipsDeleted: 0, clipBytesFreed: 0, eventsDeleted: 0, healthDeleted: 0, undeliveredDropped: {}, stillLow: false, durationMs: 0 };
    const { limits } = this.d;
    // The reserve goes first on an emergency: deleting rows needs a little room itself.
    if (reason === 'no-space' && this.diskLow(true)) this.d.ballast.release();

    this.pruneByAge(report);

    // Clip quota.
    let clipBytes = this.s.clipBytes.get() as number;
    while (clipBytes > limits.maxClipBytes) {
      const freed = this.deleteOldestClips(report, CLIP_BATCH, clipBytes - limits.maxClipBytes);
      if (freed === 0) break;
      clipBytes -= freed;
    }

    // Database quota and free disk: each round gives up the least valuable thing left, so a
    // batch of dropped alerts is followed by deleting their (now settled) events before any
    // more alerts go. The database is pruned from the high mark down to the low mark, so one
    // pass frees a useful amount.
    const emergency = reason === 'no-space';
    const dbMax = limits.maxDatabaseBytes;
    const dbTarget = this.databaseBytes() > (emergency ? DB_LOW_MARK : DB_HIGH_MARK) * dbMax ? DB_LOW_MARK * dbMax : Infinity;
    const databaseOver = (): boolean => this.databaseBytes() > dbTarget;
    const diskLow = (): boolean => this.diskLow(emergency);
    while (databaseOver() || diskLow()) {
      // Clips take disk space, not database space.
      const progressed =
        (diskLow() && this.deleteOldestClips(report, CLIP_BATCH) > 0) ||
        this.deleteSettledEvents(report) ||
        this.deleteOldestHealth(report) ||
        this.dropUndelivered(report);
      if (!progressed) break;
      this.shrink();
    }
    report.stillLow = databaseOver() || diskLow();
    if (report.stillLow) {
      this.d.logger.error({ disk: this.disk(), databaseBytes: this.databaseBytes() }, 'storage still over its limits with nothing left to prune');
    } else if (!emergency) {
      // Put the reserve back only when it leaves the emergency headroom free.
      const disk = this.disk();
      if (disk) this.d.ballast.ensure(disk, this.emergencyFloor(disk));
    }
    report.durationMs = Date.now() - started;
    return report;
  }

  /** Bytes of pages in use (not the file size: freed pages are reused before the file grows). */
  databaseBytes(): number {
    const db = this.d.db;
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    const pages = db.pragma('page_count', { simple: true }) as number;
    const free = db.pragma('freelist_count', { simple: true }) as number;
    return (pages - free) * pageSize;
  }

  disk(): DiskUsage | undefined {
    try {
      return this.d.statfs(this.d.dataDir);
    } catch (err) {
      this.d.logger.warn({ err, dir: this.d.dataDir }, 'cannot read free disk space');
      return undefined;
    }
  }

  private diskLow(emergency: boolean): boolean {
    const disk = this.disk();
    if (!disk) return false;
    return disk.freeBytes < (emergency ? this.emergencyFloor(disk) : requiredFreeBytes(this.d.limits, disk.totalBytes));
  }

  /**
   * Free space an emergency prune makes: the configured floor, but at least a small share of the
   * disk and twice the reserve, so the retried write has room and the reserve can come back.
   */
  private emergencyFloor(disk: DiskUsage): number {
    const headroom = Math.max(Math.min(EMERGENCY_HEADROOM_MAX, disk.totalBytes * EMERGENCY_HEADROOM_SHARE), 2 * this.d.ballast.bytes);
    return Math.max(requiredFreeBytes(this.d.limits, disk.totalBytes), headroom);
  }

  private pruneByAge(report: PruneReport): void {
    const cutoff = this.d.clock() - this.d.limits.retentionMs;
    if (cutoff <= 0) return;
    for (;;) {
      const victims = this.s.agedEvents.all(cutoff) as { id: string; path: string | null }[];
      if (victims.length === 0) break;
      this.deleteEvents(victims, report);
      if (victims.length < EVENT_BATCH) break;
    }
    report.healthDeleted += this.tx(() => this.s.agedHealth.run(cutoff).changes);
  }

  /** Deletes up to `max` oldest clips (or until `enough` bytes are freed); returns bytes freed. */
  private deleteOldestClips(report: PruneReport, max: number, enough = Infinity): number {
    const victims = this.s.oldestClips.all(max) as ClipVictim[];
    let freed = 0;
    const chosen: ClipVictim[] = [];
    for (const v of victims) {
      if (freed >= enough) break;
      chosen.push(v);
      freed += v.bytes;
    }
    if (chosen.length === 0) return 0;
    // Files first: if power goes in between, a row points at a missing file (harmless, pruned
    // next time) rather than a file nobody knows about filling the disk.
    for (const v of chosen) this.removeFile(v.path);
    this.tx(() => {
      for (const v of chosen) this.s.deleteClip.run(v.event_id);
    });
    report.clipsDeleted += chosen.length;
    report.clipBytesFreed += freed;
    return Math.max(freed, 1);
  }

  private deleteSettledEvents(report: PruneReport): boolean {
    const victims = this.s.oldestSettledEvents.all() as { id: string; path: string | null }[];
    if (victims.length === 0) return false;
    this.deleteEvents(victims, report);
    return true;
  }

  private deleteOldestHealth(report: PruneReport): boolean {
    const n = this.tx(() => this.s.oldestHealth.run().changes);
    report.healthDeleted += n;
    return n > 0;
  }

  /** Last resort: removes undelivered outbox messages, lowest priority and oldest first, counting each. */
  private dropUndelivered(report: PruneReport): boolean {
    const victims = this.s.undelivered.all() as { id: number; kind: string; event_id: string | null; health_id: number | null; priority: Priority }[];
    if (victims.length === 0) return false;
    // One priority per batch, so threat alerts go only once nothing else is left.
    const priority = victims[0]!.priority;
    const batch = victims.filter((v) => v.priority === priority);
    const kind = LOSS_BY_PRIORITY[priority];
    this.tx(() => {
      for (const v of batch) {
        this.s.deleteOutbox.run(v.id);
        if (v.event_id !== null) this.s.markDropped.run(v.event_id);
        if (v.health_id !== null) this.s.deleteHealth.run(v.health_id);
      }
      this.d.countLossInTx(kind, batch.length);
    });
    report.undeliveredDropped[kind] = (report.undeliveredDropped[kind] ?? 0) + batch.length;
    this.d.logger.error({ dropped: batch.length, kind, priority }, 'disk nearly full: dropped undelivered messages (counted as lost)');
    return true;
  }

  private deleteEvents(victims: readonly { id: string; path: string | null }[], report: PruneReport): void {
    for (const v of victims) if (v.path !== null) this.removeFile(v.path);
    this.tx(() => {
      for (const v of victims) this.s.deleteEvent.run(v.id);
    });
    report.eventsDeleted += victims.length;
    report.clipsDeleted += victims.filter((v) => v.path !== null).length;
  }

  private removeFile(file: string): void {
    try {
      this.d.removeFile(file);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') this.d.logger.error({ err, file }, 'cannot delete a clip file; forgetting it anyway');
    }
  }

  /** Gives freed pages back to the filesystem: move them to the end and truncate, then empty the WAL. */
  private shrink(): void {
    try {
      this.d.db.pragma('incremental_vacuum');
      this.d.db.pragma('wal_checkpoint(TRUNCATE)');
    } catch (err) {
      if (!isNoSpaceError(err)) throw err;
      this.d.logger.warn({ err }, 'cannot shrink the database right now (no space); will retry');
    }
  }

  private tx<T>(fn: () => T): T {
    return this.d.db.transaction(fn).immediate();
  }
}
