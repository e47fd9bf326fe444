/**
 * The composition root of `earshot run`: builds every component from the configuration and
 * starts them in dependency order — store → detection → pipeline/event sink → health → sync →
 * audio source — and stops them in reverse: capture first, then the pipeline drains and open
 * events are closed (their alerts enqueued), clips written, a last health sample stored, the sync
 * publishes `offline` and disconnects, the model and the database are closed.
 *
 * Constructors only assign; nothing here throws into capture: a lost microphone is a gap, a full
 * disk or a broken database write is a logged loss, an absent broker is a backlog.
 */
import type { Config } from '../config/schema.js';
import { createSource } from './capture/create-source.js';
import type { AudioSink, AudioSource, CaptureGap } from './capture/source.js';
import { openDetection, type DetectionStack } from './detect/open-detection.js';
import { scoringHead } from './detect/scoring-head.js';
import { HealthCollector, type CaptureHealth } from './health/collector.js';
import type { Logger } from './log.js';
import { checkClockSynced } from './system/clock-sync.js';
import { FeatureActivityGate } from './pipeline/activity-gate.js';
import { EventSink } from './pipeline/event-sink.js';
import { LivePipeline, type ActivityGate } from './pipeline/live-pipeline.js';
import { createStorage, type StorageComponents } from './store/create-store.js';
import { LINK_STATE_KEY } from './sync/link-state.js';
import { SyncService } from './sync/sync-service.js';
import { readBattery } from './system/battery.js';
import { BatteryPolicy, inListeningWindow, listenMode, type ListenMode } from './schedule/scheduler.js';
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
  clockSynced?: () => boolean;
}

export const AGENT_STATE_KEY = 'agent.run';

function linkConnected(text: string | undefined): boolean {
  try {
    return text ? (JSON.parse(text) as { connected?: boolean }).connected === true : false;
  } catch {
    return false;
  }
}

export class Agent {
  private storage?: StorageComponents;
  private detection?: DetectionStack;
  pipeline?: LivePipeline;
  private sink?: EventSink;
  health?: HealthCollector;
  sync?: SyncService;
  private source?: AudioSource;
  private synced = false;
  private syncTimer?: NodeJS.Timeout;
  private readonly startedAtMs: number;
  private readonly log: Logger;
  readonly capture: CaptureHealth;
  private stopping?: Promise<void>;
  private audioSink?: AudioSink;
  private scheduleTimer?: NodeJS.Timeout;
  private battery?: BatteryPolicy;
  /** What the scheduler decided last. */
  mode: ListenMode = 'listening';
  private applying: Promise<void> = Promise.resolve();

  constructor(private readonly opts: AgentOptions) {
    this.startedAtMs = (opts.clock ?? Date.now)();
    this.log = opts.logger.child({ component: 'agent' });
    this.capture = { source: opts.config.audio.source, description: '', running: false, samples: 0, gaps: 0, gapMsTotal: 0 };
  }

  get store() {
    return this.storage?.store;
  }

  async start(): Promise<void> {
    const { config, logger } = this.opts;
    // 1. Storage.
    const storage = createStorage(config, { logger, ...(this.opts.clock ? { clock: this.opts.clock } : {}) });
    storage.store.open();
    this.storage = storage;
    await storage.clips.start();
    storage.retention.start();

    // 2. Detection.
    this.detection = this.opts.detection ?? (await openDetection(config, { mirror: this.opts.env.EARSHOT_MODEL_MIRROR, configFile: this.opts.configFile }));
    const detection = this.detection;
    const clockCheck = this.opts.clockSynced ?? checkClockSynced;
    this.synced = clockCheck();
    this.syncTimer = setInterval(() => (this.synced = clockCheck()), 600_000);
    this.syncTimer.unref();

    // 3. Source (not started yet: its rate sizes the pipeline; a file source learns it when decoding).
    const source = this.opts.source ?? createSource(config.audio, logger, () => (this.pipeline?.stats.queueDepth ?? 0) < 4);
    this.source = source;
    this.capture.description = source.description;

    // 4. Health and sync.
    this.health = new HealthCollector({
      config,
      store: storage.store,
      startedAtMs: this.startedAtMs,
      capture: () => ({ ...this.capture }),
      pipeline: () => this.pipeline?.stats,
      clockSynced: () => this.synced,
      extra: () => ({ schedule: { mode: this.mode, battery: this.battery?.mode ?? 'normal' } }),
      sync: () => (this.sync ? { connected: linkConnected(storage.store.getState(LINK_STATE_KEY)), ...this.sync.drainStats } : undefined),
      ...(this.opts.clock ? { clock: this.opts.clock } : {}),
      logger,
    });
    if (config.mqtt.enabled) {
      this.sync = new SyncService({
        config,
        configFile: this.opts.configFile,
        env: this.opts.env,
        store: storage.store,
        version: packageVersion(),
        startedAtMs: this.startedAtMs,
        healthProvider: this.health.sample,
        ...(this.opts.restart ? { restart: this.opts.restart } : {}),
        logger,
      });
      this.sync.start();
    }
    this.health.start();

    // 5. Capture → pipeline.
    const audioSink: AudioSink = {
      data: (samples) => {
        const p = this.pipeline ?? this.makePipeline(source.sampleRate, detection);
        this.capture.running = true;
        this.capture.samples += samples.length;
        p.push(samples);
        this.sink?.writeDueClips(false);
      },
      interrupted: (reason) => {
        this.capture.running = false;
        this.capture.interruptedSince = new Date().toISOString();
        this.capture.interruptedReason = reason;
        this.pipeline?.endSegment();
        this.sink?.writeDueClips(true);
      },
      gap: (gap: CaptureGap) => {
        this.capture.gaps++;
        this.capture.gapMsTotal += gap.durationMs;
        this.capture.lastGap = gap;
        delete this.capture.interruptedSince;
        delete this.capture.interruptedReason;
        this.health?.record();
      },
    };
    this.audioSink = audioSink;
    if (source.sampleRate > 0) this.makePipeline(source.sampleRate, detection);
    this.battery = new BatteryPolicy(config.schedule.lowBattery);
    this.mode = this.decideMode();
    if (this.mode !== 'capturePaused') await source.start(audioSink);
    else this.log.info('outside the listening windows or battery low: capture paused');
    this.scheduleTimer = setInterval(() => void this.applySchedule(), 30_000);
    this.scheduleTimer.unref();
    this.saveRunState('running');
    this.health.record();
    this.log.info({ source: source.kind, description: source.description, rate: source.sampleRate, mqtt: config.mqtt.enabled ? config.mqtt.url : false }, 'listening');
  }

