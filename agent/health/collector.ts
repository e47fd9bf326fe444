/**
 * The health collector: the sync's basic health (uptime, load, memory, disk, queue, losses,
 * CPU temperature) plus what only the agent knows: the audio source, sound level, capture gaps,
 * dropped and skipped windows, the inference queue, battery, clock sync, the scheduler's state.
 * Sampled every `health.intervalSec` (and at once when a capture gap ends), stored in the
 * database and handed to the sync as its health provider (published retained).
 */
import type { Config } from '../../config/schema.js';
import type { CaptureGap } from '../capture/source.js';
import type { Logger } from '../log.js';
import type { PipelineStats } from '../pipeline/live-pipeline.js';
import type { Store } from '../store/types.js';
import { basicHealth, type HealthPayload } from '../sync/health.js';
import { readBattery, type BatteryReading } from '../system/battery.js';

export interface CaptureHealth {
  source: string;
  description: string;
  running: boolean;
  samples: number;
  gaps: number;
  gapMsTotal: number;
  lastGap?: CaptureGap;
  /** When the current interruption began (audio is missing now). */
  interruptedSince?: string;
  interruptedReason?: string;
}

export interface HealthCollectorOptions {
  config: Config;
  store: Store;
  startedAtMs: number;
  capture: () => CaptureHealth;
  pipeline: () => PipelineStats | undefined;
  clockSynced: () => boolean;
  extra?: () => Record<string, unknown>;
  sync?: () => HealthPayload['sync'];
  battery?: () => BatteryReading;
  clock?: () => number;
  logger: Logger;
}

export class HealthCollector {
  private timer?: NodeJS.Timeout;
  private readonly log: Logger;
  lastBattery: BatteryReading = {};

  constructor(private readonly opts: HealthCollectorOptions) {
    this.log = opts.logger.child({ component: 'health' });
  }

  /** One sample (the sync's provider). */
  readonly sample = (): HealthPayload => {
    const o = this.opts;
    const base = basicHealth({ store: o.store, startedAtMs: o.startedAtMs, clock: o.clock, ...(o.sync ? { sync: o.sync } : {}) })() as HealthPayload;
    const battery = (o.battery ?? (() => readBattery(o.config.health.battery)))();
    this.lastBattery = battery;
    const p = o.pipeline();
    const payload: HealthPayload = {
      ...base,
      device: o.config.device.id,
      rssBytes: process.memoryUsage.rss(),
      capture: o.capture(),
      clockSynced: o.clockSynced(),
      ...(p ? { soundLevelDbfs: p.levelDbfs, droppedAudio: p.windowsDropped, pipeline: { ...p } } : {}),
      ...(battery.percent !== undefined ? { batteryPercent: battery.percent } : {}),
      ...(battery.volts !== undefined ? { batteryVolts: battery.volts } : {}),
    };
    if (o.extra) Object.assign(payload, o.extra());
    return payload;
  };

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.record(), this.opts.config.health.intervalSec * 1000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Takes a sample and stores it. Never throws. */
  record(): HealthPayload | undefined {
    try {
      const s = this.sample();
      this.opts.store.recordHealth({ at: s.at, data: s });
      return s;
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'health sample not stored');
      return undefined;
    }
  }
}
