/**
 * Builds the storage components from the configuration, for the agent's composition root:
 * the SQLite store, the clip writer (which asks the store for an emergency prune when the disk
 * is full and counts lost clips there) and the periodic retention. Nothing is opened here:
 * the agent's StorageComponent (storage-component.ts) opens and closes them.
 */
import type { Config } from '../../config/schema.js';
import type { Logger } from '../log.js';
import { keepClipPolicy } from './clip-policy.js';
import { ClipWriter } from './clip-writer.js';
import { clipsDir, databasePath, storeLimitsFromConfig } from './limits.js';
import { Retention, type Scheduler } from './retention.js';
import { SqliteStore } from './sqlite-store.js';
import type { AlertTarget } from './types.js';
import { topicsFor } from '../sync/topics.js';

export interface StorageComponents {
  store: SqliteStore;
  clips: ClipWriter;
  retention: Retention;
  /** Where alerts go (`<prefix>/<device>/events`): events a crash left open are closed and queued there at start. */
  alertTarget: AlertTarget;
  logger: Logger;
}

export function createStorage(config: Config, deps: { logger: Logger; clock?: () => number; scheduler?: Scheduler }): StorageComponents {
  const { storage } = config;
  const store = new SqliteStore({ file: databasePath(storage), limits: storeLimitsFromConfig(storage), logger: deps.logger, clock: deps.clock });
  const clips = new ClipWriter({
    dir: clipsDir(storage),
    format: storage.clipFormat,
    keepClip: keepClipPolicy(config.detection.labels),
    logger: deps.logger,
    clock: deps.clock,
    onNoSpace: () => void store.prune('no-space'),
    losses: store,
  });
  const retention = new Retention({ store, logger: deps.logger, scheduler: deps.scheduler });
  const alertTarget = { topic: topicsFor(config.mqtt.topicPrefix, config.device.id).events };
  return { store, clips, retention, alertTarget, logger: deps.logger };
}
