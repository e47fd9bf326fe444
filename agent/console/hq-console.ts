/**
 * The HQ console's backend: its own store fed by the MQTT ingest, clips fetched from devices
 * over `clip/get` and cached. It connects with the configured broker settings (mqtt.url, or
 * --url; TLS and credentials from the mqtt section) under a client id of its own, and keeps
 * working while the broker is away: the page is served from the store, and the ingest
 * resubscribes when the broker is back. Its MQTT session outlives a connection (see start()).
 */
import crypto from 'node:crypto';
import { EventEmitter } from 'node:events';
import os from 'node:os';
import path from 'node:path';
import type { Config } from '../../config/schema.js';
import fs from 'node:fs';
import { UnavailableError, errnoCode } from '../errors.js';
import { writeFileAtomic } from '../fs/atomic-write.js';
import { makeFolder } from '../store/sqlite-open.js';
import type { Logger } from '../log.js';
import { ReconnectBackoff } from '../sync/backoff.js';
import { DeviceClient, fetchClip } from '../sync/clip-client.js';
import { MqttBroker } from '../sync/mqtt-broker.js';
import { connectionOptions, type ConnectionOptions } from '../sync/mqtt-options.js';
import { readRequestSecret } from '../sync/request-auth.js';
import { systemTimers, type TimerHandle, type Timers } from '../timers.js';
import type { BackendEvents, ConsoleBackend } from './backend.js';
import { ClipCache } from './clip-cache.js';
import { ClipService, type ClipResolution } from './clip-service.js';
import { ConsoleStore } from './console-store.js';
import { ConsoleIngest } from './ingest.js';
import type { Alert, AlertQuery, ConsoleStatus, DeviceHealth, DeviceInfo, Verdict } from './types.js';

export interface HqConsoleOptions {
  config: Config;
  /** --url: overrides mqtt.url. */
  url?: string;
  /** The console's data folder (console.db, clips/, password.json). */
  dataDir: string;
  /** --share: the events subscription goes through `$share/<group>/`. */
  share?: string;
  version: string;
  logger: Logger;
  timers?: Timers;
  clock?: () => number;
  /** Longest silence from a device during a clip transfer (default 15 s). */
  clipIdleTimeoutMs?: number;
  /** How long the broker keeps the console's session (and queues events for it) while it is away; 0: no session. Default 1 h. */
  sessionExpirySec?: number;
  /** Delays of clip retries after a device is back (clip-service.ts). */
  clipRetryDelaysMs?: readonly number[];
}

export const DEFAULT_SESSION_EXPIRY_SEC = 3600;
/** How often the store refreshes its query planner's statistics (SQLite's advice for a long-lived connection). */
export const STORE_OPTIMIZE_INTERVAL_MS = 3_600_000;

/**
 * The console's MQTT client id, made once and kept in its data folder (`client-id`) so the broker
 * resumes its session after a restart. Never the device's (mqtt.clientId would throw the agent
 * off the broker); each console of a share group has its own data folder, hence its own id.
 */
export function consoleClientId(dataDir: string): string {
  const file = path.join(dataDir, 'client-id');
  try {
    const id = fs.readFileSync(file, 'utf8').trim();
    if (/^[\x21-\x7e]{1,64}$/.test(id)) return id;
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
  }
  const id = `earshot-console-${os.hostname().replace(/[^A-Za-z0-9._-]/g, '').slice(0, 32)}-${crypto.randomBytes(4).toString('hex')}`;
  makeFolder(dataDir);
  writeFileAtomic(file, `${id}\n`, { mode: 0o644 });
  return id;
}

export class HqConsole extends EventEmitter<BackendEvents> implements ConsoleBackend {
  readonly canReview = true;
  store?: ConsoleStore;
  broker?: MqttBroker;
  ingest?: ConsoleIngest;
  private clips?: ClipService;
  private optimizeTimer?: TimerHandle;

  constructor(private readonly opts: HqConsoleOptions) {
    super();
  }

  private now(): number {
    return (this.opts.clock ?? Date.now)();
  }

