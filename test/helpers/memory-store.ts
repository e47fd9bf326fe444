/**
 * A Store in plain JavaScript maps, for unit tests of other components (tracker, sync, health).
 * Same semantics as SqliteStore (both pass test/store/store-contract.ts) except that nothing
 * survives the process and disk quotas do not apply (age retention and the clip quota do; clip
 * files are not touched).
 */
import type { EarshotEvent } from '../../agent/event.js';
import { contractEvent, versionPayload, withoutVersion } from '../../agent/store/event-payload.js';
import { UNLIMITED } from '../../agent/store/limits.js';
import { StateKey } from '../../agent/store/state-keys.js';
import {
  DEFAULT_BACKOFF,
  DEFAULT_LEASE_MS,
  LOSS_KINDS,
  backoffDelayMs,
  priorityOf,
  type AlertState,
  type AlertTarget,
  type Priority,
  type BackoffPolicy,
  type CrashRecovery,
  type EventPatch,
  type EventQuery,
  type EventState,
  type HealthSample,
  type LossKind,
  type NewEvent,
  type OutboxMessage,
  type PruneReason,
  type PruneReport,
  type Store,
  type StoreHealth,
  type StoreLimits,
  type StoredClip,
  type StoredEvent,
} from '../../agent/store/types.js';
import { applyPatch, checkNewEvent, checkPatch, duplicateEvent, eventClosed, noSuchEvent } from '../../agent/store/validate.js';

export interface MemoryStoreOptions {
  clock?: () => number;
  limits?: StoreLimits;
  leaseMs?: number;
  backoff?: BackoffPolicy;
}

interface EventEntry {
  event: EarshotEvent;
  state: EventState;
  alert: AlertState;
  endMs: number;
  deliveredMs?: number;
  /** The rev of the latest version queued (0: none). */
  rev: number;
  /** The topic its versions go to, once one was queued. */
  topic?: string;
}

interface OutboxEntry {
  id: number;
  eventId: string;
  topic: string;
  payload: string;
  priority: Priority;
  seq: number;
  rev: number;
  attempts: number;
  nextAttemptMs: number;
  leaseUntilMs?: number;
  createdMs: number;
}

interface ClipEntry extends StoredClip {
  createdMs: number;
  order: number;
}

export class MemoryStore implements Store {
  private readonly events = new Map<string, EventEntry>();
  private readonly outbox = new Map<number, OutboxEntry>();
  private readonly clips = new Map<string, ClipEntry>();
  private readonly health = new Map<number, HealthSample & { atMs: number }>();
  private readonly state = new Map<string, string>();
  private nextOutboxId = 1;
  private nextHealthId = 1;
  private clipOrder = 0;
  private isOpen = false;
  private readonly clock: () => number;
  private readonly limits: StoreLimits;
  private readonly leaseMs: number;
  private readonly backoff: BackoffPolicy;

  constructor(opts: MemoryStoreOptions = {}) {
    this.clock = opts.clock ?? Date.now;
    this.limits = opts.limits ?? UNLIMITED;
    this.leaseMs = opts.leaseMs ?? DEFAULT_LEASE_MS;
    this.backoff = opts.backoff ?? DEFAULT_BACKOFF;
  }

  open(): void {
    this.isOpen = true;
  }

  close(): void {
    this.isOpen = false;
  }

  openEvent(input: NewEvent): EarshotEvent {
    checkNewEvent(input);
    return this.insert(input, 'open', undefined);
  }

  putEvent(input: NewEvent, opts: { alert?: AlertTarget } = {}): EarshotEvent {
    checkNewEvent(input);
    return this.insert(input, 'closed', opts.alert);
  }

  updateEvent(id: string, patch: EventPatch): EarshotEvent {
    checkPatch(patch, id);
    const entry = this.openEntry(id);
    this.change(entry, patch, 'open');
    this.queueVersion(entry, 'refresh');
    return this.withClip(entry);
  }

  closeEvent(id: string, patch: EventPatch, opts: { alert?: AlertTarget } = {}): EarshotEvent {
    checkPatch(patch, id);
    const entry = this.openEntry(id);
    const published = entry.alert !== 'pending';
    this.change(entry, patch, 'closed');
    this.queueVersion(entry, opts.alert || published ? 'publish' : 'refresh', opts.alert);
    return this.withClip(entry);
  }

