/**
 * The Store: where every detection lives on the device until the broker has it, and the outbox,
 * the only durable queue between detection and MQTT (DESIGN.md).
 *
 * The interface is synchronous on purpose: better-sqlite3 is synchronous, each call is one short
 * transaction, and a caller never sees a half-applied change. Implementations: `SqliteStore`
 * (the device) and `MemoryStore` (test/helpers/memory-store.ts: for unit tests of other
 * components, not shipped); both pass test/store/store-contract.ts.
 *
 * Errors: asking about an event that does not exist, or changing a closed one, is a DataError
 * (the caller has a bug or lost a race with pruning). A write that fails because the disk or the
 * database quota is full is retried once after an emergency prune; if it still fails the loss is
 * counted (`storeHealth().losses`) and a TransientError with code `store.full` is thrown.
 *
 * Versions (`rev`): an event may be published more than once — a threat when it opens, every
 * published event again when it closes and when its clip is kept — each time with the same `id`,
 * its `state` and a higher `rev` (consumers keep the highest). The outbox holds at most one
 * waiting (not leased) message per event: a newer version replaces it in place, keeping its
 * place in the order. The replaced message keeps its `rev` when it was never handed to the
 * broker (attempts 0), otherwise the new version gets the next `rev`, since the old one may
 * have arrived. A version leased (maybe in flight) is never changed; the next one is queued
 * beside it. An acknowledged version removes the older ones still waiting.
 */
import type { ClipRef, EarshotEvent } from '../event.js';

/** Outbox priority: lower goes first. */
export const Priority = {
  /** Alerts of threat events (gunshot, chainsaw, ...): rangers act on these. */
  threatAlert: 0,
  /** Alerts of every other event. */
  eventAlert: 1,
  /**
   * Health samples: no longer enqueued (health is published retained, outside the outbox), kept so
   * a database written by an older version still drains its health rows, last.
   */
  health: 2,
} as const;
export type Priority = (typeof Priority)[keyof typeof Priority];

/**
 * An event as the tracker opens it: everything but `seq` (the store allocates it), `clip`, and
 * the version fields `state`/`rev` (the store adds them to each published version).
 */
export type NewEvent = Omit<EarshotEvent, 'seq' | 'clip' | 'state' | 'rev'>;

/** What an update or close may change. `id`, `seq`, `device`, `label`, `category`, `start` are fixed. */
export type EventPatch = Partial<Pick<EarshotEvent, 'confidence' | 'end' | 'modelLabels' | 'model' | 'location' | 'clockSynced' | 'endSec'>>;

/** Where an alert goes. The store does not know the MQTT configuration; the caller names the topic. */
export interface AlertTarget {
  /** `<prefix>/<device>/events`. */
  topic: string;
}

export type EventState = 'open' | 'closed';

/**
 * Where an event's alert is (its latest version, see `rev`):
 *  - pending: not enqueued yet (open event, or closed without an alert target);
 *  - queued: a version is in the outbox, waiting for the broker;
 *  - delivered: the broker acknowledged the latest version queued;
 *  - dropped: removed from the outbox undelivered because the disk was about to fill (counted).
 */
export type AlertState = 'pending' | 'queued' | 'delivered' | 'dropped';

/** An event with what the store knows about it besides the contract. */
export interface StoredEvent {
  event: EarshotEvent;
  state: EventState;
  alert: AlertState;
  /** ISO time the broker acknowledged the alert. */
  deliveredAt?: string;
  /** The kept clip, with its size; also in `event.clip`. */
  clip?: StoredClip;
  /** The `rev` of the latest version queued for the broker; 0 when none was. */
  rev: number;
}

/** A clip file kept for an event. */
export interface StoredClip extends ClipRef {
  bytes: number;
  /** Sent to the operator side (a later issue); uploaded clips are pruned first. */
  uploaded: boolean;
}

export interface EventQuery {
  /** Only events that started at or after this time (ms since the epoch). */
  sinceMs?: number;
  label?: string;
  /** Only events whose alert the broker has not acknowledged. */
  undelivered?: boolean;
  state?: EventState;
  /** Most events returned (newest first when `order` is 'desc'). */
  limit?: number;
  /** By seq; default 'asc'. */
  order?: 'asc' | 'desc';
}

