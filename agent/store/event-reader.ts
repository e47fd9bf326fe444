/**
 * Read-only access to the agent's database for the CLI. Opens the file read-only so it can be
 * used while the agent is writing (WAL lets readers and the writer work at once) and never
 * migrates, checks or repairs it: that is the agent's job at start-up.
 */
import fs from 'node:fs';
import type Database from 'better-sqlite3';
import { DataError, InputMissingError, errnoCode } from '../errors.js';
import { isCorruptionError, openReadOnlyDatabase } from './sqlite-open.js';
import { EventQueries } from './sqlite-queries.js';
import { schemaVersion } from './sqlite-schema.js';
import { SyncQueries } from './sqlite-sync-queries.js';

const COMPONENT = 'store.reader';

export interface EventReader {
  queries: EventQueries;
  /** Outbox by priority and the key/value state (`earshot sync status`). */
  sync: SyncQueries;
  close(): void;
}

function nothingYet(file: string): InputMissingError {
  return new InputMissingError(`no events yet: the agent has not stored anything yet at ${file} (is storage.dataDir right, and has \`earshot run\` started?)`, {
    component: COMPONENT,
    code: 'store.no-database',
  });
}

export function openEventReader(file: string): EventReader {
  if (!fs.existsSync(file)) throw nothingYet(file);
  let db: Database.Database | undefined;
  try {
    db = openReadOnlyDatabase(file);
    db.pragma('busy_timeout = 5000');
    if (schemaVersion(db) === 0) throw nothingYet(file);
    return { queries: new EventQueries(db), sync: new SyncQueries(db), close: () => db?.close() };
  } catch (err) {
    db?.close();
    if (err instanceof InputMissingError) throw err;
    if (isCorruptionError(err)) {
      throw new DataError(`${file}: the event database is damaged (${(err as Error).message}); the agent moves it aside and salvages it at its next start`, {
        component: COMPONENT,
        code: 'store.damaged',
        cause: err,
      });
    }
    const code = errnoCode(err);
    if (code === 'SQLITE_CANTOPEN' || code === 'EACCES') {
      throw new InputMissingError(`${file}: cannot open the event database (permission denied? run as the earshot user or with sudo)`, { component: COMPONENT, code: 'store.unreadable', cause: err });
    }
    throw err;
  }
}
