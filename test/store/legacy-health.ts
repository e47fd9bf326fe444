/**
 * A health sample enqueued in the outbox the way versions before the one health path did (kind
 * 'health', priority 2, tied to its health row). Databases in the field may still hold such rows;
 * the store must keep draining them (last) and pruning them under disk pressure.
 */
import Database from 'better-sqlite3';
import { Priority } from '../../agent/store/types.js';
import { HEALTH_TOPIC } from './helpers.js';

/** Writes the row through a second connection, beside the store's own (WAL allows it). */
export function enqueueLegacyHealth(file: string, atMs: number, data: Record<string, unknown>): void {
  const db = new Database(file);
  try {
    db.pragma('busy_timeout = 5000');
    db.transaction(() => {
      const json = JSON.stringify(data);
      const healthId = db.prepare('INSERT INTO health (at, at_ms, data) VALUES (?, ?, ?)').run(new Date(atMs).toISOString(), atMs, json).lastInsertRowid;
      db.prepare(
        `INSERT INTO outbox (kind, event_id, health_id, topic, payload, priority, seq, attempts, next_attempt_ms, state, created_ms)
         VALUES ('health', NULL, ?, ?, ?, ?, NULL, 0, ?, 'ready', ?)`,
      ).run(healthId, HEALTH_TOPIC.topic, json, Priority.health, atMs, atMs);
    })();
  } finally {
    db.close();
  }
}
