/**
 * Copies what can still be read from a damaged database into a fresh one: table by table,
 * row by row, stepping over pages that cannot be read, dropping rows that fail validation.
 *
 * How damaged pages are stepped over: rows are read in rowid order; when reading fails after
 * rowid r, we look for the smallest rowid p > r from which a seek (`rowid > p`) works again
 * (doubling steps, then bisection) and go on from there. Rows in between are lost.
 *
 * After copying, the fresh database is made consistent: leases are cleared, alerts whose
 * outbox row was lost are re-enqueued from their event, events whose row was lost but whose
 * alert survived are rebuilt from the alert payload, and the seq counter is set past every
 * seq that may have been used.
 */
import Database from 'better-sqlite3';
import { errnoCode } from '../errors.js';
import type { EarshotEvent } from '../event.js';
import type { Logger } from '../log.js';
import { versionPayload } from './event-payload.js';
import { SEQ_GAP_AFTER_LOSS, StateKey } from './state-keys.js';
import { REV_REPAIR_SQL, TABLES_IN_DEPENDENCY_ORDER, type TableName } from './sqlite-schema.js';
import { eventToRow, rowToEvent, type EventRow } from './sqlite-rows.js';
import { priorityOf } from './types.js';

type Row = Record<string, unknown>;

export interface SalvageResult {
  salvaged: Record<string, number>;
  skipped: Record<string, number>;
}

const ROWID = '__salvage_rowid';
const MAX_ROWID = 2 ** 53 - 1;

/**
 * Opens the damaged file for reading; a file SQLite cannot even open yields nothing to salvage.
 * Read-only first, so the file kept aside stays as it was found; read-write only when read-only
 * is impossible (a WAL without its -shm), since replaying the WAL is worth it.
 */
function openSource(file: string, logger: Logger): Database.Database | undefined {
  for (const readonly of [true, false]) {
    let db: Database.Database | undefined;
    try {
      db = new Database(file, { readonly, fileMustExist: true });
      db.pragma('cell_size_check = ON');
      db.prepare('SELECT count(*) FROM sqlite_master').get();
      return db;
    } catch (err) {
      try {
        db?.close();
      } catch {
        // nothing to keep
      }
      logger.warn({ err, file, readonly }, 'salvage: cannot open the damaged database');
      if (errnoCode(err) === 'SQLITE_NOTADB') return undefined;
    }
  }
  return undefined;
}

function columnsOf(db: Database.Database, table: string): string[] {
  return (db.prepare(`PRAGMA table_info("${table}")`).all() as { name: string }[]).map((c) => c.name);
}

/** Reads every readable row of `table` in rowid order; returns how many rows were estimated lost in unreadable stretches. */
function readRows(src: Database.Database, table: string, columns: readonly string[], visit: (row: Row) => void): number {
  const list = columns.map((c) => `"${c}"`).join(', ');
  const select = src.prepare(`SELECT rowid AS ${ROWID}, ${list} FROM "${table}" WHERE rowid > ? ORDER BY rowid`);
  const probe = src.prepare(`SELECT rowid FROM "${table}" WHERE rowid > ? ORDER BY rowid LIMIT 1`);
  let maxRowid: number | undefined;
  try {
    const m = (src.prepare(`SELECT max(rowid) AS m FROM "${table}"`).get() as { m: number | null }).m;
    maxRowid = typeof m === 'number' ? m : undefined;
  } catch {
    maxRowid = undefined;
  }
  const canSeek = (p: number): boolean => {
    try {
      probe.get(p);
      return true;
    } catch {
      return false;
    }
  };
  /** The smallest seek point after `from` that reads again, or undefined if none does. */
  const resumePoint = (from: number): number | undefined => {
    const limit = maxRowid ?? MAX_ROWID;
    let bad = from;
    let good: number | undefined;
    for (let step = 1; ; step *= 2) {
      const p = Math.min(from + step, limit);
      if (canSeek(p)) {
        good = p;
        break;
      }
      bad = p;
      if (p >= limit) return undefined;
    }
    while (good - bad > 1) {
      const mid = Math.floor((good + bad) / 2);
      if (canSeek(mid)) good = mid;
      else bad = mid;
    }
    return good;
  };

  let cursor = -MAX_ROWID;
  let lost = 0;
  for (;;) {
    try {
      for (const row of select.iterate(cursor) as Iterable<Row>) {
        const r = row[ROWID];
        // A damaged cell may carry a nonsense rowid; never let it move the cursor past the table's end.
        if (typeof r === 'number' && r > cursor && (maxRowid === undefined || r <= maxRowid)) cursor = r;
        delete row[ROWID];
        visit(row);
      }
      return lost;
    } catch {
      const from = cursor === -MAX_ROWID ? 0 : cursor;
      const next = resumePoint(from);
      if (next === undefined) return lost + Math.max(1, (maxRowid ?? from + 1) - from);
      lost += Math.max(1, next - from);
      cursor = next;
    }
  }
}

