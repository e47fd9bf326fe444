/**
 * The health sample: one object per tick, stored in the database (`health` table) and published
 * retained on `<prefix>/<device>/health` as it is. Fields follow DESIGN.md and are only ever added.
 */
import type { CaptureHealth } from '../capture/capture-monitor.js';
import type { PipelineStats } from '../pipeline/live-pipeline.js';
import type { ListeningState } from '../schedule/listening-controller.js';
import type { StoreHealth } from '../store/types.js';
import type { DrainStats } from '../sync/outbox-drain.js';

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
  /** Detection windows dropped because inference fell behind (the pipeline's windowsDropped). */
  droppedAudio?: number;
  queue?: { depth: number; byPriority: StoreHealth['outbox']['byPriority']; oldest?: string };
  lastSyncAt?: string;
  losses?: StoreHealth['losses'];
  sync?: Partial<DrainStats> & { connected: boolean; reconnects?: number };
  // What only the running agent knows (absent from a sample of the sync alone).
  device?: string;
  rssBytes?: number;
  capture?: CaptureHealth;
  clockSynced?: boolean;
  /** RMS level of the last second of input. */
  soundLevelDbfs?: number;
  pipeline?: PipelineStats;
  batteryVolts?: number;
  schedule?: ListeningState;
  [key: string]: unknown;
}
