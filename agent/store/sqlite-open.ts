/**
 * Opening the store's database: connection settings, the start-up check, migrations, and the
 * recovery path when the file is damaged. The agent must never refuse to start because of a bad
 * database: a damaged file is moved aside and what can be read is salvaged into a fresh one.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { errnoCode } from '../errors.js';
import { fsyncDir } from '../fs/atomic-write.js';
import type { Logger } from '../log.js';
import { migrate } from './sqlite-schema.js';
import { salvageDatabase } from './sqlite-salvage.js';
import { StateKey } from './state-keys.js';
import type { RecoveryInfo } from './types.js';

/** SQLite's own ceiling for max_page_count. */
const SQLITE_MAX_PAGES = 4294967294;
/** The WAL is truncated back to this size after a checkpoint, so it cannot keep disk space it once needed. */
const JOURNAL_SIZE_LIMIT_BYTES = 4 * 1024 * 1024;
/** How long a writer waits for another connection's lock (the CLI reading while the agent writes). */
const BUSY_TIMEOUT_MS = 5000;

export interface OpenDatabaseOptions {
  /** Database quota: enforced by SQLite itself (max_page_count), so growing past it is SQLITE_FULL, handled like a full disk. */
  maxDatabaseBytes: number;
  clock: () => number;
  logger: Logger;
}

export interface OpenedDatabase {
  db: Database.Database;
  /** Set when the file was damaged and has just been recovered. */
  recovery?: RecoveryInfo;
}

/** SQLite result codes that mean the file itself is damaged (not busy, not full, not unreadable). */
export function isCorruptionError(err: unknown): boolean {
  const code = errnoCode(err) ?? '';
  return code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT' || code.startsWith('SQLITE_CORRUPT_');
}

/**
 * Per-connection settings of the agent's connection.
 *
 * Durability: journal_mode=WAL with synchronous=FULL. In WAL mode synchronous=NORMAL only syncs
 * the WAL at checkpoints, so a commit that has returned can be lost if power goes before the
 * next checkpoint (the database stays consistent, but the latest events vanish). An alert whose
 * write returned must survive a power cut, so every commit syncs the WAL (FULL). Commits are
 * rare (a few per event) and small, so the cost — one fsync per commit, a few ms on an SD card —
 * is affordable. WAL also lets the CLI read while the agent writes.
 */
export function configureConnection(db: Database.Database, maxDatabaseBytes: number): void {
  // Only takes effect on a new, empty file (before the first table); lets prune give pages back to the disk.
  db.pragma('auto_vacuum = INCREMENTAL');
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  db.pragma(`journal_size_limit = ${JOURNAL_SIZE_LIMIT_BYTES}`);
  // Extra checks when reading cells: damage is reported as SQLITE_CORRUPT instead of read as nonsense.
  db.pragma('cell_size_check = ON');
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  const pages = Math.max(1, Math.min(SQLITE_MAX_PAGES, Math.floor(maxDatabaseBytes / pageSize)));
  db.pragma(`max_page_count = ${pages}`);
}

/** `PRAGMA quick_check`: undefined when the file is sound, else SQLite's description of the damage. */
export function quickCheck(db: Database.Database): string | undefined {
  const rows = db.pragma('quick_check') as { quick_check: string }[];
  if (rows.length === 1 && rows[0]!.quick_check === 'ok') return undefined;
  return rows.map((r) => r.quick_check).join('; ').slice(0, 2000);
}

function timestampForFile(ms: number): string {
  return new Date(ms).toISOString().replace(/[:.]/g, '-');
}

/**
 * Moves the damaged file and its -wal/-shm aside as `<file>.corrupt-<timestamp>` (+ `-wal`,
 * `-shm`, so SQLite still pairs them when the moved file is opened). Returns the new path.
 */
export function moveAside(file: string, nowMs: number): string {
  let movedTo = `${file}.corrupt-${timestampForFile(nowMs)}`;
  for (let n = 1; fs.existsSync(movedTo); n++) movedTo = `${file}.corrupt-${timestampForFile(nowMs)}-${n}`;
  for (const suffix of ['-wal', '-shm', '']) {
    try {
      fs.renameSync(`${file}${suffix}`, `${movedTo}${suffix}`);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
    }
  }
  fsyncDir(path.dirname(file));
  return movedTo;
}

const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');

/** False for an existing, non-empty file that does not start with the SQLite header (an empty or missing file is a new database). */
export function hasDatabaseHeader(file: string): boolean {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return true;
    throw err;
  }
  try {
    const head = Buffer.alloc(SQLITE_HEADER.length);
    const n = fs.readSync(fd, head, 0, head.length, 0);
    return n === 0 || (n === head.length && head.equals(SQLITE_HEADER));
  } finally {
    fs.closeSync(fd);
  }
}

function tryClose(db: Database.Database | undefined): void {
  try {
    db?.close();
  } catch {
    // a damaged database may fail to checkpoint on close; it is being moved aside anyway
  }
}

/**
 * Opens (creating if needed) the database at `file`: settings, quick_check, migrations. A damaged
 * file ("file is not a database", quick_check failures, SQLITE_CORRUPT while migrating) is moved
 * aside and salvaged into a fresh database; the returned `recovery` says what happened.
 * Other failures (permissions, a full disk while creating the file) are thrown.
 */
export function openStoreDatabase(file: string, opts: OpenDatabaseOptions): OpenedDatabase {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  // Opening a file that is not a database still lets SQLite delete its -wal on close; check
  // the header first so such a file is moved aside exactly as it was found.
  if (!hasDatabaseHeader(file)) return recover(file, 'file is not a database (no SQLite header)', opts);
  let db: Database.Database | undefined;
  let problem: string;
  try {
    db = new Database(file);
    configureConnection(db, opts.maxDatabaseBytes);
    const damage = quickCheck(db);
    if (damage === undefined) {
      migrate(db);
      return { db };
    }
    problem = `quick_check: ${damage}`;
  } catch (err) {
    if (!isCorruptionError(err)) {
      tryClose(db);
      throw err;
    }
    problem = (err as Error).message;
  }
  tryClose(db);
  return recover(file, problem, opts);
}

function recover(file: string, reason: string, opts: OpenDatabaseOptions): OpenedDatabase {
  const now = opts.clock();
  const log = opts.logger;
  log.error({ file, reason }, 'DATABASE DAMAGED: moving it aside and salvaging what can be read');
  const movedTo = moveAside(file, now);
  const db = new Database(file);
  configureConnection(db, opts.maxDatabaseBytes);
  migrate(db);
  let result: { salvaged: Record<string, number>; skipped: Record<string, number> };
  try {
    result = salvageDatabase(movedTo, db, now, log);
  } catch (err) {
    // A bug in salvage must not keep the agent from starting: go on with what was copied.
    log.error({ err, movedTo }, 'salvage failed part-way; continuing with the rows copied so far');
    result = { salvaged: {}, skipped: {} };
  }
  const recovery: RecoveryInfo = { at: new Date(now).toISOString(), reason, movedTo, salvaged: result.salvaged, skipped: result.skipped };
  db.prepare('INSERT OR REPLACE INTO state (key, value) VALUES (?, ?)').run(StateKey.recovery, JSON.stringify(recovery));
  log.error({ file, movedTo, salvaged: result.salvaged, skipped: result.skipped }, 'DATABASE RECOVERED: damaged file kept beside it; salvaged rows copied into a fresh database');
  return { db, recovery };
}