  enqueueAlert(id: string, target: AlertTarget): boolean {
    const entry = this.entry(id);
    return entry.alert === 'pending' && this.queueVersion(entry, 'publish', target);
  }

  attachClip(id: string, clip: Omit<StoredClip, 'uploaded'>): boolean {
    const entry = this.entry(id);
    this.clips.set(id, { ...clip, durationMs: Math.round(clip.durationMs), uploaded: false, createdMs: this.clock(), order: this.clipOrder++ });
    return this.queueVersion(entry, entry.state === 'closed' && entry.alert !== 'pending' ? 'publish' : 'refresh');
  }

  recoverAfterCrash(target: AlertTarget): CrashRecovery {
    this.assertOpen();
    const now = this.clock();
    let releasedLeases = 0;
    for (const m of this.outbox.values()) {
      if (m.leaseUntilMs === undefined) continue;
      m.leaseUntilMs = undefined;
      m.attempts++;
      m.nextAttemptMs = now;
      releasedLeases++;
    }
    const open = [...this.events.values()].filter((e) => e.state === 'open').sort((a, b) => a.event.seq - b.event.seq);
    for (const entry of open) {
      entry.state = 'closed';
      this.queueVersion(entry, 'publish', target);
    }
    return { closedEvents: open.map((e) => e.event.id), releasedLeases };
  }

  getEvent(id: string): StoredEvent | undefined {
    this.assertOpen();
    const entry = this.events.get(id);
    return entry && this.stored(entry);
  }

  getEventBySeq(seq: number): StoredEvent | undefined {
    this.assertOpen();
    for (const entry of this.events.values()) if (entry.event.seq === seq) return this.stored(entry);
    return undefined;
  }

  listEvents(query: EventQuery = {}): StoredEvent[] {
    this.assertOpen();
    let entries = [...this.events.values()].filter(
      (e) =>
        (query.sinceMs === undefined || Date.parse(e.event.start) >= query.sinceMs) &&
        (query.label === undefined || e.event.label === query.label) &&
        (!query.undelivered || e.alert !== 'delivered') &&
        (query.state === undefined || e.state === query.state),
    );
    entries.sort((a, b) => (query.order === 'desc' ? b.event.seq - a.event.seq : a.event.seq - b.event.seq));
    if (query.limit !== undefined) entries = entries.slice(0, Math.max(0, Math.floor(query.limit)));
    return entries.map((e) => this.stored(e));
  }

  recordHealth(sample: HealthSample): void {
    this.assertOpen();
    const atMs = Date.parse(sample.at);
    this.health.set(this.nextHealthId++, { at: sample.at, data: structuredClone(sample.data), atMs: Number.isFinite(atMs) ? atMs : this.clock() });
  }

  lease(n: number): OutboxMessage[] {
    this.assertOpen();
    if (!(n > 0)) return [];
    const now = this.clock();
    const ready = [...this.outbox.values()]
      .filter((m) => (m.leaseUntilMs === undefined ? m.nextAttemptMs <= now : m.leaseUntilMs <= now))
      .sort((a, b) => a.priority - b.priority || a.seq - b.seq || a.id - b.id)
      .slice(0, Math.floor(n));
    return ready.map((m) => {
      m.leaseUntilMs = now + this.leaseMs;
      const msg: OutboxMessage = { id: m.id, kind: 'event', eventId: m.eventId, topic: m.topic, payload: m.payload, priority: m.priority, seq: m.seq, rev: m.rev, attempts: m.attempts, createdAt: new Date(m.createdMs).toISOString() };
      return msg;
    });
  }

  ack(ids: readonly number[]): void {
    this.assertOpen();
    const now = this.clock();
    let acked = 0;
    for (const id of ids) {
      const m = this.outbox.get(id);
      if (!m) continue;
      this.outbox.delete(id);
      acked++;
      // Older versions are superseded; a newer one still waiting keeps the alert queued.
      for (const [other, o] of this.outbox) if (o.eventId === m.eventId && o.rev < m.rev) this.outbox.delete(other);
      const entry = this.events.get(m.eventId);
      if (entry && ![...this.outbox.values()].some((o) => o.eventId === m.eventId)) {
        entry.alert = 'delivered';
        entry.deliveredMs = now;
      }
    }
    if (acked > 0) this.state.set(StateKey.lastSyncAt, new Date(now).toISOString());
  }

