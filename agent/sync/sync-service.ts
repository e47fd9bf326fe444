/**
 * The sync component the agent starts: one broker connection, the outbox drain, the retained
 * status and health, and the request handling, wired together. On every (re)connect: publish the
 * retained `online` status, subscribe to requests, resume the outbox, re-publish the latest health
 * sample. Health itself is sampled by the agent's health ticker and handed in (`publishHealth`).
 * The link state is kept in memory for the agent (`link()`) and written into the store
 * (`sync.link`) for `earshot sync status`, a separate process.
 */
import type { Config } from '../../config/schema.js';
import type { ConfigUpdate } from '../../config/update.js';
import type { Logger } from '../log.js';
import { silentLogger } from '../silent-logger.js';
import type { Store } from '../store/types.js';
import { ReconnectBackoff } from './backoff.js';
import type { Broker, LinkError } from './broker.js';
import type { Component } from '../component.js';
import type { HealthPayload } from '../health/health-payload.js';
import { HealthPublisher } from './health.js';
import { LINK_STATE_KEY, type LinkState } from './link-state.js';
import { MqttBroker } from './mqtt-broker.js';
import { connectionOptions } from './mqtt-options.js';
import { OutboxDrain } from './outbox-drain.js';
import { RateLimiter } from './rate-limiter.js';
import { ReplayGuard, readRequestSecret } from './request-auth.js';
import { createRequestHandlers } from './request-handlers.js';
import { RequestRouter, type RequestAuth } from './request-router.js';
import { statusPayload } from './status.js';
import { systemTimers, type Timers } from '../timers.js';
import { topicsFor, type Topics } from './topics.js';

/** A broker the service can start and stop (MqttBroker, or a fake in tests). */
export type ManagedBroker = Broker & { start(): void; stop(): Promise<void> };

export const REPLAY_STATE_KEY = 'sync.seenRequests';

export interface SyncServiceOptions {
  config: Config;
  /** The configuration file `config/set` writes. */
  configFile: string;
  env?: NodeJS.ProcessEnv;
  store: Store;
  version: string;
  startedAtMs?: number;
  /** Restarts the agent (request `restart`). */
  restart?: () => void;
  /** Applies a configuration change the sync cannot apply itself; false: restart required. */
  applyConfig?: (config: Config, keyPath: string) => boolean;
  /** Default: an MqttBroker for config.mqtt. */
  broker?: ManagedBroker;
  clock?: () => number;
  timers?: Timers;
  random?: () => number;
  logger?: Logger;
}

export class SyncService implements Component {
  readonly name = 'sync';
  /** Room for the retained `offline` (up to 2 s) before the disconnect. */
  readonly stopLimitMs = 2500;
  private broker?: ManagedBroker;
  private drain?: OutboxDrain;
  private health?: HealthPublisher;
  private router?: RequestRouter;
  private limiter?: RateLimiter;
  private auth?: RequestAuth;
  private linkState?: LinkState;
  private config: Config;
  private readonly topics: Topics;
  private readonly clock: () => number;
  private readonly timers: Timers;
  private readonly log: Logger;
  private readonly startedAtMs: number;

  constructor(private readonly opts: SyncServiceOptions) {
    this.config = opts.config;
    this.topics = topicsFor(opts.config.mqtt.topicPrefix, opts.config.device.id);
    this.clock = opts.clock ?? Date.now;
    this.timers = opts.timers ?? systemTimers;
    this.log = (opts.logger ?? silentLogger()).child({ component: 'sync' });
    this.startedAtMs = opts.startedAtMs ?? this.clock();
  }

  get drainStats() {
    return this.drain?.stats;
  }

  get requestStats() {
    return this.router?.stats;
  }

  /** The broker link as this process sees it (undefined before the first connect attempt). */
  link(): LinkState | undefined {
    return this.linkState && { ...this.linkState };
  }

