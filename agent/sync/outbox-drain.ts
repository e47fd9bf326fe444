/**
 * Drains the SQLite outbox to the broker: leases messages (priority order, then seq), publishes
 * them at QoS 1 within a bounded in-flight window, and acknowledges them in the store only once
 * the broker has sent PUBACK. The store keeps every message until then, so a crash, a power cut
 * or a lost link at any moment loses nothing; at worst a message is sent twice (consumers dedupe
 * on the event `id`, which also travels as the MQTT 5 user property `id`, keeping the highest
 * `rev`: an event's later versions are separate messages, see agent/store/types.ts).
 *
 * Cost on the device is one SQLite transaction (an fsync) per lease and per ack write, so both
 * are batched: up to `leaseBatch` messages are leased at once into a local buffer, and acks are
 * written every `ackBatch` messages or `ackFlushMs`. The buffer is re-leased when it is older
 * than `bufferMaxAgeMs`, and under a rate limit only what can go out at once is leased, so a new
 * threat alert overtakes a backlog even on a slow, metered link.
 *
 * On disconnect, messages in flight go back to the outbox at once with an attempt counted
 * (`Store.release`), buffered ones without; they are first in line on the next connect. A
 * message the broker refuses (MQTT 5 PUBACK ≥ 0x80) is nacked: retried later with backoff. A
 * PUBACK overdue by `ackTimeoutMs` means the link is stuck: the connection is dropped.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from '../log.js';
import { silentLogger } from '../silent-logger.js';
import type { OutboxMessage, Store } from '../store/types.js';
import { BrokerRefusedError, type Broker, type PublishOptions } from './broker.js';
import type { RateLimiter } from './rate-limiter.js';
import { systemTimers, type TimerHandle, type Timers } from '../timers.js';

export type DrainStore = Pick<Store, 'lease' | 'ack' | 'nack' | 'release'>;

export interface OutboxDrainOptions {
  store: DrainStore;
  broker: Broker;
  /** Most messages in flight (mqtt.inFlight); also kept under the broker's receive maximum. */
  window: number;
  ackTimeoutMs: number;
  limiter?: RateLimiter;
  leaseBatch?: number;
  ackBatch?: number;
  ackFlushMs?: number;
  bufferMaxAgeMs?: number;
  /** While connected and idle, how often to look for new messages (the agent can also call kick()). */
  pollMs?: number;
  clock?: () => number;
  timers?: Timers;
  logger?: Logger;
}

export interface DrainStats {
  /** Publishes sent (including resends). */
  published: number;
  /** Messages the broker acknowledged. */
  acked: number;
  /** Publishes of messages that had been sent before without an acknowledgement: the possible duplicates downstream. */
  resent: number;
  /** Messages the broker refused (nacked, retried later with backoff). */
  refused: number;
  /** Messages put back because the link dropped while they were in flight. */
  interrupted: number;
  /** Connections dropped because a PUBACK was overdue. */
  ackTimeouts: number;
  /** ISO time of the last PUBACK. */
  lastAckAt?: string;
  /** The last store or broker refusal error. */
  lastError?: string;
}

interface InFlight {
  msg: OutboxMessage;
  sentAt: number;
}

export interface OutboxDrainEvents {
  /** Nothing left to send right now: nothing leasable, nothing in flight, acks written. */
  idle: [];
}

/** Slots kept free under the broker's receive maximum for status, health and responses. */
const RESERVED_SLOTS = 2;
/**
 * Batch sizes: every lease and every ack write is an fsynced transaction whose cost also grows
 * with its rows; with ~1,000 per transaction the store costs ~30 µs per message (bench:sync).
 */
const DEFAULT_LEASE_BATCH = 1024;
const DEFAULT_ACK_BATCH = 1024;
const DEFAULT_ACK_FLUSH_MS = 100;

export class OutboxDrain extends EventEmitter<OutboxDrainEvents> {
  readonly stats: DrainStats = { published: 0, acked: 0, resent: 0, refused: 0, interrupted: 0, ackTimeouts: 0 };
  private active = false;
  private started = false;
  /** Bumped on every connect and disconnect: late callbacks of an earlier connection are ignored. */
  private epoch = 0;
  private buffer: OutboxMessage[] = [];
  private bufferLeasedAt = 0;
  private readonly inFlight = new Map<number, InFlight>();
  private ackQueue: number[] = [];
  private pumping = false;
  private pumpTimer?: TimerHandle;
  private ackTimer?: TimerHandle;
  private pollTimer?: TimerHandle;
  private watchdog?: TimerHandle;
  private readonly clock: () => number;
  private readonly timers: Timers;
  private readonly log: Logger;
  private readonly onConnect = () => this.resume();
  private readonly onOffline = () => this.suspend();

