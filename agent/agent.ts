/**
 * The composition root of `earshot run`: it builds the components from the configuration and
 * wires them, and does nothing else. They start in this order and stop in reverse
 * (agent/component.ts: rollback when one fails to start, each stop bounded in time):
 *
 *   data-folder lock → store → model → clock sync → sync (MQTT) → health → detection → capture → run state
 *
 * so on stop the run state says `stopped`, capture stops, the pipeline scores what is queued and
 * closes open events (their alerts enqueued) and the pending clips are written, a last health
 * sample is stored and published, the sync publishes `offline` and disconnects, the model and
 * the database are closed, and the data folder is released for the next agent.
 *
 * Audio flows source → capture monitor (counters) → live detection (pipeline, event recorder);
 * the listening controller starts and stops the source and pauses inference by the schedule.
 * Nothing here throws into capture: a lost microphone is a gap, a full disk or a broken database
 * write is a logged loss, an absent broker is a backlog.
 */
import type { Config } from '../config/schema.js';
import { CaptureMonitor } from './capture/capture-monitor.js';
import { createSource } from './capture/create-source.js';
import type { AudioSource } from './capture/source.js';
import { ComponentRunner, type Component } from './component.js';
import { DetectionModel } from './detect/detection-model.js';
import { openDetection, type DetectionStack } from './detect/open-detection.js';
import { sampleHealth } from './health/health-sampler.js';
import { HealthTicker } from './health/health-ticker.js';
import type { Logger } from './log.js';
import { FeatureActivityGate } from './pipeline/activity-gate.js';
import { LiveDetection } from './pipeline/live-detection.js';
import type { ActivityGate } from './pipeline/live-pipeline.js';
import { RunStateRecorder } from './run-state.js';
import { InferencePause } from './schedule/inference-pause.js';
import { ListeningController } from './schedule/listening-controller.js';
import { createStorage } from './store/create-store.js';
import { StorageComponent } from './store/storage-component.js';
import type { Store } from './store/types.js';
import { SyncService } from './sync/sync-service.js';
import { systemTimers, type Timers } from './timers.js';
import { readBattery } from './system/battery.js';
import { checkClockSynced } from './system/clock-sync.js';
import { DataLock } from './system/data-lock.js';
import { ClockSyncPoller } from './system/clock-sync-poller.js';
import { packageVersion } from './version.js';

export interface AgentOptions {
  config: Config;
  /** The configuration file (for `config/set` requests and SIGHUP reloads). */
  configFile: string;
  env: NodeJS.ProcessEnv;
  logger: Logger;
  /** Default: the configured source. */
  source?: AudioSource;
  /** Default: the installed model (openDetection). */
  detection?: DetectionStack;
  gate?: ActivityGate;
  /** Asked for by an MQTT `restart` request. */
  restart?: () => void;
  clock?: () => number;
  timers?: Timers;
  clockSynced?: () => boolean;
}

export class Agent {
  private readonly runner: ComponentRunner;
  private storeRef?: Store;

  constructor(private readonly opts: AgentOptions) {
    this.runner = new ComponentRunner({ logger: opts.logger.child({ component: 'agent' }), ...(opts.timers ? { timers: opts.timers } : {}) });
  }

  /** The agent's store (for tests and tools in the same process); undefined until it is open. */
  get store(): Store | undefined {
    return this.storeRef;
  }

  async start(): Promise<void> {
    await this.runner.start(this.build());
    this.opts.logger.info({ component: 'agent', mqtt: this.opts.config.mqtt.enabled ? this.opts.config.mqtt.url : false }, 'listening');
  }

  /** Orderly stop in reverse order; idempotent; the whole fits in ~4 s. */
  async stop(): Promise<void> {
    await this.runner.stop();
    this.opts.logger.info({ component: 'agent' }, 'stopped');
  }

  private build(): Component[] {
    const { config, logger, env } = this.opts;
    const clock = this.opts.clock ?? Date.now;
    const timers = this.opts.timers ?? systemTimers;
    const startedAtMs = clock();

    // First: a second agent on the same folder stops here, before it opens the database.
    const lock = new DataLock({ dataDir: config.storage.dataDir, logger, clock });
    const storage = createStorage(config, { logger, clock });
    const store = storage.store;
    // Handed out once open: the lock starts first, so the store opens a turn later than start() is called.
    const storageComponent = new StorageComponent(storage);
    const openStore: Component = {
      name: storageComponent.name,
      stopLimitMs: storageComponent.stopLimitMs,
      start: async () => {
        await storageComponent.start();
        this.storeRef = store;
      },
      stop: () => storageComponent.stop(),
    };
    const model = new DetectionModel(async () => this.opts.detection ?? openDetection(config, { mirror: env.EARSHOT_MODEL_MIRROR, configFile: this.opts.configFile }));
    const clockSync = new ClockSyncPoller(this.opts.clockSynced ?? checkClockSynced, timers);
    const sync: SyncService | undefined = config.mqtt.enabled
      ? new SyncService({
          config,
          configFile: this.opts.configFile,
          env,
          store,
          version: packageVersion(),
          startedAtMs,
          applyConfig: (next, keyPath): boolean => keyPath === 'health.intervalSec' && health.retime(next.health.intervalSec),
          ...(this.opts.restart ? { restart: this.opts.restart } : {}),
          clock,
          timers,
          logger,
        })
      : undefined;

    const inference = new InferencePause(this.opts.gate ?? (config.detection.activityGate.enabled ? new FeatureActivityGate(config.detection.activityGate) : undefined));
    const detection: LiveDetection = new LiveDetection({
      config,
      detection: () => model.stack,
      inputRate: (): number => source.sampleRate,
      store,
      clips: storage.clips,
      gate: inference,
      clockSynced: () => clockSync.synced,
      kick: () => sync?.kick(),
      clock,
      timers,
      logger,
    });
    // A file replayed as fast as possible waits while the inference queue is long: no drops.
    const source: AudioSource = this.opts.source ?? createSource(config.audio, logger, () => (detection.stats?.queueDepth ?? 0) < 4);
    const monitor = new CaptureMonitor({ source: config.audio.source, description: source.description, consumer: detection, clock, onGap: () => health.tick() });
    const listening = new ListeningController({
      config,
      source,
      sink: monitor,
      inference,
      battery: () => (config.health.battery.source === 'none' ? {} : readBattery(config.health.battery)),
      clock,
      timers,
      onChange: () => health.tick(),
      logger,
    });
    const health: HealthTicker = new HealthTicker({
      intervalSec: config.health.intervalSec,
      sample: () =>
        sampleHealth({
          config,
          store,
          startedAtMs,
          clock,
          capture: () => monitor.health(),
          pipeline: () => detection.stats,
          clockSynced: () => clockSync.synced,
          schedule: () => listening.state(),
          sync: () => sync && { connected: sync.link()?.connected ?? false, ...sync.drainStats },
        }),
      store,
      ...(sync ? { publish: (sample) => sync.publishHealth(sample) } : {}),
      timers,
      logger,
    });
    const runState = new RunStateRecorder(
      store,
      { pid: process.pid, startedAt: new Date(startedAtMs).toISOString(), source: config.audio.source, description: source.description, version: packageVersion() },
      clock,
      logger,
    );
    return [lock, openStore, model, clockSync, ...(sync ? [sync] : []), health, detection, listening, runState];
  }
}