  nack(ids: readonly number[]): void {
    this.assertOpen();
    const now = this.clock();
    for (const id of ids) {
      const m = this.outbox.get(id);
      if (!m) continue;
      m.attempts++;
      m.nextAttemptMs = now + backoffDelayMs(m.attempts, this.backoff);
      m.leaseUntilMs = undefined;
    }
  }

  release(ids: readonly number[], opts: { attempted?: boolean } = {}): void {
    this.assertOpen();
    const now = this.clock();
    for (const id of ids) {
      const m = this.outbox.get(id);
      if (!m) continue;
      if (opts.attempted !== false) m.attempts++;
      m.nextAttemptMs = now;
      m.leaseUntilMs = undefined;
    }
  }

  prune(reason: PruneReason = 'manual'): PruneReport {
    this.assertOpen();
    const report: PruneReport = { reason, clipsDeleted: 0, clipBytesFreed: 0, eventsDeleted: 0, healthDeleted: 0, undeliveredDropped: {}, stillLow: false, durationMs: 0 };
    const cutoff = this.clock() - this.limits.retentionMs;
    for (const [id, e] of this.events) {
      if (e.endMs < cutoff && e.alert !== 'queued') {
        if (this.clips.delete(id)) report.clipsDeleted++;
        this.events.delete(id);
        report.eventsDeleted++;
      }
    }
    for (const [id, h] of this.health) {
      if (h.atMs < cutoff) {
        this.health.delete(id);
        report.healthDeleted++;
      }
    }
    let clipBytes = [...this.clips.values()].reduce((a, c) => a + c.bytes, 0);
    const byAge = [...this.clips.entries()].sort(([, a], [, b]) => Number(b.uploaded) - Number(a.uploaded) || a.createdMs - b.createdMs || a.order - b.order);
    for (const [id, c] of byAge) {
      if (clipBytes <= this.limits.maxClipBytes) break;
      this.clips.delete(id);
      clipBytes -= c.bytes;
      report.clipsDeleted++;
      report.clipBytesFreed += c.bytes;
    }
    this.state.set(StateKey.lastPrune, JSON.stringify({ ...report, at: new Date(this.clock()).toISOString() }));
    return report;
  }

  storeHealth(): StoreHealth {
    this.assertOpen();
    const now = this.clock();
    const byPriority: Record<Priority, number> = { 0: 0, 1: 0, 2: 0 };
    let leased = 0;
    let oldest: number | undefined;
    for (const m of this.outbox.values()) {
      byPriority[m.priority]++;
      if (m.leaseUntilMs !== undefined && m.leaseUntilMs > now) leased++;
      oldest = oldest === undefined ? m.createdMs : Math.min(oldest, m.createdMs);
    }
    const losses = Object.fromEntries(LOSS_KINDS.map((k) => [k, Number(this.state.get(StateKey.loss(k)) ?? 0)])) as Record<LossKind, number>;
    const health: StoreHealth = {
      outbox: { depth: this.outbox.size, byPriority, leased, ...(oldest === undefined ? {} : { oldest: new Date(oldest).toISOString() }) },
      events: { total: this.events.size, open: [...this.events.values()].filter((e) => e.state === 'open').length },
      clips: { count: this.clips.size, bytes: [...this.clips.values()].reduce((a, c) => a + c.bytes, 0) },
      databaseBytes: 0,
      losses,
    };
    const lastSync = this.state.get(StateKey.lastSyncAt);
    if (lastSync) health.lastSyncAt = lastSync;
    const lastPrune = this.state.get(StateKey.lastPrune);
    if (lastPrune) health.lastPrune = JSON.parse(lastPrune) as StoreHealth['lastPrune'];
    return health;
  }

  countLoss(kind: LossKind, n = 1): void {
    const key = StateKey.loss(kind);
    this.state.set(key, String(Number(this.state.get(key) ?? 0) + n));
  }

