/**
 * Opening the store's database: connection settings, the start-up check, migrations, and the
 * recovery path when the file is damaged. The agent must never refuse to start because of a bad
 * database: a damaged file is moved aside and what can be read is salvaged into a fresh one.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { UnavailableError, errnoCode } from '../errors.js';
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
  makeFolder(path.dirname(file));
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

/** Deepest folder path accepted (a loop guard: no real data folder is this deep). */
const MAX_FOLDER_DEPTH = 64;

/**
 * Creates `dir` and its missing parents one level at a time. Node's recursive mkdirSync spins for
 * ever when a parent is a pseudo file system that refuses to create anything (`/proc/nope`: mkdir
 * says ENOENT, the parent exists, and it tries again), hanging the agent at start at full CPU; here
 * each level is tried once and the error names the folder.
 */
export function makeFolder(dir: string): void {
  const missing: string[] = [];
  let at = path.resolve(dir);
  for (;;) {
    let st: fs.Stats | undefined;
    try {
      st = fs.statSync(at, { throwIfNoEntry: false });
    } catch (err) {
      throw folderError(dir, err);
    }
    if (st) {
      if (!st.isDirectory()) throw folderError(dir, Object.assign(new Error(`${at} is not a folder`), { code: 'ENOTDIR' }));
      break;
    }
    missing.push(at);
    const parent = path.dirname(at);
    if (parent === at || missing.length > MAX_FOLDER_DEPTH) break;
    at = parent;
  }
  for (const level of missing.reverse()) {
    try {
      fs.mkdirSync(level);
    } catch (err) {
      if (errnoCode(err) !== 'EEXIST') throw folderError(dir, err);
    }
  }
}

function folderError(dir: string, err: unknown): Error {
  const code = errnoCode(err);
  const why =
    code === 'EACCES' || code === 'EPERM'
      ? 'permission denied: run as the user that owns it (the service runs as earshot), or set storage.dataDir'
      : code === 'EROFS'
        ? 'on a read-only file system: remount it read-write or set storage.dataDir'
        : code === 'ENOENT' || code === 'ENOTDIR'
          ? 'cannot be created (a parent is missing or not a folder; is its disk mounted?): set storage.dataDir to a folder'
          : (err as Error).message;
  return new UnavailableError(`storage.dataDir ${dir}: ${why}`, { component: 'store', code: 'store.folder', cause: err });
}

/** Largest database read into memory when it cannot be opened in place (see openReadOnlyDatabase). */
const MAX_SNAPSHOT_BYTES = 256 * 1024 * 1024;

/**
 * Opens the agent's database read-only for the CLI (`status`, `events`), also for an operator who
 * may read the data folder but not write it (a member of the `earshot` group; the service's
 * UMask=0027 makes the database, its -wal and -shm group-readable, the folder 0750).
 *
 * While the agent runs, its -wal and -shm exist and a read-only connection shares them. When it
 * has stopped cleanly SQLite has removed them, and a read-only connection to a WAL database
 * must create the -shm, which the operator cannot (SQLITE_READONLY_DIRECTORY / CANTOPEN); the
 * `immutable` URI parameter would avoid that, but better-sqlite3 is built without URI filenames.
 * Then no writer exists and the main file holds every committed row, so it is read as a
 * snapshot: into memory, its header marked as a rollback-journal file (bytes 18–19), which needs
 * no -shm. The snapshot is kept only if the file did not change while it was read (an agent that
 * starts meanwhile writes to a new -wal): otherwise the in-place open is tried again.
 */
export function openReadOnlyDatabase(file: string): Database.Database {
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    // SQLite opens lazily: the first read is what finds that the -shm cannot be made.
    db.pragma('schema_version');
    return db;
  } catch (err) {
    tryClose(db);
    const code = errnoCode(err);
    if ((code !== 'SQLITE_READONLY_DIRECTORY' && code !== 'SQLITE_CANTOPEN') || fs.existsSync(`${file}-wal`)) throw err;
    const before = fs.statSync(file);
    if (before.size > MAX_SNAPSHOT_BYTES) throw err;
    const bytes = fs.readFileSync(file);
    const after = fs.statSync(file);
    if (after.mtimeMs !== before.mtimeMs || after.size !== before.size || fs.existsSync(`${file}-wal`)) {
      return new Database(file, { readonly: true, fileMustExist: true });
    }
    if (bytes.length >= 20 && bytes[18] === 2 && bytes[19] === 2) {
      bytes[18] = 1;
      bytes[19] = 1;
    }
    return new Database(bytes, { readonly: true });
  }
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
