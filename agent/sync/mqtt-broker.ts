/**
 * The Broker over mqtt.js, driving reconnects itself.
 *
 * mqtt.js reconnects on a fixed period, not at all after a CONNACK refusal, and replays its own
 * in-memory queue on reconnect. Here every connection attempt is a fresh client with
 * `reconnectPeriod: 0` (and `queueQoSZero: false`): when it closes, whatever it still had
 * unacknowledged is rejected to the caller (the outbox keeps the durable copy and resends it) and
 * the next attempt is scheduled with capped exponential backoff and jitter, whether the failure
 * was a refused TCP connection at boot, a TLS error, a CONNACK refusal or a lost link. Nothing is
 * ever queued in memory while offline: publish rejects at once.
 */
import { EventEmitter } from 'node:events';
import mqtt, { type IClientOptions, type IClientPublishOptions, type MqttClient } from 'mqtt';
import type { Logger } from '../log.js';
import { silentLogger } from '../silent-logger.js';
import type { ReconnectBackoff } from './backoff.js';
import { BrokerRefusedError, LinkDownError, type Broker, type BrokerEvents, type IncomingMessage, type PublishOptions, type QoS } from './broker.js';
import { describeLinkError, displayUrl, type LinkContext } from './link-errors.js';
import type { ConnectionOptions } from './mqtt-options.js';
import { systemTimers, type TimerHandle, type Timers } from '../timers.js';

export interface WillMessage {
  topic: string;
  payload: string;
  qos: QoS;
  retain: boolean;
}

export interface MqttBrokerOptions {
  url: string;
  connection: ConnectionOptions;
  will?: WillMessage;
  backoff: ReconnectBackoff;
  /** mqtt.tls.ca / cert, for the hints in error messages. */
  hints?: Omit<LinkContext, 'url'>;
  logger?: Logger;
  timers?: Timers;
  /**
   * MQTT 5 only: a session that outlives each connection by this many seconds (clean start off,
   * Session Expiry Interval), so the broker keeps the subscriptions and queues QoS 1 messages while
   * the client is away. Absent or 0: a clean session per connection (the agent's way: its outbox
   * is its queue).
   */
  sessionExpirySec?: number;
  /** mqtt.connect; tests may wrap it. */
  connect?: (url: string, opts: IClientOptions) => MqttClient;
  /** How long stop() waits for a clean DISCONNECT before dropping the socket. */
  stopTimeoutMs?: number;
}

interface PendingPublish {
  reject: (err: Error) => void;
}

export interface MqttBrokerStats {
  /** Connection attempts made. */
  attempts: number;
  /** Successful connections. */
  connects: number;
  /** Failed attempts and lost connections. */
  linkErrors: number;
}

export class MqttBroker extends EventEmitter<BrokerEvents> implements Broker {
  readonly stats: MqttBrokerStats = { attempts: 0, connects: 0, linkErrors: 0 };
  private client?: MqttClient;
  private isConnected = false;
  /** We are dropping the current connection: publish refuses at once until it has closed. */
  private closing = false;
  private running = false;
  /** Counts start() and stop() calls: a listener that stops (or restarts) the broker changes it. */
  private generation = 0;
  private reconnectTimer?: TimerHandle;
  private receiveMaximum = Infinity;
  private inFlight = 0;
  /** Publishes waiting for a slot under the broker's receive maximum (only while connected). */
  private waiting: (() => void)[] = [];
  /** Publishes of the current connection not settled yet: rejected when it closes. */
  private pending = new Set<PendingPublish>();
  /** Why we are closing the connection ourselves, for the linkError message. */
  private closeReason?: string;
  private readonly log: Logger;
  private readonly timers: Timers;

  constructor(private readonly opts: MqttBrokerOptions) {
    super();
    this.log = (opts.logger ?? silentLogger()).child({ component: 'sync.broker' });
    this.timers = opts.timers ?? systemTimers;
  }