  getState(key: string): string | undefined {
    this.assertOpen();
    return this.state.get(key);
  }

  setState(key: string, value: string): void {
    this.assertOpen();
    this.state.set(key, value);
  }

  // --- internals ------------------------------------------------------------------------------

  private assertOpen(): void {
    if (!this.isOpen) throw new Error('store used before open() or after close()');
  }

  private insert(input: NewEvent, state: EventState, alert: AlertTarget | undefined): EarshotEvent {
    this.assertOpen();
    if (this.events.has(input.id)) throw duplicateEvent(input.id);
    const seq = Number(this.state.get(StateKey.seq) ?? 0) + 1;
    this.state.set(StateKey.seq, String(seq));
    // structuredClone: the caller's object must not alias stored state, as with SQLite.
    const event = contractEvent(withoutVersion(structuredClone({ ...input, seq }) as EarshotEvent));
    const entry: EventEntry = { event, state, alert: 'pending', endMs: Date.parse(event.end), rev: 0 };
    this.events.set(event.id, entry);
    if (alert) this.queueVersion(entry, 'publish', alert);
    return this.withClip(entry);
  }

  private entry(id: string): EventEntry {
    this.assertOpen();
    const entry = this.events.get(id);
    if (!entry) throw noSuchEvent(id);
    return entry;
  }

  private openEntry(id: string): EventEntry {
    const entry = this.entry(id);
    if (entry.state === 'closed') throw eventClosed(id);
    return entry;
  }

  private change(entry: EventEntry, patch: EventPatch, state: EventState): void {
    entry.event = contractEvent(applyPatch(entry.event, structuredClone(patch)));
    entry.endMs = Date.parse(entry.event.end);
    entry.state = state;
  }

  private withClip(entry: EventEntry): EarshotEvent {
    const clip = this.clips.get(entry.event.id);
    const event = structuredClone(entry.event);
    if (clip) event.clip = { path: clip.path, format: clip.format, durationMs: clip.durationMs, sha256: clip.sha256 };
    return contractEvent(event);
  }

  private stored(entry: EventEntry): StoredEvent {
    const s: StoredEvent = { event: this.withClip(entry), state: entry.state, alert: entry.alert, rev: entry.rev };
    if (entry.deliveredMs !== undefined) s.deliveredAt = new Date(entry.deliveredMs).toISOString();
    const clip = this.clips.get(entry.event.id);
    if (clip) s.clip = { path: clip.path, format: clip.format, durationMs: clip.durationMs, sha256: clip.sha256, bytes: clip.bytes, uploaded: clip.uploaded };
    return s;
  }

  /** Same rules as SqliteStore.queueVersion (see "Versions" in agent/store/types.ts). */
  private queueVersion(entry: EventEntry, mode: 'publish' | 'refresh', target?: AlertTarget): boolean {
    const waiting = [...this.outbox.values()].filter((m) => m.eventId === entry.event.id && m.leaseUntilMs === undefined).sort((a, b) => b.rev - a.rev || b.id - a.id);
    const topic = entry.topic ?? target?.topic;
    if ((mode === 'refresh' && waiting.length === 0) || topic === undefined) return false;
    const latest = waiting[0];
    const rev = latest !== undefined && latest.attempts === 0 && latest.rev === entry.rev ? entry.rev : entry.rev + 1;
    const event = this.withClip(entry);
    const payload = versionPayload(event, entry.state, rev);
    if (latest !== undefined) {
      if (latest.rev !== rev) latest.attempts = 0;
      latest.rev = rev;
      latest.payload = payload;
      for (const older of waiting.slice(1)) this.outbox.delete(older.id);
    } else {
      this.addOutbox({ eventId: event.id, topic, payload, priority: priorityOf(event), seq: event.seq, rev });
    }
    entry.rev = rev;
    entry.topic = topic;
    entry.alert = 'queued';
    return true;
  }

  private addOutbox(m: Omit<OutboxEntry, 'id' | 'attempts' | 'nextAttemptMs' | 'createdMs'>): void {
    const now = this.clock();
    const id = this.nextOutboxId++;
    this.outbox.set(id, { ...m, id, attempts: 0, nextAttemptMs: now, createdMs: now });
  }
}
