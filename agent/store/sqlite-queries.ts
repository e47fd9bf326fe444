/**
 * Read-only event queries on the store's database, shared by the SqliteStore and the
 * `earshot events` CLI (which opens the database read-only while the agent keeps writing).
 */
import type Database from 'better-sqlite3';
import { EVENT_WITH_CLIP_COLUMNS, EVENT_WITH_CLIP_FROM, rowToStoredEvent, type ClipColumns, type EventRow } from './sqlite-rows.js';
import type { EventQuery, StoredEvent } from './types.js';

type JoinedRow = EventRow & ClipColumns;

export class EventQueries {
  private readonly byShape = new Map<string, Database.Statement>();
  private readonly byId: Database.Statement;
  private readonly bySeq: Database.Statement;

  constructor(private readonly db: Database.Database) {
    this.byId = db.prepare(`SELECT ${EVENT_WITH_CLIP_COLUMNS} FROM ${EVENT_WITH_CLIP_FROM} WHERE e.id = ?`);
    this.bySeq = db.prepare(`SELECT ${EVENT_WITH_CLIP_COLUMNS} FROM ${EVENT_WITH_CLIP_FROM} WHERE e.seq = ?`);
  }

  get(id: string): StoredEvent | undefined {
    const row = this.byId.get(id) as JoinedRow | undefined;
    return row && rowToStoredEvent(row);
  }

  getBySeq(seq: number): StoredEvent | undefined {
    const row = this.bySeq.get(seq) as JoinedRow | undefined;
    return row && rowToStoredEvent(row);
  }

  /** Ids that start with `prefix` (at most `limit`), for `events show <id prefix>`. */
  idsWithPrefix(prefix: string, limit: number): string[] {
    // A range scan on the primary key: ids are lower-case hex and '-', so prefix + '~' bounds them.
    return this.statement('prefix', "SELECT id FROM events WHERE id >= ? AND id < ? ORDER BY id LIMIT ?")
      .pluck()
      .all(prefix, `${prefix}~`, limit) as string[];
  }

  list(query: EventQuery = {}): StoredEvent[] {
    const where: string[] = [];
    const params: Record<string, unknown> = {};
    if (query.sinceMs !== undefined) {
      where.push('e.start_ms >= @since');
      params.since = Math.floor(query.sinceMs);
    }
    if (query.label !== undefined) {
      where.push('e.label = @label');
      params.label = query.label;
    }
    if (query.undelivered) where.push("e.alert != 'delivered'");
    if (query.state !== undefined) {
      where.push('e.state = @state');
      params.state = query.state;
    }
    const order = query.order === 'desc' ? 'DESC' : 'ASC';
    params.limit = query.limit === undefined ? -1 : Math.max(0, Math.floor(query.limit));
    const sql = `SELECT ${EVENT_WITH_CLIP_COLUMNS} FROM ${EVENT_WITH_CLIP_FROM}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY e.seq ${order} LIMIT @limit`;
    return (this.statement(sql, sql).all(params) as JoinedRow[]).map(rowToStoredEvent);
  }

  /** Streams events in seq order without holding them all in memory (export of a large database). */
  *iterate(query: Omit<EventQuery, 'order' | 'limit'> = {}): Generator<StoredEvent> {
    const since = query.sinceMs === undefined ? Number.MIN_SAFE_INTEGER : Math.floor(query.sinceMs);
    const stmt = this.statement('iterate', `SELECT ${EVENT_WITH_CLIP_COLUMNS} FROM ${EVENT_WITH_CLIP_FROM} WHERE e.seq > ? AND e.start_ms >= ? ORDER BY e.seq LIMIT 500`);
    let after = Number.MIN_SAFE_INTEGER;
    // Pages of 500 so no statement stays open across a yield (the caller may write in between).
    for (;;) {
      const rows = stmt.all(after, since) as JoinedRow[];
      for (const row of rows) {
        after = row.seq;
        const stored = rowToStoredEvent(row);
        if (query.label !== undefined && stored.event.label !== query.label) continue;
        if (query.undelivered && stored.alert === 'delivered') continue;
        if (query.state !== undefined && stored.state !== query.state) continue;
        yield stored;
      }
      if (rows.length < 500) return;
    }
  }

  private statement(key: string, sql: string): Database.Statement {
    let stmt = this.byShape.get(key);
    if (!stmt) {
      stmt = this.db.prepare(sql);
      this.byShape.set(key, stmt);
    }
    return stmt;
  }
}