  constructor(private readonly opts: OutboxDrainOptions) {
    super();
    this.clock = opts.clock ?? Date.now;
    this.timers = opts.timers ?? systemTimers;
    this.log = (opts.logger ?? silentLogger()).child({ component: 'sync.drain' });
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.opts.broker.on('connect', this.onConnect);
    this.opts.broker.on('offline', this.onOffline);
    this.pollTimer = this.timers.setInterval(() => this.kick(), this.opts.pollMs ?? 1000);
    this.watchdog = this.timers.setInterval(() => this.checkAckTimeouts(), Math.max(50, Math.min(1000, this.opts.ackTimeoutMs / 4)));
    if (this.opts.broker.connected) this.resume();
  }

  /**
   * Stops sending, waits up to `graceMs` for PUBACKs of what is in flight, writes the acks and
   * puts everything else back in the outbox.
   */
  async stop(graceMs = 2000): Promise<void> {
    if (!this.started) return;
    this.started = false;
    this.opts.broker.off('connect', this.onConnect);
    this.opts.broker.off('offline', this.onOffline);
    for (const t of [this.pollTimer, this.watchdog]) if (t !== undefined) this.timers.clearInterval(t);
    this.clearTimer('pumpTimer');
    this.active = false;
    const deadline = this.clock() + graceMs;
    while (this.inFlight.size > 0 && this.clock() < deadline) await new Promise<void>((r) => this.timers.setTimeout(r, 20));
    this.suspend();
  }

  /** Looks for messages to send now (new alerts were queued, or `sync/now`). */
  kick(): void {
    if (this.active) this.pump();
  }

  private resume(): void {
    if (!this.started) return;
    this.epoch++;
    this.active = true;
    this.pump();
  }

  /** The link is gone: write acks, put in-flight and buffered messages back at the head of the outbox. */
  private suspend(): void {
    this.epoch++;
    this.active = false;
    this.clearTimer('pumpTimer');
    this.flushAcks();
    const sent = [...this.inFlight.keys()];
    this.inFlight.clear();
    const buffered = this.buffer.map((m) => m.id);
    this.buffer = [];
    this.stats.interrupted += sent.length;
    this.storeCall('release', () => {
      this.opts.store.release(sent);
      this.opts.store.release(buffered, { attempted: false });
    });
  }

  private get window(): number {
    const max = this.opts.broker.maxInFlight;
    const cap = Number.isFinite(max) ? Math.max(1, max - RESERVED_SLOTS) : Infinity;
    return Math.max(1, Math.min(this.opts.window, cap));
  }

  private pump(): void {
    if (!this.active || this.pumping) return;
    this.pumping = true;
    try {
      const window = this.window;
      while (this.active && this.inFlight.size < window) {
        if (this.buffer.length > 0 && this.clock() - this.bufferLeasedAt > (this.opts.bufferMaxAgeMs ?? 2000)) {
          // Re-lease so anything more urgent queued since comes first.
          const ids = this.buffer.map((m) => m.id);
          this.buffer = [];
          this.opts.store.release(ids, { attempted: false });
        }
        if (this.buffer.length === 0) {
          // Under a rate limit the link is the bottleneck: lease no more than can go out now, so
          // nothing urgent waits behind a buffer and the SD card is not rewritten for nothing.
          const want = this.opts.limiter?.limited ? Math.max(1, window - this.inFlight.size) : (this.opts.leaseBatch ?? DEFAULT_LEASE_BATCH);
          this.buffer = this.opts.store.lease(want);
          this.bufferLeasedAt = this.clock();
          if (this.buffer.length === 0) break;
        }
        const msg = this.buffer[0]!;
        const bytes = Buffer.byteLength(msg.payload);
        const wait = this.opts.limiter?.delayFor(bytes) ?? 0;
        if (wait > 0) {
          this.schedulePump(wait);
          break;
        }
        this.buffer.shift();
        this.opts.limiter?.take(bytes);
        this.send(msg);
      }
      if (this.inFlight.size === 0 && this.buffer.length === 0 && this.active) {
        this.flushAcks();
        this.emit('idle');
      }
    } catch (err) {
      // A store error (disk full, busy): try again on the next poll.
      this.stats.lastError = `store: ${(err as Error).message}`;
      this.log.error({ err }, 'outbox drain: store error; retrying on the next poll');
    } finally {
      this.pumping = false;
    }
  }

