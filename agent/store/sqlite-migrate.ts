/**
 * The migration runner shared by every SQLite file Earshot writes (the agent's store,
 * agent/store/sqlite-schema.ts, and the console's, agent/console/console-schema.ts). Each schema
 * keeps its own list of numbered migrations; this applies them in order, one transaction each,
 * with `PRAGMA user_version` recording the last one applied (it is transactional, so a power cut
 * leaves either the old schema or the new).
 */
import type Database from 'better-sqlite3';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** The schema version the file is at (0 for a new file). */
export function userVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Applies the migrations the database lacks, in list order. Returns the versions applied. A
 * database newer than the list (a downgrade) is left as it is: migrations only add, so the
 * tables the older code uses are still there.
 */
export function applyMigrations(db: Database.Database, migrations: readonly Migration[]): number[] {
  const applied: number[] = [];
  const current = userVersion(db);
  for (const m of migrations) {
    if (m.version <= current) continue;
    db.transaction(() => {
      db.exec(m.sql);
      // user_version cannot be bound as a parameter; the value is a trusted integer.
      db.exec(`PRAGMA user_version = ${m.version}`);
    }).immediate();
    applied.push(m.version);
  }
  return applied;
}
