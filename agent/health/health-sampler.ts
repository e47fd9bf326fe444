/**
 * Takes one health sample: the system basics plus what only the running agent knows — the audio
 * source and its gaps, sound level, scored / skipped / dropped windows and the inference queue,
 * battery, clock sync, the listening mode and the broker link.
 */
import type { Config } from '../../config/schema.js';
import type { CaptureHealth } from '../capture/capture-monitor.js';
import type { PipelineStats } from '../pipeline/live-pipeline.js';
import type { ListeningState } from '../schedule/listening-controller.js';
import type { Store } from '../store/types.js';
import { readBattery, type BatteryReading } from '../system/battery.js';
import type { HealthPayload } from './health-payload.js';
import { systemHealth } from './system-health.js';

export interface HealthSources {
  config: Pick<Config, 'device' | 'health'>;
  store: Pick<Store, 'storeHealth'>;
  startedAtMs: number;
  clock: () => number;
  capture: () => CaptureHealth;
  /** Undefined until the pipeline exists (a file source learns its rate when it starts). */
  pipeline: () => PipelineStats | undefined;
  clockSynced: () => boolean;
  schedule: () => ListeningState;
  /** Undefined when MQTT is off. */
  sync: () => HealthPayload['sync'];
  /** Default: the configured battery source. */
  battery?: () => BatteryReading;
}

export function sampleHealth(src: HealthSources): HealthPayload {
  const base = systemHealth(src.store, src.startedAtMs, src.clock());
  const sync = src.sync();
  const battery = (src.battery ?? (() => readBattery(src.config.health.battery)))();
  const p = src.pipeline();
  return {
    ...base,
    ...(sync ? { sync } : {}),
    device: src.config.device.id,
    rssBytes: process.memoryUsage.rss(),
    capture: src.capture(),
    clockSynced: src.clockSynced(),
    ...(p ? { soundLevelDbfs: p.levelDbfs, droppedAudio: p.windowsDropped, pipeline: { ...p } } : {}),
    ...(battery.percent !== undefined ? { batteryPercent: battery.percent } : {}),
    ...(battery.volts !== undefined ? { batteryVolts: battery.volts } : {}),
    schedule: src.schedule(),
  };
}