  private send(msg: OutboxMessage): void {
    const epoch = this.epoch;
    const entry: InFlight = { msg, sentAt: this.clock() };
    this.inFlight.set(msg.id, entry);
    this.stats.published++;
    if (msg.attempts > 0) this.stats.resent++;
    const opts: PublishOptions = { qos: 1, retain: false };
    if (msg.eventId !== undefined) opts.properties = { userProperties: { id: msg.eventId } };
    this.opts.broker.publish(msg.topic, msg.payload, opts).then(
      () => {
        // The broker has it: acknowledge even if the link dropped since (ack is idempotent).
        if (this.inFlight.get(msg.id) === entry) this.inFlight.delete(msg.id);
        this.stats.acked++;
        this.stats.lastAckAt = new Date(this.clock()).toISOString();
        this.ackQueue.push(msg.id);
        this.scheduleAckFlush();
        this.pump();
      },
      (err: unknown) => {
        if (epoch !== this.epoch || this.inFlight.get(msg.id) !== entry) return; // already put back by suspend()
        this.inFlight.delete(msg.id);
        if (err instanceof BrokerRefusedError) {
          this.stats.refused++;
          this.stats.lastError = err.message;
          this.log.warn({ err: err.message, outboxId: msg.id, attempts: msg.attempts + 1 }, 'the broker refused a message; retrying later');
          this.storeCall('nack', () => this.opts.store.nack([msg.id]));
          this.pump();
        } else {
          // The link is going: put it back and wait for 'offline'/'connect' (or the next poll)
          // rather than pumping again, which would spin on a connection that is closing.
          this.stats.interrupted++;
          this.storeCall('release', () => this.opts.store.release([msg.id]));
        }
      },
    );
  }

  private checkAckTimeouts(): void {
    if (!this.active || this.inFlight.size === 0) return;
    const now = this.clock();
    for (const { msg, sentAt } of this.inFlight.values()) {
      if (now - sentAt >= this.opts.ackTimeoutMs) {
        this.stats.ackTimeouts++;
        this.opts.broker.reconnect(`no PUBACK for outbox message ${msg.id} on ${msg.topic} within ${Math.round(this.opts.ackTimeoutMs / 1000)} s`);
        return;
      }
    }
  }

  private scheduleAckFlush(): void {
    if (this.ackQueue.length >= (this.opts.ackBatch ?? DEFAULT_ACK_BATCH)) {
      this.flushAcks();
      return;
    }
    if (this.ackTimer === undefined) {
      this.ackTimer = this.timers.setTimeout(() => {
        this.ackTimer = undefined;
        this.flushAcks();
      }, this.opts.ackFlushMs ?? DEFAULT_ACK_FLUSH_MS);
    }
  }

  private flushAcks(): void {
    this.clearTimer('ackTimer');
    if (this.ackQueue.length === 0) return;
    const ids = this.ackQueue;
    this.ackQueue = [];
    try {
      this.opts.store.ack(ids);
    } catch (err) {
      // Kept and retried: until written, these stay leased in the store and are not resent.
      this.ackQueue = ids.concat(this.ackQueue);
      this.stats.lastError = `store: ${(err as Error).message}`;
      this.log.error({ err, n: ids.length }, 'could not record acknowledgements; retrying');
      this.ackTimer = this.timers.setTimeout(() => {
        this.ackTimer = undefined;
        this.flushAcks();
      }, this.opts.pollMs ?? 1000);
    }
  }

  private schedulePump(ms: number): void {
    if (this.pumpTimer !== undefined) return;
    this.pumpTimer = this.timers.setTimeout(() => {
      this.pumpTimer = undefined;
      this.pump();
    }, ms);
  }

  private clearTimer(which: 'pumpTimer' | 'ackTimer'): void {
    const t = this[which];
    if (t !== undefined) this.timers.clearTimeout(t);
    this[which] = undefined;
  }

  private storeCall(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      // The lease runs out on its own (Store lease timeout), so the message comes back anyway.
      this.stats.lastError = `store: ${(err as Error).message}`;
      this.log.error({ err, what }, 'outbox drain: store error');
    }
  }
}
