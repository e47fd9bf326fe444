/**
 * The device's Store: events, outbox, clips, health samples and small state in one SQLite file
 * (`<storage.dataDir>/events.db`), written so that a power cut never loses a write that returned
 * (see configureConnection in sqlite-open.ts) and a full disk never crashes the agent.
 *
 * Every public mutation is one IMMEDIATE transaction. A mutation that fails with SQLITE_FULL or
 * ENOSPC triggers an emergency prune and is retried once; if it fails again the loss is counted
 * and a TransientError `store.full` is thrown (see types.ts).
 *
 * Event versions (see types.ts): `events.rev` is the latest rev queued; each outbox message
 * carries its `rev`. `queueVersion` is the one place a version is queued or replaced.
 */
import fs from 'node:fs';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { TransientError } from '../errors.js';
import type { EarshotEvent } from '../event.js';
import type { Logger } from '../log.js';
import { silentLogger } from '../silent-logger.js';
import { Ballast, isNoSpaceError, statDisk, type StatFs } from './disk-space.js';
import { contractEvent, versionPayload, withoutVersion } from './event-payload.js';
import { UNLIMITED } from './limits.js';
import { openStoreDatabase } from './sqlite-open.js';
import { SqlitePruner } from './sqlite-prune.js';
import { EventQueries } from './sqlite-queries.js';
import { EVENT_WITH_CLIP_COLUMNS, EVENT_WITH_CLIP_FROM, eventToRow, rowToClip, rowToEvent, type ClipColumns, type EventRow } from './sqlite-rows.js';
import { StateKey } from './state-keys.js';
import {
  DEFAULT_BACKOFF,
  DEFAULT_LEASE_MS,
  LOSS_KINDS,
  backoffDelayMs,
  priorityOf,
  type AlertTarget,
  type Priority,
  type BackoffPolicy,
  type CrashRecovery,
  type EventPatch,
  type EventState,
  type EventQuery,
  type HealthSample,
  type LossKind,
  type NewEvent,
  type OutboxMessage,
  type PruneReason,
  type PruneReport,
  type RecoveryInfo,
  type Store,
  type StoreHealth,
  type StoreLimits,
  type StoredClip,
  type StoredEvent,
} from './types.js';
import { applyPatch, checkNewEvent, checkPatch, duplicateEvent, eventClosed, noSuchEvent } from './validate.js';

const COMPONENT = 'store';
/** Name of the disk reserve file in the data folder (see Ballast). */
export const RESERVE_FILE = '.earshot-reserve';
const DEFAULT_RESERVE_BYTES = 2 * 1024 * 1024;

export interface SqliteStoreOptions {
  /** The database file, normally `<storage.dataDir>/events.db` (see databasePath()). */
  file: string;
  limits?: StoreLimits;
  /** Milliseconds since the epoch. */
  clock?: () => number;
  logger?: Logger;
  /** Free space of the data disk (tests inject a fake). */
  statfs?: StatFs;
  /** How long a leased outbox message is withheld from other leases. */
  leaseMs?: number;
  backoff?: BackoffPolicy;
  /** Size of the reserve file released when the disk fills up (0: none). */
  reserveBytes?: number;
  /** Deletes a clip file (tests inject a fake). */
  removeFile?: (file: string) => void;
}

interface OutboxRow {
  id: number;
  kind: 'event' | 'health';
  event_id: string | null;
  health_id: number | null;
  topic: string;
  payload: string;
  priority: Priority;
  seq: number | null;
  rev: number | null;
  attempts: number;
  state: 'ready' | 'leased';
  created_ms: number;
}

type JoinedRow = EventRow & ClipColumns;