  get connected(): boolean {
    return this.isConnected;
  }

  get maxInFlight(): number {
    return this.receiveMaximum;
  }

  get url(): string {
    return displayUrl(this.opts.url);
  }

  /** Starts connecting now, and keeps reconnecting until stop(). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.generation++;
    this.attempt();
  }

  /** Ends the connection (a clean DISCONNECT if it can within the timeout) and stops reconnecting. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.generation++;
    if (this.reconnectTimer !== undefined) this.timers.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    const client = this.client;
    if (!client) return;
    this.closeReason = 'stopped';
    if (!this.isConnected) {
      // Still connecting: there is no session to end cleanly.
      client.end(true);
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = this.timers.setTimeout(() => {
        client.end(true);
        resolve();
      }, this.opts.stopTimeoutMs ?? 2000);
      client.end(false, {}, () => {
        this.timers.clearTimeout(timer);
        resolve();
      });
    });
  }

  reconnect(reason: string): void {
    const client = this.client;
    if (!client) return;
    this.log.warn({ reason, url: this.url }, 'dropping the connection');
    this.closeReason = reason;
    this.closing = true;
    client.end(true);
  }

  publish(topic: string, payload: string | Buffer, opts: PublishOptions): Promise<void> {
    const client = this.client;
    if (!client || !this.isConnected || this.closing) return Promise.reject(new LinkDownError(`${this.url}: not connected`));
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const entry: PendingPublish = {
        reject: (err) => {
          if (settled) return;
          settled = true;
          this.pending.delete(entry);
          reject(err);
        },
      };
      const done = (err?: Error) => {
        if (settled) return;
        settled = true;
        this.pending.delete(entry);
        if (err) reject(err);
        else resolve();
      };
      this.pending.add(entry);
      const send = () => {
        if (settled) return;
        if (this.client !== client || !this.isConnected || this.closing) return done(new LinkDownError(`${this.url}: connection lost`));
        const counted = opts.qos > 0;
        if (counted) this.inFlight++;
        const publishOpts: IClientPublishOptions = { qos: opts.qos, retain: opts.retain ?? false };
        if (opts.properties) publishOpts.properties = opts.properties;
        client.publish(topic, payload, publishOpts, (err) => {
          if (counted && this.client === client) {
            this.inFlight--;
            this.waiting.shift()?.();
          }
          done(err ? this.publishError(err, topic) : undefined);
        });
      };
      if (opts.qos > 0 && this.inFlight >= this.receiveMaximum) this.waiting.push(send);
      else send();
    });
  }

  subscribe(topics: readonly string[], qos: QoS): Promise<void> {
    const client = this.client;
    if (!client || !this.isConnected) return Promise.reject(new LinkDownError(`${this.url}: not connected`));
    return new Promise<void>((resolve, reject) => {
      client.subscribe([...topics], { qos }, (err, granted) => {
        if (err) return reject(err instanceof Error ? err : new Error(String(err)));
        const refused = (granted ?? []).filter((g) => g.qos >= 128);
        if (refused.length > 0) return reject(new Error(`${this.url}: subscription refused for ${refused.map((g) => g.topic).join(', ')}`));
        resolve();
      });
    });
  }

  private publishError(err: Error, topic: string): Error {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'number') return new BrokerRefusedError(`${this.url}: the broker refused a message on ${topic}: ${err.message} (reason code ${code})`, code);
    return new LinkDownError(`${this.url}: ${err.message}`);
  }

  private attempt(): void {
    this.reconnectTimer = undefined;
    if (!this.running) return;
    this.stats.attempts++;
    this.closeReason = undefined;
    this.closing = false;
    const sessionExpiry = this.opts.sessionExpirySec ?? 0;
    const options: IClientOptions = {
      ...this.opts.connection,
      reconnectPeriod: 0,
      clean: sessionExpiry === 0,
      queueQoSZero: false,
      resubscribe: false,
    };
    if (sessionExpiry > 0) options.properties = { ...options.properties, sessionExpiryInterval: sessionExpiry };
    if (this.opts.will) options.will = { ...this.opts.will };
    let client: MqttClient;
    try {
      client = (this.opts.connect ?? mqtt.connect)(this.opts.url, options);
    } catch (err) {
      this.linkLost(err, false);
      return;
    }
    this.client = client;
    let lastError: unknown;
    let closed = false;
    // mqtt.js emits 'error' for socket, TLS and CONNACK failures, before 'close'; an emitter
    // without an 'error' listener would throw and crash the process, so this stays attached.
    client.on('error', (err) => {
      lastError = err;
      this.log.debug({ err: err.message, url: this.url }, 'mqtt client error');
    });
    client.on('connect', (connack) => {
      if (this.client !== client) return;
      this.isConnected = true;
      this.inFlight = 0;
      this.receiveMaximum = connack.properties?.receiveMaximum ?? Infinity;
      this.opts.backoff.reset();
      this.stats.connects++;
      this.log.info({ url: this.url, receiveMaximum: connack.properties?.receiveMaximum }, 'connected to the broker');
      this.safeEmit('connect');
    });
    client.on('message', (topic, payload, packet) => {
      const msg: IncomingMessage = { topic, payload };
      const p = packet.properties;
      if (p) {
        msg.properties = {};
        if (p.correlationData) msg.properties.correlationData = p.correlationData;
        if (p.responseTopic) msg.properties.responseTopic = p.responseTopic;
        if (p.contentType) msg.properties.contentType = p.contentType;
        if (p.userProperties) {
          msg.properties.userProperties = Object.fromEntries(Object.entries(p.userProperties).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : String(v)]));
        }
      }
      this.safeEmit('message', msg);
    });
    client.on('close', () => {
      if (closed) return;
      closed = true;
      const current = this.client === client;
      const wasConnected = current && this.isConnected;
      if (current) {
        this.client = undefined;
        this.isConnected = false;
        this.inFlight = 0;
      }
      const lost = new LinkDownError(`${this.url}: connection lost before the broker acknowledged`);
      for (const p of [...this.pending]) p.reject(lost);
      this.waiting = [];
      // Let mqtt.js drop its own copies (its callbacks land on settled promises).
      client.end(true);
      const reason = this.closeReason ?? lastError ?? new Error(wasConnected ? 'connection closed' : 'connection closed before the broker answered');
      if (current) this.linkLost(reason, wasConnected);
    });
  }

  private linkLost(reason: unknown, wasConnected: boolean): void {
    this.stats.linkErrors++;
    const described = typeof reason === 'string' ? { message: `${this.url}: ${reason}` } : describeLinkError(reason, { url: this.opts.url, ...this.opts.hints });
    const delay = this.running ? this.opts.backoff.next() : undefined;
    if (this.running) this.log.warn({ url: this.url, error: described.message, retryInMs: delay, attempts: this.opts.backoff.attempts }, wasConnected ? 'lost the broker' : 'could not connect to the broker');
    else this.log.info({ url: this.url }, 'disconnected');
    const generation = this.generation;
    this.safeEmit('linkError', { at: new Date().toISOString(), ...described });
    if (wasConnected) this.safeEmit('offline', described.message);
    // A listener may have called stop() (or stop() and start()): then this attempt's retry is not
    // wanted, and a timer set now would keep the process alive after stop().
    if (delay !== undefined && generation === this.generation) this.reconnectTimer = this.timers.setTimeout(() => this.attempt(), delay);
  }

  /** A listener that throws must not break the connection handling (or the process). */
  private safeEmit<K extends keyof BrokerEvents>(event: K, ...args: BrokerEvents[K]): void {
    try {
      (this.emit as (e: K, ...a: BrokerEvents[K]) => boolean)(event, ...args);
    } catch (err) {
      this.log.error({ err, event }, 'sync listener failed');
    }
  }
}