/** Whether a row is worth keeping: its JSON columns parse and an event row maps to the contract. */
function validRow(table: TableName, row: Row): boolean {
  try {
    switch (table) {
      case 'events':
        rowToEvent(row as unknown as EventRow);
        return typeof row.id === 'string' && row.id !== '';
      case 'health':
        JSON.parse(row.data as string);
        return true;
      case 'outbox':
        JSON.parse(row.payload as string);
        return true;
      case 'clips':
        return typeof row.path === 'string' && row.path !== '';
      case 'state':
        return typeof row.key === 'string' && typeof row.value === 'string';
    }
  } catch {
    return false;
  }
}

/** Rebuilds the event row of an alert whose event row was lost, from the payload (the contract event). */
function eventRowFromAlert(row: Row): EventRow | undefined {
  try {
    const event = JSON.parse(row.payload as string) as EarshotEvent;
    if (event.id !== row.event_id || !Number.isInteger(event.seq)) return undefined;
    const created = typeof row.created_ms === 'number' ? row.created_ms : 0;
    const { clip: _clip, ...withoutClip } = event;
    // An open version rebuilds an open event: the agent's start closes it and sends its final version.
    const state = event.state === 'open' ? 'open' : 'closed';
    return eventToRow(withoutClip as EarshotEvent, { state, alert: 'queued', alertTopic: row.topic as string, createdMs: created, updatedMs: created, deliveredMs: null });
  } catch {
    return undefined;
  }
}

/**
 * Copies readable rows of `srcFile` into `dest` (a freshly migrated database). Never throws for
 * damage: what cannot be read is counted in `skipped`.
 */
