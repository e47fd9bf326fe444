/**
 * Read-only queries about delivery: the outbox by priority and the small key/value state. Used
 * by `earshot sync status`, which opens the database read-only while the agent keeps writing.
 */
import type Database from 'better-sqlite3';
import { StateKey } from './state-keys.js';
import { Priority } from './types.js';

export interface OutboxPriorityStats {
  /** Messages waiting (ready, leased or waiting for a retry). */
  depth: number;
  /** ISO creation time of the oldest waiting message of this priority. */
  oldest?: string;
  /** Messages that failed at least once. */
  retried: number;
  /** Most failed attempts of any waiting message. */
  maxAttempts: number;
}

export interface OutboxSummary {
  depth: number;
  byPriority: Record<Priority, OutboxPriorityStats>;
  /** ISO creation time of the oldest undelivered message. */
  oldest?: string;
  /** ISO time of the last broker acknowledgement. */
  lastSyncAt?: string;
}

interface Row {
  priority: Priority;
  n: number;
  oldest: number;
  retried: number;
  max_attempts: number;
}

export class SyncQueries {
  private readonly stats: Database.Statement;
  private readonly stateValue: Database.Statement;
  private readonly lastHealth: Database.Statement;
  private readonly recentHealth: Database.Statement;

  constructor(db: Database.Database) {
    this.stats = db.prepare(
      'SELECT priority, count(*) AS n, min(created_ms) AS oldest, sum(attempts > 0) AS retried, max(attempts) AS max_attempts FROM outbox GROUP BY priority',
    );
    this.stateValue = db.prepare('SELECT value FROM state WHERE key = ?').pluck();
    this.lastHealth = db.prepare('SELECT data FROM health ORDER BY id DESC LIMIT 1').pluck();
    this.recentHealth = db.prepare('SELECT data FROM health WHERE at_ms >= ? ORDER BY id DESC LIMIT ?').pluck();
  }

  outboxSummary(): OutboxSummary {
    const empty = (): OutboxPriorityStats => ({ depth: 0, retried: 0, maxAttempts: 0 });
    const byPriority: Record<Priority, OutboxPriorityStats> = { [Priority.threatAlert]: empty(), [Priority.eventAlert]: empty(), [Priority.health]: empty() };
    let depth = 0;
    let oldest: number | undefined;
    for (const r of this.stats.all() as Row[]) {
      byPriority[r.priority] = { depth: r.n, oldest: new Date(r.oldest).toISOString(), retried: r.retried, maxAttempts: r.max_attempts };
      depth += r.n;
      oldest = oldest === undefined ? r.oldest : Math.min(oldest, r.oldest);
    }
    const summary: OutboxSummary = { depth, byPriority };
    if (oldest !== undefined) summary.oldest = new Date(oldest).toISOString();
    const lastSyncAt = this.state(StateKey.lastSyncAt);
    if (lastSyncAt !== undefined) summary.lastSyncAt = lastSyncAt;
    return summary;
  }

  /** The JSON of the latest stored health sample (`earshot status`). */
  latestHealth(): string | undefined {
    return this.lastHealth.get() as string | undefined;
  }

  /** The JSON of the health samples taken since `sinceMs`, the newest `limit` of them, oldest first (the console's history). */
  healthSince(sinceMs: number, limit: number): string[] {
    return (this.recentHealth.all(Math.floor(sinceMs), limit) as string[]).reverse();
  }

  /** A value of the key/value state (see state-keys.ts and the keys other components define). */
  state(key: string): string | undefined {
    return this.stateValue.get(key) as string | undefined;
  }
}
