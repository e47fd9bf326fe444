/**
 * The HQ ingest: an MQTT 5 consumer of every device's status, health and events under the topic
 * prefix, storing what it validates in the ConsoleStore and announcing changes (for the page's
 * live stream). It owns no connection: the broker (MqttBroker) reconnects by itself, and the
 * ingest subscribes again on every 'connect' (subscriptions do not survive a reconnect). A message
 * that is not valid is logged and counted, never fatal; a failed subscribe drops the connection so
 * the broker's backoff retries it, rather than running deaf.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from '../log.js';
import type { Broker, IncomingMessage } from '../sync/broker.js';
import type { ConsoleStore } from './console-store.js';
import { checkDeviceId, parseEventMessage, parseHealthMessage, parseStatusMessage } from './payloads.js';
import { classifyTopic, consoleSubscriptions } from './topics.js';
import type { Alert, BrokerState, DeviceInfo } from './types.js';

export interface IngestEvents {
  /** A new alert, or a higher rev of one. */
  alert: [alert: Alert];
  device: [device: DeviceInfo];
  broker: [state: BrokerState];
  /** The device's status said online (clips wanted from it can be fetched now). */
  online: [device: string];
}

export interface IngestStats {
  messages: number;
  alerts: number;
  updates: number;
  /** The same rev again, or an older one arriving late. */
  duplicates: number;
  malformed: number;
  /** Valid messages the store could not keep (disk full, database locked). */
  storeErrors: number;
  subscribeFailures: number;
}

export interface IngestOptions {
  broker: Pick<Broker, 'on' | 'off' | 'subscribe' | 'reconnect' | 'connected' | 'url'>;
  store: ConsoleStore;
  prefix: string;
  share?: string;
  logger: Logger;
  clock?: () => number;
}

export class ConsoleIngest extends EventEmitter<IngestEvents> {
  readonly stats: IngestStats = { messages: 0, alerts: 0, updates: 0, duplicates: 0, malformed: 0, storeErrors: 0, subscribeFailures: 0 };
  /** Whether the subscriptions of the current connection are granted. */
  private subscribed = false;
  private readonly onConnect = () => void this.subscribe();
  private readonly onOffline = () => {
    this.subscribed = false;
    this.emitSafe('broker', this.brokerState());
  };
  private readonly onMessage = (msg: IncomingMessage) => this.handle(msg);

  constructor(private readonly opts: IngestOptions) {
    super();
  }

  private get clock(): () => number {
    return this.opts.clock ?? Date.now;
  }

  get topics(): string[] {
    return consoleSubscriptions(this.opts.prefix, this.opts.share);
  }

  brokerState(): BrokerState {
    return { url: this.opts.broker.url, connected: this.opts.broker.connected && this.subscribed };
  }

  start(): void {
    const b = this.opts.broker;
    b.on('connect', this.onConnect);
    b.on('offline', this.onOffline);
    b.on('message', this.onMessage);
    if (b.connected) void this.subscribe();
  }

  stop(): void {
    const b = this.opts.broker;
    b.off('connect', this.onConnect);
    b.off('offline', this.onOffline);
    b.off('message', this.onMessage);
  }

  private async subscribe(): Promise<void> {
    try {
      await this.opts.broker.subscribe(this.topics, 1);
      this.subscribed = true;
      this.opts.logger.info({ topics: this.topics, url: this.opts.broker.url }, 'subscribed');
      this.emitSafe('broker', this.brokerState());
    } catch (err) {
      this.stats.subscribeFailures++;
      this.opts.logger.warn({ err: (err as Error).message, topics: this.topics }, 'subscribe failed; reconnecting');
      if (this.opts.broker.connected) this.opts.broker.reconnect(`subscribe failed: ${(err as Error).message}`);
    }
  }

  /** One message; never throws (the broker's listener must not break, see MqttBroker.safeEmit). */
  handle(msg: IncomingMessage): void {
    const where = classifyTopic(this.opts.prefix, msg.topic);
    if (!where) return;
    this.stats.messages++;
    try {
      const bad = checkDeviceId(where.device);
      if (bad) return this.malformed(`${msg.topic}: ${bad}`);
      const now = this.clock();
      if (where.kind === 'events') return this.event(msg, where.device, now);
      if (where.kind === 'status') {
        const r = parseStatusMessage(msg.topic, msg.payload);
        if (!r.ok) return this.malformed(r.reason);
        const device = this.opts.store.putStatus(where.device, r.value, now);
        this.emitSafe('device', device);
        if (r.value.state === 'online') this.emitSafe('online', where.device);
        return;
      }
      const r = parseHealthMessage(msg.topic, msg.payload);
      if (!r.ok) return this.malformed(r.reason);
      this.emitSafe('device', this.opts.store.putHealth(where.device, r.value, msg.payload.toString('utf8'), now));
    } catch (err) {
      // A store failure (disk full, locked) loses this message; the next ones may fare better.
      this.stats.storeErrors++;
      this.opts.logger.error({ err, topic: msg.topic }, 'could not store a message');
    }
  }

  private event(msg: IncomingMessage, device: string, now: number): void {
    const r = parseEventMessage(msg.topic, device, msg.payload, now);
    if (!r.ok) return this.malformed(r.reason);
    // One commit for the alert and the device's sign of life (r.value.device is the topic's device).
    const { arrival, alert, device: seen } = this.opts.store.putEvent(r.value, now);
    this.emitSafe('device', seen);
    if (arrival === 'duplicate' || arrival === 'stale' || !alert) {
      this.stats.duplicates++;
      return;
    }
    if (arrival === 'new') this.stats.alerts++;
    else this.stats.updates++;
    this.emitSafe('alert', alert);
  }

  private malformed(reason: string): void {
    this.stats.malformed++;
    this.opts.logger.warn({ reason, malformed: this.stats.malformed }, 'skipped a message');
  }

  private emitSafe<K extends keyof IngestEvents>(event: K, ...args: IngestEvents[K]): void {
    try {
      (this.emit as (e: K, ...a: IngestEvents[K]) => boolean)(event, ...args);
    } catch (err) {
      this.opts.logger.error({ err, event }, 'console listener failed');
    }
  }
}
