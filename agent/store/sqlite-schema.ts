/**
 * The SQLite schema as numbered migrations, applied in order inside one transaction each,
 * with `PRAGMA user_version` recording the last one applied (it is transactional, so a power
 * cut leaves either the old schema or the new; the runner is agent/store/sqlite-migrate.ts).
 * Migrations are only ever appended; a released one is never edited.
 */
import type Database from 'better-sqlite3';
import { applyMigrations, userVersion, type Migration } from './sqlite-migrate.js';

/**
 * Gives messages and events written before versions existed (or salvaged from such a file) their
 * first version: rev 1, with `state` and `rev` added to the payload. Idempotent.
 */
export const REV_REPAIR_SQL = `
      UPDATE outbox SET rev = 1,
        payload = json_set(payload, '$.state', coalesce((SELECT e.state FROM events e WHERE e.id = outbox.event_id), 'closed'), '$.rev', 1)
        WHERE kind = 'event' AND rev IS NULL;
      UPDATE events SET rev = max(1, coalesce((SELECT max(o.rev) FROM outbox o WHERE o.event_id = events.id), 1))
        WHERE rev = 0 AND alert != 'pending';
`;

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'events, outbox, clips, health, state',
    sql: `
      -- One row per detection. Contract fields are columns (nested ones as JSON text); fields added
      -- to the contract after this schema live in "extra" until a migration gives them a column.
      CREATE TABLE events (
        id            TEXT PRIMARY KEY NOT NULL,
        seq           INTEGER NOT NULL UNIQUE CHECK (seq > 0),
        device        TEXT NOT NULL,
        label         TEXT NOT NULL,
        category      TEXT NOT NULL CHECK (category IN ('threat', 'human', 'wildlife', 'environment')),
        confidence    REAL NOT NULL,
        start         TEXT NOT NULL,
        start_ms      INTEGER NOT NULL,
        "end"         TEXT NOT NULL,
        end_ms        INTEGER NOT NULL,
        model_labels  TEXT NOT NULL,
        model         TEXT NOT NULL,
        location      TEXT,
        clock_synced  INTEGER NOT NULL CHECK (clock_synced IN (0, 1)),
        file          TEXT,
        start_sec     REAL,
        end_sec       REAL,
        extra         TEXT,
        state         TEXT NOT NULL CHECK (state IN ('open', 'closed')),
        alert         TEXT NOT NULL DEFAULT 'pending' CHECK (alert IN ('pending', 'queued', 'delivered', 'dropped')),
        -- Kept so a lost outbox row can be rebuilt after corruption recovery.
        alert_topic   TEXT,
        created_ms    INTEGER NOT NULL,
        updated_ms    INTEGER NOT NULL,
        delivered_ms  INTEGER
      );
      CREATE INDEX events_start ON events (start_ms);
      CREATE INDEX events_label ON events (label, start_ms);
      CREATE INDEX events_end ON events (end_ms);

      CREATE TABLE health (
        id      INTEGER PRIMARY KEY AUTOINCREMENT,
        at      TEXT NOT NULL,
        at_ms   INTEGER NOT NULL,
        data    TEXT NOT NULL
      );
      CREATE INDEX health_at ON health (at_ms);

      -- The only durable queue: a row leaves only when the broker acknowledged it (or, counted,
      -- when the disk is about to fill). One alert per event (outbox_event).
      CREATE TABLE outbox (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,
        kind            TEXT NOT NULL CHECK (kind IN ('event', 'health')),
        event_id        TEXT REFERENCES events (id) ON DELETE CASCADE,
        health_id       INTEGER REFERENCES health (id) ON DELETE CASCADE,
        topic           TEXT NOT NULL,
        payload         TEXT NOT NULL,
        priority        INTEGER NOT NULL CHECK (priority IN (0, 1, 2)),
        seq             INTEGER,
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_ms INTEGER NOT NULL,
        lease_until_ms  INTEGER,
        state           TEXT NOT NULL CHECK (state IN ('ready', 'leased')),
        created_ms      INTEGER NOT NULL,
        CHECK ((kind = 'event') = (event_id IS NOT NULL))
      );
      CREATE UNIQUE INDEX outbox_event ON outbox (event_id) WHERE event_id IS NOT NULL;
      CREATE INDEX outbox_order ON outbox (priority, seq, id);

      CREATE TABLE clips (
        event_id     TEXT PRIMARY KEY NOT NULL REFERENCES events (id) ON DELETE CASCADE,
        path         TEXT NOT NULL,
        format       TEXT NOT NULL CHECK (format IN ('flac', 'wav')),
        duration_ms  INTEGER NOT NULL,
        bytes        INTEGER NOT NULL CHECK (bytes >= 0),
        sha256       TEXT NOT NULL,
        uploaded     INTEGER NOT NULL DEFAULT 0 CHECK (uploaded IN (0, 1)),
        created_ms   INTEGER NOT NULL
      );
      CREATE INDEX clips_age ON clips (uploaded DESC, created_ms);

      -- Small durable facts: the device's seq counter, last sync, loss counters, last recovery.
      CREATE TABLE state (
        key    TEXT PRIMARY KEY NOT NULL,
        value  TEXT NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: 'event versions (rev): several outbox messages per event',
    sql: `
      -- The rev of the latest version of the event queued for the broker (0: none yet).
      ALTER TABLE events ADD COLUMN rev INTEGER NOT NULL DEFAULT 0;
      -- The version a message carries. An event may now have two messages: one leased (maybe in
      -- flight) and the next version waiting; at most one per rev.
      ALTER TABLE outbox ADD COLUMN rev INTEGER;
      DROP INDEX outbox_event;
      CREATE UNIQUE INDEX outbox_event_rev ON outbox (event_id, rev) WHERE event_id IS NOT NULL;
      ${REV_REPAIR_SQL}
    `,
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** Tables in the order rows can be copied into a fresh database (parents before children). */
export const TABLES_IN_DEPENDENCY_ORDER = ['events', 'health', 'outbox', 'clips', 'state'] as const;
export type TableName = (typeof TABLES_IN_DEPENDENCY_ORDER)[number];

/** The schema version the file is at (0 for a new file). */
export function schemaVersion(db: Database.Database): number {
  return userVersion(db);
}

/**
 * Applies the migrations the database lacks (see applyMigrations). Returns the versions applied.
 * A database newer than this code (a downgrade) is left as it is: migrations only add, so the
 * tables this code uses are still there.
 */
export function migrate(db: Database.Database): number[] {
  return applyMigrations(db, MIGRATIONS);
}