/** One leased outbox message. `id` is what ack/nack take. */
export interface OutboxMessage {
  id: number;
  /** 'health' only for rows an older version enqueued: published as they are, then gone. */
  kind: 'event' | 'health';
  /** The event this alert is about (kind 'event'). */
  eventId?: string;
  topic: string;
  /** JSON text, published as is. */
  payload: string;
  priority: Priority;
  /** The event's seq (kind 'event'). */
  seq?: number;
  /** The version of the event this message carries (kind 'event'; also in the payload). */
  rev?: number;
  /** Failed attempts before this lease. */
  attempts: number;
  createdAt: string;
}

/** A health sample: whatever the health component measured, as a JSON-able object. */
export interface HealthSample {
  /** ISO time of the sample. */
  at: string;
  data: Record<string, unknown>;
}

/** Kinds of counted loss, persisted so a restart does not forget them. */
export type LossKind =
  /** Undelivered threat alerts removed because the disk was about to fill. */
  | 'threatAlerts'
  /** Undelivered alerts of other events removed because the disk was about to fill. */
  | 'eventAlerts'
  /** Undelivered health samples removed because the disk was about to fill. */
  | 'healthSamples'
  /** Writes that failed even after an emergency prune (the event, alert or sample is lost). */
  | 'failedWrites'
  /** Clips that could not be written. */
  | 'clipWrites';
export const LOSS_KINDS: readonly LossKind[] = ['threatAlerts', 'eventAlerts', 'healthSamples', 'failedWrites', 'clipWrites'];

/** What the last corruption recovery did. Reported in health until the next one. */
export interface RecoveryInfo {
  /** ISO time of the recovery. */
  at: string;
  /** The quick_check message or the open error. */
  reason: string;
  /** Where the damaged file was moved (with its -wal and -shm beside it). */
  movedTo: string;
  /** Rows copied into the fresh database, by table. */
  salvaged: Record<string, number>;
  /** Rows that could not be read or were invalid, by table (a lower bound when whole pages were lost). */
  skipped: Record<string, number>;
}

export type PruneReason = 'periodic' | 'no-space' | 'manual';

/** What one prune removed and why. */
export interface PruneReport {
  reason: PruneReason;
  clipsDeleted: number;
  clipBytesFreed: number;
  eventsDeleted: number;
  healthDeleted: number;
  /** Undelivered outbox messages removed under disk pressure, by loss kind. */
  undeliveredDropped: Partial<Record<LossKind, number>>;
  /** Pressure left after pruning (the disk is still too full even with nothing left to remove). */
  stillLow: boolean;
  durationMs: number;
}

export interface StoreHealth {
  outbox: {
    /** Messages waiting (ready or leased). */
    depth: number;
    byPriority: Record<Priority, number>;
    leased: number;
    /** ISO creation time of the oldest waiting message. */
    oldest?: string;
  };
  events: { total: number; open: number };
  clips: { count: number; bytes: number };
  /** Bytes the database uses (pages in use, not the file size). */
  databaseBytes: number;
  disk?: { freeBytes: number; totalBytes: number };
  losses: Record<LossKind, number>;
  /** ISO time of the last broker acknowledgement. */
  lastSyncAt?: string;
  lastPrune?: PruneReport & { at: string };
  /** Set once a damaged database has been moved aside and salvaged. */
  corruptionRecovered?: RecoveryInfo;
}

export interface Store {
  /** Opens (and for SQLite checks, migrates or recovers) the store. Call once before anything else. */
  open(): void;
  close(): void;