export function salvageDatabase(srcFile: string, dest: Database.Database, nowMs: number, logger: Logger): SalvageResult {
  const salvaged: Record<string, number> = {};
  const skipped: Record<string, number> = {};
  for (const t of TABLES_IN_DEPENDENCY_ORDER) {
    salvaged[t] = 0;
    skipped[t] = 0;
  }
  const src = openSource(srcFile, logger);
  if (src) {
    try {
      let srcTables: Set<string>;
      try {
        srcTables = new Set((src.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((r) => r.name));
      } catch (err) {
        logger.error({ err }, 'salvage: the schema of the damaged database cannot be read; nothing to copy');
        srcTables = new Set();
      }
      const inserts = new Map<string, Database.Statement>();
      const insert = (table: string, row: Row): boolean => {
        const cols = Object.keys(row);
        const key = `${table}:${cols.join(',')}`;
        let stmt = inserts.get(key);
        if (!stmt) {
          stmt = dest.prepare(`INSERT OR IGNORE INTO "${table}" (${cols.map((c) => `"${c}"`).join(', ')}) VALUES (${cols.map((c) => `@${c}`).join(', ')})`);
          inserts.set(key, stmt);
        }
        return stmt.run(row).changes > 0;
      };
      const eventExists = dest.prepare('SELECT 1 FROM events WHERE id = ?').pluck();
      for (const table of TABLES_IN_DEPENDENCY_ORDER) {
        if (!srcTables.has(table)) continue;
        let columns: string[];
        try {
          const destCols = new Set(columnsOf(dest, table));
          columns = columnsOf(src, table).filter((c) => destCols.has(c));
        } catch (err) {
          logger.error({ err, table }, 'salvage: cannot read the columns of a table; skipping it');
          continue;
        }
        dest.transaction(() => {
          const lost = readRows(src, table, columns, (row) => {
            try {
              if (!validRow(table, row)) {
                skipped[table]++;
                return;
              }
              if (table === 'outbox') {
                // A lease held by the dead process means nothing now.
                row.state = 'ready';
                row.lease_until_ms = null;
                if (typeof row.event_id === 'string' && !eventExists.get(row.event_id)) {
                  const rebuilt = eventRowFromAlert(row);
                  if (rebuilt && insert('events', rebuilt as unknown as Row)) salvaged.events++;
                }
              }
              if (insert(table, row)) salvaged[table]++;
              else skipped[table]++;
            } catch {
              skipped[table]++;
            }
          });
          skipped[table] += lost;
        })();
      }
    } finally {
      src.close();
    }
  }
  repair(dest, nowMs);
  return { salvaged, skipped };
}

/** Makes the salvaged rows consistent with each other (see the module comment). */
function repair(dest: Database.Database, nowMs: number): void {
  dest.transaction(() => {
    // Rows copied from a file written before event versions: rev 1 (idempotent for newer ones).
    dest.exec(REV_REPAIR_SQL);
    // Alerts whose outbox row was lost: enqueue them again from the event (consumers dedupe on id).
    const orphans = dest
      .prepare(
        `SELECT e.*, c.path AS clip_path, c.format AS clip_format, c.duration_ms AS clip_duration_ms, c.sha256 AS clip_sha256
         FROM events e LEFT JOIN clips c ON c.event_id = e.id
         WHERE e.alert = 'queued' AND e.alert_topic IS NOT NULL AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.event_id = e.id)`,
      )
      .all() as (EventRow & { clip_path: string | null; clip_format: 'flac' | 'wav'; clip_duration_ms: number; clip_sha256: string })[];
    const enqueue = dest.prepare(
      `INSERT INTO outbox (kind, event_id, topic, payload, priority, seq, rev, next_attempt_ms, state, created_ms)
       VALUES ('event', ?, ?, ?, ?, ?, ?, ?, 'ready', ?)`,
    );
    const setRev = dest.prepare('UPDATE events SET rev = ? WHERE id = ?');
    for (const row of orphans) {
      const clip = row.clip_path === null ? undefined : { path: row.clip_path, format: row.clip_format, durationMs: row.clip_duration_ms, sha256: row.clip_sha256, bytes: 0, uploaded: false };
      const event = rowToEvent(row, clip);
      // The lost message may have been sent: a higher rev makes sure consumers take this one.
      const rev = (row.rev ?? 0) + 1;
      enqueue.run(row.id, row.alert_topic, versionPayload(event, row.state === 'open' ? 'open' : 'closed', rev), priorityOf(event), row.seq, rev, nowMs, nowMs);
      setRev.run(rev, row.id);
    }
    // Events marked queued with no topic to send them to cannot be re-enqueued: they are pending again.
    dest.prepare("UPDATE events SET alert = 'pending' WHERE alert = 'queued' AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.event_id = events.id)").run();

    // The seq counter must stay above every seq this device may already have published.
    const maxSeq = (dest.prepare('SELECT coalesce(max(seq), 0) FROM events').pluck().get() as number) ?? 0;
    const stored = dest.prepare('SELECT value FROM state WHERE key = ?').pluck().get(StateKey.seq) as string | undefined;
    const storedSeq = stored === undefined ? NaN : Number(stored);
    // The counter row is written in the same transaction as every event, so when it survived it is
    // exact; when it did not, leave a gap rather than risk repeating a seq of a lost event.
    const next = Number.isInteger(storedSeq) ? Math.max(storedSeq, maxSeq) : maxSeq + SEQ_GAP_AFTER_LOSS;
    dest.prepare('INSERT OR REPLACE INTO state (key, value) VALUES (?, ?)').run(StateKey.seq, String(next));
  })();
}