  /** Publishes a health sample (retained) and refreshes the recorded link state with it. */
  publishHealth(sample: HealthPayload): void {
    if (!this.health) return;
    void this.health.publish(sample);
    this.saveLink({});
  }

  /** Reads secrets and TLS files (ConfigError if unreadable), then starts connecting. */
  start(): void {
    if (this.broker) return;
    const { config, store } = this.opts;
    const mqtt = config.mqtt;
    const identity = { version: this.opts.version, startedAt: new Date(this.startedAtMs).toISOString() };
    const broker =
      this.opts.broker ??
      new MqttBroker({
        url: mqtt.url,
        connection: connectionOptions(mqtt, config.device.id),
        will: { topic: this.topics.status, payload: statusPayload('offline', identity), qos: 1, retain: true },
        backoff: new ReconnectBackoff({ minMs: mqtt.reconnectMinSec * 1000, maxMs: mqtt.reconnectMaxSec * 1000, ...(this.opts.random ? { random: this.opts.random } : {}) }),
        hints: { ...(mqtt.tls.ca ? { ca: mqtt.tls.ca } : {}), ...(mqtt.tls.cert ? { cert: mqtt.tls.cert } : {}), connectTimeoutSec: mqtt.connectTimeoutSec },
        logger: this.log,
        timers: this.timers,
      });
    if (mqtt.requestSecretFile !== undefined) {
      const maxSkewMs = mqtt.requestMaxSkewSec * 1000;
      this.auth = {
        secret: readRequestSecret(mqtt.requestSecretFile),
        maxSkewMs,
        replay: new ReplayGuard({
          windowMs: maxSkewMs > 0 ? maxSkewMs : 24 * 3600_000,
          load: () => store.getState(REPLAY_STATE_KEY),
          save: (text) => store.setState(REPLAY_STATE_KEY, text),
        }),
      };
    }
    this.broker = broker;
    this.limiter = new RateLimiter({ messagesPerSec: mqtt.maxMessagesPerSec, bytesPerSec: mqtt.maxBytesPerSec }, this.clock);

    // Registered before the others: `online` is the first message of every connection.
    broker.on('connect', () => {
      void broker.publish(this.topics.status, statusPayload('online', identity), { qos: 1, retain: true }).catch((err: Error) => this.log.debug({ err: err.message }, 'status not published'));
      this.saveLink({ connected: true });
    });
    broker.on('offline', () => this.saveLink({ connected: false }));
    broker.on('linkError', (e: LinkError) => this.saveLink({ lastError: e.message, lastErrorAt: e.at }));

    this.drain = new OutboxDrain({
      store,
      broker,
      window: mqtt.inFlight,
      ackTimeoutMs: mqtt.ackTimeoutSec * 1000,
      limiter: this.limiter,
      clock: this.clock,
      timers: this.timers,
      logger: this.log,
    });
    this.router = new RequestRouter({
      broker,
      topics: this.topics,
      maxRequestBytes: mqtt.maxRequestBytes,
      handlers: createRequestHandlers({
        store,
        status: () => this.statusData(),
        config: { file: this.opts.configFile, env: this.opts.env ?? process.env, current: () => this.config, apply: (u) => this.applyConfig(u) },
        syncNow: () => {
          this.drain?.kick();
          return { queued: store.storeHealth().outbox.depth };
        },
        ...(this.opts.restart ? { restart: this.opts.restart } : {}),
        pace: (bytes) => this.pace(bytes),
      }),
      ...(this.auth ? { auth: this.auth } : {}),
      clock: this.clock,
      logger: this.log,
    });
    this.health = new HealthPublisher({ broker, topic: this.topics.health, qos: mqtt.healthQos, logger: this.log });

    this.router.start();
    this.drain.start();
    this.health.start();
    broker.start();
  }