  /** Records a new open event: allocates its `seq`; enqueues nothing. One transaction. */
  openEvent(event: NewEvent): EarshotEvent;
  /**
   * Changes an open event. A version waiting in the outbox (not leased) gets the updated event;
   * no new version is queued for an update.
   */
  updateEvent(id: string, patch: EventPatch): EarshotEvent;
  /**
   * Closes an event and queues its final version (`state` closed) in the same transaction, when
   * `alert` is given or a version was queued before (then on that version's topic): it replaces a
   * version still waiting, else it is queued as the next `rev`.
   */
  closeEvent(id: string, patch: EventPatch, opts?: { alert?: AlertTarget }): EarshotEvent;
  /** Records a complete (closed) event in one go and enqueues its alert: open + close in one transaction. */
  putEvent(event: NewEvent, opts?: { alert?: AlertTarget }): EarshotEvent;
  /** Enqueues an event's alert if it has none yet; true if this call enqueued it. */
  enqueueAlert(id: string, target: AlertTarget): boolean;
  /**
   * Records the clip kept for an event (the file is already written). A version waiting in the
   * outbox gets the clip; a closed event already queued or sent gets a new version with it (a
   * ranger learns that a clip exists). True when a version was queued or changed.
   */
  attachClip(id: string, clip: Omit<StoredClip, 'uploaded'>): boolean;

  getEvent(id: string): StoredEvent | undefined;
  getEventBySeq(seq: number): StoredEvent | undefined;
  listEvents(query?: EventQuery): StoredEvent[];

  /** Stores a health sample (history for `earshot status` and diagnosis; never enqueued). */
  recordHealth(sample: HealthSample): void;

  /**
   * Up to `n` messages to publish, by priority then seq (oldest first), skipping those waiting for
   * a retry and those leased less than the lease timeout ago. Leased messages stay in the outbox.
   */
  lease(n: number): OutboxMessage[];
  /** The broker has them: remove them from the outbox (and mark their events delivered). Unknown ids are ignored. */
  ack(ids: readonly number[]): void;
  /** Publishing failed: count an attempt and make them wait for a retry with backoff. */
  nack(ids: readonly number[]): void;
  /**
   * Publishing was interrupted rather than refused (the link dropped, or no acknowledgement came
   * in time): make them leasable again at once, in their place in the order, so a reconnect
   * resends them first. Counts an attempt unless `attempted` is false (leased but never sent).
   * Unknown ids are ignored.
   */
  release(ids: readonly number[], opts?: { attempted?: boolean }): void;

  /**
   * After a crash, at start, before anything else writes: releases every outbox lease (counting an
   * attempt: the message may have reached the broker) and closes every open event as it was last
   * stored (its `end` is the last audio it was updated with), queuing its final version on its
   * topic or `target`. Only for the one process that owns the data folder (the agent holds its
   * lock): every lease and open event then belongs to a process that is gone.
   */
  recoverAfterCrash(target: AlertTarget): CrashRecovery;

  /** Applies retention and quotas now (for SQLite, see the order in agent/store/sqlite-prune.ts). */
  prune(reason?: PruneReason): PruneReport;
  storeHealth(): StoreHealth;
  /** Counts a loss that happened outside the store (a clip that could not be written). */
  countLoss(kind: LossKind, n?: number): void;

  /** Small durable key/value state for other components (last sync, ...). */
  getState(key: string): string | undefined;
  setState(key: string, value: string): void;
}

/** What `recoverAfterCrash` found. */
export interface CrashRecovery {
  /** Ids of the events closed (left open by a process that died). */
  closedEvents: string[];
  /** Outbox messages whose lease was released. */
  releasedLeases: number;
}

/** Retention and quota limits, in bytes and milliseconds (see `storeLimitsFromConfig`). */
export interface StoreLimits {
  maxDatabaseBytes: number;
  maxClipBytes: number;
  /** Keep at least this many bytes free on the data disk. */
  minFreeBytes: number;
  /** Keep at least this share (0–100) of the data disk free. */
  minFreePercent: number;
  /** Events with nothing waiting in the outbox, and health samples, older than this are pruned. */
  retentionMs: number;
}

/** Outbox retry policy after a nack. */
export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
}

export const DEFAULT_LEASE_MS = 60_000;
export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 2_000, maxMs: 10 * 60_000 };

/** Delay before the next attempt after `attempts` failures: doubling from baseMs, capped. */
export function backoffDelayMs(attempts: number, policy: BackoffPolicy = DEFAULT_BACKOFF): number {
  return Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, Math.min(attempts - 1, 30)));
}

export function priorityOf(event: Pick<EarshotEvent, 'category'>): Priority {
  return event.category === 'threat' ? Priority.threatAlert : Priority.eventAlert;
}
