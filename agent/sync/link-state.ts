/**
 * The agent's view of its broker link, written into the store's key/value state (key
 * `sync.link`) so `earshot sync status`, a separate process, can report it. Written on every
 * connect, disconnect and link error, and refreshed with each health tick (`updatedAt`), so a
 * reader can tell a live agent from a stale record (see `pid`).
 */
import type { DrainStats } from './outbox-drain.js';

export const LINK_STATE_KEY = 'sync.link';

export interface LinkState {
  connected: boolean;
  /** Broker URL without credentials. */
  url: string;
  /** ISO time `connected` last changed. */
  since: string;
  lastConnectedAt?: string;
  lastError?: string;
  lastErrorAt?: string;
  /** Consecutive failed attempts since the last connection. */
  failedAttempts: number;
  /** ISO time this record was written. */
  updatedAt: string;
  /** The agent process that wrote it. */
  pid: number;
  drain?: DrainStats;
}

export function parseLinkState(text: string | undefined): LinkState | undefined {
  if (text === undefined) return undefined;
  try {
    const v = JSON.parse(text) as unknown;
    if (typeof v === 'object' && v !== null && typeof (v as LinkState).connected === 'boolean') return v as LinkState;
  } catch {
    // A damaged record reads as none.
  }
  return undefined;
}
