/** Store limits and paths from the `storage` configuration section. */
import path from 'node:path';
import type { Config } from '../../config/schema.js';
import type { StoreLimits } from './types.js';

const MiB = 1024 * 1024;
const DAY_MS = 24 * 3600 * 1000;

export function storeLimitsFromConfig(storage: Config['storage']): StoreLimits {
  return {
    maxDatabaseBytes: Math.floor(storage.maxDatabaseMB * MiB),
    maxClipBytes: Math.floor(storage.maxClipMB * MiB),
    minFreeBytes: Math.floor(storage.minFreeMB * MiB),
    minFreePercent: storage.minFreePercent,
    retentionMs: storage.retentionDays * DAY_MS,
  };
}

/** `<dataDir>/events.db`: the database the agent writes and the CLI reads. */
export function databasePath(storage: Pick<Config['storage'], 'dataDir'>): string {
  return path.join(storage.dataDir, 'events.db');
}

/** `<dataDir>/clips`: where clip files are written. */
export function clipsDir(storage: Pick<Config['storage'], 'dataDir'>): string {
  return path.join(storage.dataDir, 'clips');
}

/** Limits that never prune: for tests and tools that only read or write a few rows. */
export const UNLIMITED: StoreLimits = {
  maxDatabaseBytes: Number.MAX_SAFE_INTEGER,
  maxClipBytes: Number.MAX_SAFE_INTEGER,
  minFreeBytes: 0,
  minFreePercent: 0,
  retentionMs: Number.MAX_SAFE_INTEGER,
};