  private decideMode(): ListenMode {
    const { config } = this.opts;
    const battery = config.health.battery.source === 'none' ? {} : readBattery(config.health.battery);
    return listenMode(inListeningWindow((this.opts.clock ?? Date.now)(), config), this.battery!.update(battery.percent));
  }

  /** Re-evaluates the schedule and the battery; starts or stops capture, pauses inference. */
  applySchedule(): Promise<void> {
    this.applying = this.applying.then(async () => {
      if (this.stopping || !this.source || !this.audioSink) return;
      const next = this.decideMode();
      if (next === this.mode) return;
      this.log.info({ from: this.mode, to: next }, 'schedule: listening mode changes');
      const wasPaused = this.mode === 'capturePaused';
      this.mode = next;
      try {
        if (next === 'capturePaused') {
          await this.source.stop();
          this.capture.running = false;
          this.pipeline?.endSegment();
        } else if (wasPaused) await this.source.start(this.audioSink);
      } catch (err) {
        this.log.error({ err: (err as Error).message }, 'schedule: could not change capture');
      }
      this.health?.record();
    });
    return this.applying;
  }

  private makePipeline(rate: number, detection: DetectionStack): LivePipeline {
    const { config, logger } = this.opts;
    const pipeline = new LivePipeline({
      inputRate: rate,
      frontend: detection.frontend,
      tagger: detection.tagger,
      ...(detection.voice ? { voice: detection.voice } : {}),
      ...(detection.head ? { head: detection.head } : {}),
      classMap: detection.classMap,
      windowSec: config.detection.windowSec,
      hopSec: config.detection.hopSec,
      gainDb: config.audio.gainDb,
      ringSec: Math.max(30, config.storage.clipPreSec + config.storage.clipPostSec + 60),
      gate: this.pausableGate(this.opts.gate ?? (config.detection.activityGate.enabled ? new FeatureActivityGate(config.detection.activityGate) : undefined)),
      onChange: (c) => this.sink?.onChange(c),
      ...(this.opts.clock ? { clock: this.opts.clock } : {}),
      logger,
    });
    this.pipeline = pipeline;
    this.sink = new EventSink({
      config,
      store: this.storage!.store,
      clips: this.storage!.clips,
      ring: pipeline.ring,
      modelRate: pipeline.modelRate,
      model: detection.modelRef,
      ...(detection.head ? { head: scoringHead(detection.head) } : {}),
      clockSynced: () => this.synced,
      kick: () => this.sync?.kick(),
      logger,
    });
    return pipeline;
  }

  /** The activity gate, closed for every window while the battery policy pauses inference. */
  private pausableGate(inner: ActivityGate | undefined): ActivityGate {
    return { active: (w, rate) => this.mode !== 'inferencePaused' && (inner ? inner.active(w, rate) : true) };
  }

  /** Orderly stop in reverse order; idempotent; each step bounded so the whole fits in ~4 s. */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    const step = async (name: string, fn: () => unknown, ms = 1500) => {
      let t: NodeJS.Timeout | undefined;
      try {
        await Promise.race([Promise.resolve().then(fn), new Promise((_, rej) => (t = setTimeout(() => rej(new Error(`timed out after ${ms} ms`)), ms)))]);
      } catch (err) {
        this.log.warn({ step: name, err: (err as Error).message }, 'shutdown step failed');
      } finally {
        clearTimeout(t);
      }
    };
    clearInterval(this.syncTimer);
    clearInterval(this.scheduleTimer);
    await step('capture', () => this.source?.stop(), 1200);
    this.pipeline?.endSegment();
    await step('pipeline', () => this.pipeline?.drain(), 1000);
    await step('clips', () => this.sink?.flush(), 800);
    this.health?.stop();
    this.health?.record();
    this.saveRunState('stopped');
    await step('sync', () => this.sync?.stop(), 2000);
    await step('detection', () => this.detection?.close(), 500);
    this.storage?.retention.stop();
    await step('store', () => this.storage?.store.close(), 500);
    this.log.info('stopped');
  }

  private saveRunState(state: 'running' | 'stopped'): void {
    try {
      this.storage?.store.setState(
        AGENT_STATE_KEY,
        JSON.stringify({ state, pid: process.pid, startedAt: new Date(this.startedAtMs).toISOString(), updatedAt: new Date().toISOString(), source: this.capture.source, description: this.capture.description, version: packageVersion() }),
      );
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'run state not saved');
    }
  }
}