  /** Publishes `offline`, lets in-flight messages finish (briefly), puts the rest back and disconnects. */
  async stop(): Promise<void> {
    const broker = this.broker;
    if (!broker) return;
    this.health?.stop();
    this.health = undefined;
    this.router?.stop();
    await this.drain?.stop();
    if (broker.connected) {
      const identity = { version: this.opts.version, startedAt: new Date(this.startedAtMs).toISOString() };
      await Promise.race([
        broker.publish(this.topics.status, statusPayload('offline', identity), { qos: 1, retain: true }).catch(() => undefined),
        new Promise<void>((r) => this.timers.setTimeout(r, 2000)),
      ]);
    }
    await broker.stop();
    this.saveLink({ connected: false });
    this.broker = undefined;
  }

  /** New alerts are in the outbox: send them now rather than at the next poll. */
  kick(): void {
    this.drain?.kick();
  }

  private statusData(): Record<string, unknown> {
    const sh = this.opts.store.storeHealth();
    return {
      state: 'online',
      device: this.config.device.id,
      version: this.opts.version,
      startedAt: new Date(this.startedAtMs).toISOString(),
      uptimeSec: Math.round((this.clock() - this.startedAtMs) / 1000),
      broker: this.broker?.url,
      queue: sh.outbox,
      ...(sh.lastSyncAt ? { lastSyncAt: sh.lastSyncAt } : {}),
      drain: this.drain?.stats,
      requests: this.router?.stats,
    };
  }

  /** Applies what sync itself can change live; asks the agent for the rest. */
  private applyConfig(update: ConfigUpdate): boolean {
    if (update.shadowedBy) return false;
    const next = update.config;
    switch (update.keyPath) {
      case 'mqtt.maxMessagesPerSec':
      case 'mqtt.maxBytesPerSec':
        this.limiter?.setLimits({ messagesPerSec: next.mqtt.maxMessagesPerSec, bytesPerSec: next.mqtt.maxBytesPerSec });
        this.config = { ...this.config, mqtt: { ...this.config.mqtt, maxMessagesPerSec: next.mqtt.maxMessagesPerSec, maxBytesPerSec: next.mqtt.maxBytesPerSec } };
        return true;
      case 'mqtt.healthQos':
        this.health?.setQos(next.mqtt.healthQos);
        this.config = { ...this.config, mqtt: { ...this.config.mqtt, healthQos: next.mqtt.healthQos } };
        return true;
      default:
        return this.opts.applyConfig?.(next, update.keyPath) ?? false;
    }
  }

  /** Waits until `bytes` may go under the rate limits (clip chunks share them with the outbox). */
  private async pace(bytes: number): Promise<void> {
    const limiter = this.limiter;
    if (!limiter?.limited) return;
    for (;;) {
      const wait = limiter.delayFor(bytes);
      if (wait <= 0) break;
      await new Promise<void>((r) => this.timers.setTimeout(r, wait));
    }
    limiter.take(bytes);
  }

  private saveLink(change: Partial<LinkState>): void {
    const now = new Date(this.clock()).toISOString();
    const prev = this.linkState;
    const connected = change.connected ?? prev?.connected ?? false;
    const next: LinkState = {
      connected,
      url: this.broker?.url ?? '',
      since: prev && prev.connected === connected ? prev.since : now,
      failedAttempts: change.lastError !== undefined ? (prev?.failedAttempts ?? 0) + 1 : connected && !prev?.connected ? 0 : (prev?.failedAttempts ?? 0),
      updatedAt: now,
      pid: process.pid,
    };
    const lastConnectedAt = connected && !prev?.connected ? now : prev?.lastConnectedAt;
    if (lastConnectedAt) next.lastConnectedAt = lastConnectedAt;
    const lastError = change.lastError ?? prev?.lastError;
    if (lastError) next.lastError = lastError;
    const lastErrorAt = change.lastErrorAt ?? prev?.lastErrorAt;
    if (lastErrorAt) next.lastErrorAt = lastErrorAt;
    if (this.drain) next.drain = { ...this.drain.stats };
    this.linkState = next;
    try {
      this.opts.store.setState(LINK_STATE_KEY, JSON.stringify(next));
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'could not record the link state');
    }
  }
}