  /** Opens the store and starts connecting; resolves without waiting for the broker. */
  start(): void {
    const { config, logger } = this.opts;
    const mqtt = config.mqtt;
    makeFolder(this.opts.dataDir);
    const store = new ConsoleStore({ file: path.join(this.opts.dataDir, 'console.db'), onDamaged: 'recover', logger: logger.child({ component: 'console.store' }), clock: () => this.now() });
    store.open();
    this.store = store;
    const connection: ConnectionOptions = { ...connectionOptions(mqtt, config.device.id), clientId: consoleClientId(this.opts.dataDir), protocolVersion: 5 };
    const url = this.opts.url ?? mqtt.url;
    const sessionExpiry = this.opts.sessionExpirySec ?? DEFAULT_SESSION_EXPIRY_SEC;
    const broker = new MqttBroker({
      url,
      connection,
      // A session that outlives the connection: while the console is away — a network blip, a
      // restart, an upgrade — the broker keeps its subscriptions and queues the QoS 1 events for
      // it, and hands them over when it is back.
      sessionExpirySec: sessionExpiry,
      backoff: new ReconnectBackoff({ minMs: mqtt.reconnectMinSec * 1000, maxMs: mqtt.reconnectMaxSec * 1000 }),
      hints: { ...(mqtt.tls.ca ? { ca: mqtt.tls.ca } : {}), ...(mqtt.tls.cert ? { cert: mqtt.tls.cert } : {}), connectTimeoutSec: mqtt.connectTimeoutSec },
      logger,
      ...(this.opts.timers ? { timers: this.opts.timers } : {}),
    });
    this.broker = broker;
    const ingest = new ConsoleIngest({ broker, store, prefix: mqtt.topicPrefix, ...(this.opts.share ? { share: this.opts.share } : {}), logger: logger.child({ component: 'console.ingest' }), clock: () => this.now() });
    this.ingest = ingest;
    const secret = mqtt.requestSecretFile ? readRequestSecret(mqtt.requestSecretFile) : undefined;
    const clips = new ClipService({
      store,
      cache: new ClipCache(path.join(this.opts.dataDir, 'clips'), store, () => this.now()),
      fetch: async (alert) => {
        if (!broker.connected) throw new UnavailableError(`broker ${broker.url} not connected`, { component: 'console.clips', code: 'console.broker-down' });
        const client = new DeviceClient({ broker, prefix: mqtt.topicPrefix, device: alert.device, idleTimeoutMs: this.opts.clipIdleTimeoutMs ?? 15_000, ...(secret ? { secret } : {}) });
        return (await fetchClip(client, alert.id)).data;
      },
      logger: logger.child({ component: 'console.clips' }),
      ...(this.opts.timers ? { timers: this.opts.timers } : {}),
      ...(this.opts.clipRetryDelaysMs ? { retryDelaysMs: this.opts.clipRetryDelaysMs } : {}),
      clock: () => this.now(),
    });
    this.clips = clips;
    ingest.on('alert', (a) => this.emit('alert', a));
    ingest.on('device', (d) => this.emit('device', d));
    ingest.on('broker', (b) => this.emit('broker', b));
    ingest.on('online', (device) => clips.deviceOnline(device));
    ingest.start();
    broker.start();
    this.scheduleOptimize();
  }

  private get timers(): Timers {
    return this.opts.timers ?? systemTimers;
  }

  private scheduleOptimize(): void {
    this.optimizeTimer = this.timers.setInterval(() => {
      try {
        this.store?.optimize();
      } catch (err) {
        this.opts.logger.warn({ err: (err as Error).message, component: 'console.store' }, 'refreshing the alert query statistics failed; the console goes on');
      }
    }, STORE_OPTIMIZE_INTERVAL_MS);
  }

  async stop(): Promise<void> {
    if (this.optimizeTimer !== undefined) this.timers.clearInterval(this.optimizeTimer);
    this.optimizeTimer = undefined;
    this.clips?.stop();
    this.ingest?.stop();
    await this.broker?.stop();
    this.store?.close();
    this.store = undefined;
  }

  private get db(): ConsoleStore {
    if (!this.store) throw new Error('console not started');
    return this.store;
  }

  status(): ConsoleStatus {
    return { mode: 'hq', broker: this.ingest?.brokerState() ?? { url: this.opts.url ?? this.opts.config.mqtt.url, connected: false }, version: this.opts.version };
  }

  devices(): DeviceInfo[] {
    return this.db.devices();
  }

  alerts(query: AlertQuery): Alert[] {
    return this.db.listAlerts(query);
  }

  healthHistory(device: string, sinceMs: number, limit: number): DeviceHealth[] | undefined {
    return this.db.healthHistory(device, sinceMs, limit);
  }

  alertsJson(query: AlertQuery): string[] {
    return this.db.listAlertsJson(query);
  }

  alert(id: string): Alert | undefined {
    return this.db.getAlert(id);
  }

  review(id: string, review: { verdict: Verdict; note: string } | null): Alert | undefined {
    const alert = this.db.setReview(id, review, this.now());
    if (alert) this.emit('alert', alert);
    return alert;
  }

  clip(alert: Alert): Promise<ClipResolution> {
    return this.clips!.resolve(alert);
  }

  /** The devices' storage.clipPreSec is not known here: the default (2 s) is assumed. */
  clipPreSec(): number {
    return 2;
  }
}
