/**
 * Health on `<prefix>/<device>/health`: the latest sample, retained, published on an interval and
 * right after every connect (so the retained value is fresh as soon as a link comes up). It is
 * "latest state", not history, so it is published directly rather than through the outbox.
 *
 * The payload comes from an injected provider: the full health collector (temperature, battery,
 * dropped audio, ...) comes later; `basicHealth` gives what the store and the process know.
 */
import fs from 'node:fs';
import os from 'node:os';
import type { Logger } from '../log.js';
import { silentLogger } from '../silent-logger.js';
import type { Store, StoreHealth } from '../store/types.js';
import type { Broker, QoS } from './broker.js';
import type { DrainStats } from './outbox-drain.js';
import { systemTimers, type TimerHandle, type Timers } from './timers.js';

/** What is published; fields follow DESIGN.md and are only ever added. */
export interface HealthPayload {
  /** ISO time of the sample. */
  at: string;
  uptimeSec: number;
  systemUptimeSec?: number;
  cpuTempC?: number;
  load?: number[];
  memory?: { rssBytes: number; freeBytes: number; totalBytes: number };
  disk?: { freeBytes: number; totalBytes: number };
  batteryPercent?: number;
  droppedAudio?: number;
  queue?: { depth: number; byPriority: StoreHealth['outbox']['byPriority']; oldest?: string };
  lastSyncAt?: string;
  losses?: StoreHealth['losses'];
  sync?: Partial<DrainStats> & { connected: boolean; reconnects?: number };
  [key: string]: unknown;
}

export type HealthProvider = () => HealthPayload | Promise<HealthPayload>;

/** CPU temperature from the first thermal zone (Raspberry Pi), if there is one. */
export function readCpuTempC(file = '/sys/class/thermal/thermal_zone0/temp'): number | undefined {
  try {
    const milli = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isFinite(milli) ? Math.round(milli / 100) / 10 : undefined;
  } catch {
    return undefined;
  }
}

export interface BasicHealthSources {
  store: Pick<Store, 'storeHealth'>;
  startedAtMs: number;
  clock?: () => number;
  sync?: () => HealthPayload['sync'];
}

/** Health from the store and the process: until the health collector exists, and as its base. */
export function basicHealth(src: BasicHealthSources): HealthProvider {
  const clock = src.clock ?? Date.now;
  return () => {
    const now = clock();
    const sh = src.store.storeHealth();
    const payload: HealthPayload = {
      at: new Date(now).toISOString(),
      uptimeSec: Math.round((now - src.startedAtMs) / 1000),
      systemUptimeSec: Math.round(os.uptime()),
      load: os.loadavg().map((x) => Math.round(x * 100) / 100),
      memory: { rssBytes: process.memoryUsage.rss(), freeBytes: os.freemem(), totalBytes: os.totalmem() },
      queue: { depth: sh.outbox.depth, byPriority: sh.outbox.byPriority, ...(sh.outbox.oldest ? { oldest: sh.outbox.oldest } : {}) },
      losses: sh.losses,
    };
    const temp = readCpuTempC();
    if (temp !== undefined) payload.cpuTempC = temp;
    if (sh.disk) payload.disk = sh.disk;
    if (sh.lastSyncAt) payload.lastSyncAt = sh.lastSyncAt;
    const sync = src.sync?.();
    if (sync) payload.sync = sync;
    return payload;
  };
}

export interface HealthPublisherOptions {
  broker: Broker;
  topic: string;
  intervalMs: number;
  qos: QoS;
  provider: HealthProvider;
  timers?: Timers;
  logger?: Logger;
  /** Called after each sample is taken (the service refreshes its link state then). */
  onSample?: (payload: HealthPayload) => void;
}

export class HealthPublisher {
  private timer?: TimerHandle;
  private publishing = false;
  private readonly log: Logger;
  private readonly timers: Timers;
  private readonly onConnect = () => void this.publishNow();
  published = 0;

  constructor(private readonly opts: HealthPublisherOptions) {
    this.log = (opts.logger ?? silentLogger()).child({ component: 'sync.health' });
    this.timers = opts.timers ?? systemTimers;
  }

  start(): void {
    if (this.timer !== undefined) return;
    this.opts.broker.on('connect', this.onConnect);
    this.timer = this.timers.setInterval(() => void this.publishNow(), this.opts.intervalMs);
    if (this.opts.broker.connected) void this.publishNow();
  }

  stop(): void {
    if (this.timer === undefined) return;
    this.timers.clearInterval(this.timer);
    this.timer = undefined;
    this.opts.broker.off('connect', this.onConnect);
  }

  /** Takes a sample and publishes it if connected. Never rejects. */
  async publishNow(): Promise<void> {
    if (this.publishing) return;
    this.publishing = true;
    try {
      const payload = await this.opts.provider();
      this.opts.onSample?.(payload);
      if (!this.opts.broker.connected) return;
      await this.opts.broker.publish(this.opts.topic, JSON.stringify(payload), { qos: this.opts.qos, retain: true });
      this.published++;
    } catch (err) {
      this.log.debug({ err: (err as Error).message }, 'health not published');
    } finally {
      this.publishing = false;
    }
  }
}