function prepareStatements(db: Database.Database) {
  return {
    nextSeq: db.prepare(
      `INSERT INTO state (key, value) VALUES ('${StateKey.seq}', '1')
       ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1 RETURNING value`,
    ).pluck(),
    eventRow: db.prepare(`SELECT ${EVENT_WITH_CLIP_COLUMNS} FROM ${EVENT_WITH_CLIP_FROM} WHERE e.id = ?`),
    eventExists: db.prepare('SELECT 1 FROM events WHERE id = ?').pluck(),
    insertEvent: db.prepare(
      `INSERT INTO events (id, seq, device, label, category, confidence, start, start_ms, "end", end_ms, model_labels, model,
         location, clock_synced, file, start_sec, end_sec, extra, state, alert, alert_topic, created_ms, updated_ms, delivered_ms)
       VALUES (@id, @seq, @device, @label, @category, @confidence, @start, @start_ms, @end, @end_ms, @model_labels, @model,
         @location, @clock_synced, @file, @start_sec, @end_sec, @extra, @state, @alert, @alert_topic, @created_ms, @updated_ms, @delivered_ms)`,
    ),
    updateEvent: db.prepare(
      `UPDATE events SET confidence = @confidence, "end" = @end, end_ms = @end_ms, model_labels = @model_labels, model = @model,
         location = @location, clock_synced = @clock_synced, end_sec = @end_sec, extra = @extra, state = @state, updated_ms = @updated_ms
       WHERE id = @id`,
    ),
    markVersionQueued: db.prepare("UPDATE events SET rev = ?, alert = 'queued', alert_topic = ? WHERE id = ?"),
    markDelivered: db.prepare("UPDATE events SET alert = 'delivered', delivered_ms = ? WHERE id = ?"),
    insertVersion: db.prepare(
      `INSERT INTO outbox (kind, event_id, topic, payload, priority, seq, rev, attempts, next_attempt_ms, state, created_ms)
       VALUES ('event', @event_id, @topic, @payload, @priority, @seq, @rev, 0, @now, 'ready', @now)`,
    ),
    /** Messages of an event not leased (waiting, or back after a failure), newest version first. */
    waitingVersions: db.prepare("SELECT id, rev, attempts FROM outbox WHERE event_id = ? AND state = 'ready' ORDER BY rev DESC, id DESC"),
    // A new rev is new content never sent: its attempts start again (attempts 0 = never sent).
    // next_attempt_ms stays, so a broker's refusal keeps its backoff.
    replaceVersion: db.prepare('UPDATE outbox SET payload = @payload, attempts = CASE WHEN rev = @rev THEN attempts ELSE 0 END, rev = @rev WHERE id = @id'),
    deleteOlderVersions: db.prepare('DELETE FROM outbox WHERE event_id = ? AND rev < ?'),
    hasMessages: db.prepare('SELECT 1 FROM outbox WHERE event_id = ? LIMIT 1').pluck(),
    releaseAllLeases: db.prepare("UPDATE outbox SET state = 'ready', lease_until_ms = NULL, attempts = attempts + 1, next_attempt_ms = ? WHERE state = 'leased'"),
    openEventIds: db.prepare("SELECT id FROM events WHERE state = 'open' ORDER BY seq").pluck(),
    closeAsStored: db.prepare("UPDATE events SET state = 'closed', updated_ms = ? WHERE id = ?"),
    leasable: db.prepare(
      `SELECT id, kind, event_id, health_id, topic, payload, priority, seq, rev, attempts, state, created_ms FROM outbox
       WHERE (state = 'ready' AND next_attempt_ms <= @now) OR (state = 'leased' AND lease_until_ms <= @now)
       ORDER BY priority, seq, id LIMIT @n`,
    ),
    markLeased: db.prepare("UPDATE outbox SET state = 'leased', lease_until_ms = ? WHERE id = ?"),
    outboxById: db.prepare('SELECT id, kind, event_id, rev, attempts FROM outbox WHERE id = ?'),
    deleteOutbox: db.prepare('DELETE FROM outbox WHERE id = ?'),
    nack: db.prepare("UPDATE outbox SET attempts = ?, next_attempt_ms = ?, state = 'ready', lease_until_ms = NULL WHERE id = ?"),
    release: db.prepare("UPDATE outbox SET attempts = attempts + ?, next_attempt_ms = ?, state = 'ready', lease_until_ms = NULL WHERE id = ?"),
    upsertClip: db.prepare(
      `INSERT INTO clips (event_id, path, format, duration_ms, bytes, sha256, uploaded, created_ms)
       VALUES (@event_id, @path, @format, @duration_ms, @bytes, @sha256, 0, @created_ms)
       ON CONFLICT (event_id) DO UPDATE SET path = excluded.path, format = excluded.format, duration_ms = excluded.duration_ms,
         bytes = excluded.bytes, sha256 = excluded.sha256, uploaded = 0, created_ms = excluded.created_ms`,
    ),
    insertHealth: db.prepare('INSERT INTO health (at, at_ms, data) VALUES (?, ?, ?)'),
    getState: db.prepare('SELECT value FROM state WHERE key = ?').pluck(),
    setState: db.prepare('INSERT INTO state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
    addToCounter: db.prepare(
      `INSERT INTO state (key, value) VALUES (@key, CAST(@n AS TEXT))
       ON CONFLICT (key) DO UPDATE SET value = CAST(CAST(value AS INTEGER) + @n AS TEXT)`,
    ),
    losses: db.prepare("SELECT key, value FROM state WHERE key LIKE 'loss.%'"),
    outboxStats: db.prepare(
      `SELECT priority, count(*) AS n, sum(state = 'leased' AND lease_until_ms > @now) AS leased, min(created_ms) AS oldest
       FROM outbox GROUP BY priority`,
    ),
    eventStats: db.prepare("SELECT count(*) AS total, coalesce(sum(state = 'open'), 0) AS open FROM events"),
    clipStats: db.prepare('SELECT count(*) AS count, coalesce(sum(bytes), 0) AS bytes FROM clips'),
  };
}

export class SqliteStore implements Store {
  private db?: Database.Database;
  private st?: ReturnType<typeof prepareStatements>;
  private queries?: EventQueries;
  private pruner?: SqlitePruner;
  private recovery?: RecoveryInfo;
  /** Losses not yet persisted because the database could not be written at the time. */
  private readonly unsavedLosses = new Map<LossKind, number>();
  private readonly clock: () => number;
  private readonly log: Logger;
  private readonly limits: StoreLimits;
  private readonly leaseMs: number;
  private readonly backoff: BackoffPolicy;

  constructor(private readonly opts: SqliteStoreOptions) {
    this.clock = opts.clock ?? Date.now;
    this.log = (opts.logger ?? silentLogger()).child({ component: COMPONENT });
    this.limits = opts.limits ?? UNLIMITED;
    this.leaseMs = opts.leaseMs ?? DEFAULT_LEASE_MS;
    this.backoff = opts.backoff ?? DEFAULT_BACKOFF;
  }

  get file(): string {
    return this.opts.file;
  }

  open(): void {
    if (this.db) return;
    const dataDir = path.dirname(this.opts.file);
    const ballast = new Ballast(path.join(dataDir, RESERVE_FILE), this.opts.reserveBytes ?? DEFAULT_RESERVE_BYTES, this.log);
    const openOpts = { maxDatabaseBytes: this.limits.maxDatabaseBytes, clock: this.clock, logger: this.log };
    let opened: ReturnType<typeof openStoreDatabase>;
    try {
      try {
        opened = openStoreDatabase(this.opts.file, openOpts);
      } catch (err) {
        // A disk that filled up while the agent was down: the reserve gives opening (WAL recovery,
        // migrations) room to work; the first prune then frees real space.
        if (!isNoSpaceError(err) || ballast.release() === 0) throw err;
        opened = openStoreDatabase(this.opts.file, openOpts);
      }
    } catch (err) {
      if (!isNoSpaceError(err)) throw err;
      throw new TransientError(`${this.opts.file}: cannot open the event database: the disk is full (free some space; the agent retries)`, { component: COMPONENT, code: 'store.full', cause: err });
    }
    const db = opened.db;
    this.db = db;
    this.st = prepareStatements(db);
    this.queries = new EventQueries(db);
    this.pruner = new SqlitePruner({
      db,
      limits: this.limits,
      dataDir,
      statfs: this.opts.statfs ?? statDisk,
      removeFile: this.opts.removeFile ?? ((f) => fs.rmSync(f)),
      ballast,
      clock: this.clock,
      logger: this.log,
      countLossInTx: (kind, n) => this.stmts.addToCounter.run({ key: StateKey.loss(kind), n }),
    });
    const saved = this.stmts.getState.get(StateKey.recovery) as string | undefined;
    this.recovery = opened.recovery ?? (saved ? (JSON.parse(saved) as RecoveryInfo) : undefined);
  }

  close(): void {
    if (!this.db) return;
    try {
      this.flushLosses();
      // Leaves a self-contained file behind (empty WAL), e.g. for copying off the SD card.
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } catch (err) {
      this.log.warn({ err }, 'could not checkpoint the database on close');
    }
    this.db.close();
    this.db = undefined;
    this.st = undefined;
    this.queries = undefined;
    this.pruner = undefined;
  }

  // --- events -------------------------------------------------------------------------------

  openEvent(input: NewEvent): EarshotEvent {
    checkNewEvent(input);
    return this.write('open event', 'failedWrites', () => this.insertNewEvent(input, 'open', undefined));
  }

  putEvent(input: NewEvent, opts: { alert?: AlertTarget } = {}): EarshotEvent {
    checkNewEvent(input);
    return this.write('put event', 'failedWrites', () => this.insertNewEvent(input, 'closed', opts.alert));
  }

  updateEvent(id: string, patch: EventPatch): EarshotEvent {
    checkPatch(patch, id);
    return this.write('update event', undefined, () =>
      this.tx(() => {
        const { event } = this.openRow(id);
        const next = applyPatch(event, patch);
        this.saveEvent(next, 'open');
        this.queueVersion(id, 'refresh');
        return next;
      }),
    );
  }

  closeEvent(id: string, patch: EventPatch, opts: { alert?: AlertTarget } = {}): EarshotEvent {
    checkPatch(patch, id);
    return this.write('close event', 'failedWrites', () =>
      this.tx(() => {
        const { row, event } = this.openRow(id);
        const next = applyPatch(event, patch);
        this.saveEvent(next, 'closed');
        // Every event that was published (or is to be) gets its final version.
        this.queueVersion(id, opts.alert || row.alert !== 'pending' ? 'publish' : 'refresh', opts.alert);
        return next;
      }),
    );
  }

  enqueueAlert(id: string, target: AlertTarget): boolean {
    return this.write('enqueue alert', 'failedWrites', () =>
      this.tx(() => {
        const row = this.stmts.eventRow.get(id) as JoinedRow | undefined;
        if (!row) throw noSuchEvent(id);
        return row.alert === 'pending' && this.queueVersion(id, 'publish', target);
      }),
    );
  }

  attachClip(id: string, clip: Omit<StoredClip, 'uploaded'>): boolean {
    return this.write('attach clip', 'clipWrites', () =>
      this.tx(() => {
        const row = this.stmts.eventRow.get(id) as JoinedRow | undefined;
        if (!row) throw noSuchEvent(id);
        this.stmts.upsertClip.run({ event_id: id, path: clip.path, format: clip.format, duration_ms: Math.round(clip.durationMs), bytes: clip.bytes, sha256: clip.sha256, created_ms: this.clock() });
        // A closed event's clip comes after its final version: a ranger should learn it exists.
        return this.queueVersion(id, row.state === 'closed' && row.alert !== 'pending' ? 'publish' : 'refresh');
      }),
    );
  }

  recoverAfterCrash(target: AlertTarget): CrashRecovery {
    return this.write('recover after a crash', 'failedWrites', () =>
      this.tx(() => {
        const now = this.clock();
        // First, so a version the dead process had leased counts as maybe sent (see queueVersion).
        const releasedLeases = this.stmts.releaseAllLeases.run(now).changes;
        const closedEvents = this.stmts.openEventIds.all() as string[];
        for (const id of closedEvents) {
          // Closed as stored: its end is the last audio it was updated with before the crash.
          this.stmts.closeAsStored.run(now, id);
          this.queueVersion(id, 'publish', target);
        }
        return { closedEvents, releasedLeases };
      }),
    );
  }

  getEvent(id: string): StoredEvent | undefined {
    return this.q.get(id);
  }

  getEventBySeq(seq: number): StoredEvent | undefined {
    return this.q.getBySeq(seq);
  }

  listEvents(query: EventQuery = {}): StoredEvent[] {
    return this.q.list(query);
  }

  // --- health -------------------------------------------------------------------------------

  recordHealth(sample: HealthSample): void {
    const atMs = Date.parse(sample.at);
    const data = JSON.stringify(sample.data);
    this.write('record health', 'failedWrites', () => this.stmts.insertHealth.run(sample.at, Number.isFinite(atMs) ? atMs : this.clock(), data));
  }

  // --- outbox -------------------------------------------------------------------------------

  lease(n: number): OutboxMessage[] {
    if (!(n > 0)) return [];
    return this.write('lease', undefined, () =>
      this.tx(() => {
        const now = this.clock();
        const rows = this.stmts.leasable.all({ now, n: Math.floor(n) }) as OutboxRow[];
        for (const r of rows) this.stmts.markLeased.run(now + this.leaseMs, r.id);
        return rows.map(toMessage);
      }),
    );
  }

  ack(ids: readonly number[]): void {
    if (ids.length === 0) return;
    this.write('ack', undefined, () =>
      this.tx(() => {
        const now = this.clock();
        let acked = 0;
        for (const id of ids) {
          const row = this.stmts.outboxById.get(id) as Pick<OutboxRow, 'id' | 'kind' | 'event_id' | 'rev'> | undefined;
          if (!row) continue;
          this.stmts.deleteOutbox.run(id);
          if (row.event_id !== null) {
            // Older versions still waiting are superseded; a newer one keeps the alert queued.
            if (row.rev !== null) this.stmts.deleteOlderVersions.run(row.event_id, row.rev);
            if (!this.stmts.hasMessages.get(row.event_id)) this.stmts.markDelivered.run(now, row.event_id);
          }
          acked++;
        }
        if (acked > 0) this.stmts.setState.run(StateKey.lastSyncAt, new Date(now).toISOString());
      }),
    );
  }

  nack(ids: readonly number[]): void {
    if (ids.length === 0) return;
    this.write('nack', undefined, () =>
      this.tx(() => {
        const now = this.clock();
        for (const id of ids) {
          const row = this.stmts.outboxById.get(id) as Pick<OutboxRow, 'attempts'> | undefined;
          if (!row) continue;
          const attempts = row.attempts + 1;
          this.stmts.nack.run(attempts, now + backoffDelayMs(attempts, this.backoff), id);
        }
      }),
    );
  }

  release(ids: readonly number[], opts: { attempted?: boolean } = {}): void {
    if (ids.length === 0) return;
    const add = opts.attempted === false ? 0 : 1;
    this.write('release', undefined, () =>
      this.tx(() => {
        const now = this.clock();
        for (const id of ids) this.stmts.release.run(add, now, id);
      }),
    );
  }

  // --- retention, health, state --------------------------------------------------------------

  prune(reason: PruneReason = 'manual'): PruneReport {
    const report = this.prunerOrThrow.run(reason);
    try {
      this.flushLosses();
      this.stmts.setState.run(StateKey.lastPrune, JSON.stringify({ ...report, at: new Date(this.clock()).toISOString() }));
    } catch (err) {
      if (!isNoSpaceError(err)) throw err;
    }
    const did = report.clipsDeleted + report.eventsDeleted + report.healthDeleted + Object.values(report.undeliveredDropped).reduce((a, b) => a + (b ?? 0), 0);
    if (did > 0 || report.stillLow) this.log.info({ report }, 'pruned the store');
    return report;
  }

  storeHealth(): StoreHealth {
    const now = this.clock();
    const byPriority: Record<Priority, number> = { 0: 0, 1: 0, 2: 0 };
    let depth = 0;
    let leased = 0;
    let oldest: number | undefined;
    for (const r of this.stmts.outboxStats.all({ now }) as { priority: Priority; n: number; leased: number | null; oldest: number }[]) {
      byPriority[r.priority] = r.n;
      depth += r.n;
      leased += r.leased ?? 0;
      oldest = oldest === undefined ? r.oldest : Math.min(oldest, r.oldest);
    }
    const events = this.stmts.eventStats.get() as { total: number; open: number };
    const clips = this.stmts.clipStats.get() as { count: number; bytes: number };
    const health: StoreHealth = {
      outbox: { depth, byPriority, leased, ...(oldest === undefined ? {} : { oldest: new Date(oldest).toISOString() }) },
      events: { total: events.total, open: events.open },
      clips: { count: clips.count, bytes: clips.bytes },
      databaseBytes: this.prunerOrThrow.databaseBytes(),
      losses: this.losses(),
    };
    const disk = this.prunerOrThrow.disk();
    if (disk) health.disk = disk;
    const lastSync = this.getState(StateKey.lastSyncAt);
    if (lastSync) health.lastSyncAt = lastSync;
    const lastPrune = this.getState(StateKey.lastPrune);
    if (lastPrune) health.lastPrune = JSON.parse(lastPrune) as StoreHealth['lastPrune'];
    if (this.recovery) health.corruptionRecovered = this.recovery;
    return health;
  }

  countLoss(kind: LossKind, n = 1): void {
    this.unsavedLosses.set(kind, (this.unsavedLosses.get(kind) ?? 0) + n);
    try {
      this.flushLosses();
    } catch (err) {
      if (!isNoSpaceError(err)) throw err;
      // Kept in memory and reported by storeHealth(); saved with the next successful prune.
    }
  }

  getState(key: string): string | undefined {
    return this.stmts.getState.get(key) as string | undefined;
  }

  setState(key: string, value: string): void {
    this.write('set state', undefined, () => this.stmts.setState.run(key, value));
  }

  // --- internals ------------------------------------------------------------------------------

  private get stmts(): ReturnType<typeof prepareStatements> {
    if (!this.st) throw new Error('store used before open() or after close()');
    return this.st;
  }

  private get q(): EventQueries {
    if (!this.queries) throw new Error('store used before open() or after close()');
    return this.queries;
  }

  private get prunerOrThrow(): SqlitePruner {
    if (!this.pruner) throw new Error('store used before open() or after close()');
    return this.pruner;
  }

  private tx<T>(fn: () => T): T {
    return this.db!.transaction(fn).immediate();
  }

  private insertNewEvent(input: NewEvent, state: 'open' | 'closed', alert: AlertTarget | undefined): EarshotEvent {
    return this.tx(() => {
      if (this.stmts.eventExists.get(input.id)) throw duplicateEvent(input.id);
      const seq = Number(this.stmts.nextSeq.get());
      const event = contractEvent(withoutVersion({ ...input, seq } as EarshotEvent));
      const now = this.clock();
      this.stmts.insertEvent.run(eventToRow(event, { state, alert: 'pending', alertTopic: null, createdMs: now, updatedMs: now, deliveredMs: null }));
      if (alert) this.queueVersion(event.id, 'publish', alert);
      return event;
    });
  }

  /** The row and contract event of an event that exists and is open. */
  private openRow(id: string): { row: JoinedRow; event: EarshotEvent } {
    const row = this.stmts.eventRow.get(id) as JoinedRow | undefined;
    if (!row) throw noSuchEvent(id);
    if (row.state === 'closed') throw eventClosed(id);
    return { row, event: rowToEvent(row, rowToClip(row)) };
  }

  private saveEvent(event: EarshotEvent, state: 'open' | 'closed'): void {
    // The meta fields given here are not written by the UPDATE (see updateEvent statement).
    const row = eventToRow(event, { state, alert: 'pending', alertTopic: null, createdMs: 0, updatedMs: this.clock(), deliveredMs: null });
    this.stmts.updateEvent.run(row);
  }

  /**
   * Queues the event as it is stored now, inside the caller's transaction (see "Versions" in
   * types.ts). 'publish' queues a version in any case: it replaces the one waiting, or goes beside
   * a leased one. 'refresh' only updates a version already waiting (an update of an open event,
   * a clip of an event not published). The topic is the one the event was queued on before, else
   * `target`'s. True when a version was queued or changed.
   */
  private queueVersion(id: string, mode: 'publish' | 'refresh', target?: AlertTarget): boolean {
    const row = this.stmts.eventRow.get(id) as JoinedRow;
    const waiting = this.stmts.waitingVersions.all(id) as { id: number; rev: number; attempts: number }[];
    const topic = row.alert_topic ?? target?.topic;
    if ((mode === 'refresh' && waiting.length === 0) || topic === undefined) return false;
    const latest = waiting[0];
    const current = row.rev ?? 0;
    // A version never handed to the broker can still change under its number; otherwise it may
    // have arrived, and the consumer must see a higher rev to take the new content.
    const rev = latest !== undefined && latest.attempts === 0 && latest.rev === current ? current : current + 1;
    const event = rowToEvent(row, rowToClip(row));
    const payload = versionPayload(event, row.state as EventState, rev);
    if (latest !== undefined) {
      this.stmts.replaceVersion.run({ id: latest.id, payload, rev });
      for (const older of waiting.slice(1)) this.stmts.deleteOutbox.run(older.id);
    } else {
      this.stmts.insertVersion.run({ event_id: id, topic, payload, priority: priorityOf(event), seq: event.seq, rev, now: this.clock() });
    }
    this.stmts.markVersionQueued.run(rev, topic, id);
    return true;
  }

  private losses(): Record<LossKind, number> {
    const out = Object.fromEntries(LOSS_KINDS.map((k) => [k, 0])) as Record<LossKind, number>;
    for (const r of this.stmts.losses.all() as { key: string; value: string }[]) {
      const kind = r.key.slice('loss.'.length) as LossKind;
      if (kind in out) out[kind] = Number(r.value) || 0;
    }
    for (const [kind, n] of this.unsavedLosses) out[kind] += n;
    return out;
  }

  private flushLosses(): void {
    if (this.unsavedLosses.size === 0) return;
    this.tx(() => {
      for (const [kind, n] of this.unsavedLosses) this.stmts.addToCounter.run({ key: StateKey.loss(kind), n });
    });
    this.unsavedLosses.clear();
  }

  /**
   * Runs a mutation; when the disk or the database quota is full, prunes (emergency) and retries
   * once. A second failure counts `loss` (when given) and throws TransientError `store.full`.
   */
  private write<T>(what: string, loss: LossKind | undefined, fn: () => T): T {
    if (!this.db) throw new Error('store used before open() or after close()');
    try {
      return fn();
    } catch (err) {
      if (!isNoSpaceError(err)) throw err;
      this.log.warn({ err, what }, 'store write failed: no space; pruning and retrying');
    }
    try {
      this.prune('no-space');
    } catch (err) {
      this.log.error({ err }, 'emergency prune failed');
    }
    try {
      return fn();
    } catch (err) {
      if (!isNoSpaceError(err)) throw err;
      if (loss) this.countLoss(loss);
      this.log.error({ err, what, file: this.opts.file }, 'store write lost: no space even after pruning');
      throw new TransientError(`${this.opts.file}: ${what} failed: no space left even after pruning (counted as lost)`, { component: COMPONENT, code: 'store.full', cause: err });
    }
  }
}

function toMessage(r: OutboxRow): OutboxMessage {
  const m: OutboxMessage = { id: r.id, kind: r.kind, topic: r.topic, payload: r.payload, priority: r.priority, attempts: r.attempts, createdAt: new Date(r.created_ms).toISOString() };
  if (r.event_id !== null) m.eventId = r.event_id;
  if (r.seq !== null) m.seq = r.seq;
  if (r.rev !== null) m.rev = r.rev;
  return m;
}
