/**
 * Applies the schedule: the listening windows and the low-battery policy (scheduler.ts) give the
 * listening mode, re-evaluated at start and every 30 s:
 *   - listening: the source runs and every window is scored;
 *   - inferencePaused: the source runs (levels, gaps, clips of nothing) but windows are skipped;
 *   - capturePaused: the source is stopped, and started again when the mode allows it.
 * It is the capture component of the agent: its stop() stops the source.
 */
import type { Config } from '../../config/schema.js';
import type { AudioSink, AudioSource } from '../capture/source.js';
import type { Component } from '../component.js';
import type { Logger } from '../log.js';
import type { TimerHandle, Timers } from '../timers.js';
import type { BatteryReading } from '../system/battery.js';
import type { InferencePause } from './inference-pause.js';
import { BatteryPolicy, inListeningWindow, listenMode, type BatteryMode, type ListenMode } from './scheduler.js';

export const SCHEDULE_INTERVAL_MS = 30_000;

/** What health reports about the schedule. */
export interface ListeningState {
  mode: ListenMode;
  battery: BatteryMode;
  /** Windows skipped while inference was paused. */
  windowsPaused: number;
}

export interface ListeningControllerOptions {
  config: Pick<Config, 'device' | 'schedule'>;
  source: AudioSource;
  /** Where the source delivers; told of the break when capture pauses. */
  sink: AudioSink;
  inference: InferencePause;
  /** The battery level now ({} when unknown). */
  battery: () => BatteryReading;
  clock: () => number;
  timers: Timers;
  /** The mode changed (health samples at once). */
  onChange?: (state: ListeningState) => void;
  logger: Logger;
}

export class ListeningController implements Component {
  readonly name = 'capture';
  readonly stopLimitMs = 1200;
  private battery?: BatteryPolicy;
  private mode: ListenMode = 'listening';
  private capturing = false;
  private timer?: TimerHandle;
  private applying: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly opts: ListeningControllerOptions) {}

  state(): ListeningState {
    return { mode: this.mode, battery: this.battery?.mode ?? 'normal', windowsPaused: this.opts.inference.windowsPaused };
  }

  async start(): Promise<void> {
    this.battery = new BatteryPolicy(this.opts.config.schedule.lowBattery);
    this.mode = this.decide();
    this.opts.inference.paused = this.mode === 'inferencePaused';
    if (this.mode === 'capturePaused') this.opts.logger.info({ component: this.name }, 'outside the listening windows or battery low: capture paused');
    else await this.startSource();
    this.timer = this.opts.timers.setInterval(() => void this.apply(), SCHEDULE_INTERVAL_MS);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.opts.timers.clearInterval(this.timer);
    await this.applying;
    if (this.capturing) await this.stopSource('agent stopped');
  }

  /** Re-evaluates the schedule and the battery now; serialised with the timer's runs. */
  apply(): Promise<void> {
    this.applying = this.applying.then(() => this.applyOnce());
    return this.applying;
  }

  private async applyOnce(): Promise<void> {
    if (this.stopped) return;
    const next = this.decide();
    if (next === this.mode) return;
    this.opts.logger.info({ component: this.name, from: this.mode, to: next }, 'schedule: listening mode changes');
    this.mode = next;
    this.opts.inference.paused = next === 'inferencePaused';
    try {
      if (next === 'capturePaused') await this.stopSource('capture paused by the schedule');
      else if (!this.capturing) await this.startSource();
    } catch (err) {
      this.opts.logger.error({ component: this.name, err: (err as Error).message }, 'schedule: could not change capture');
    }
    this.opts.onChange?.(this.state());
  }

  private decide(): ListenMode {
    return listenMode(inListeningWindow(this.opts.clock(), this.opts.config), this.battery!.update(this.opts.battery().percent));
  }

  private async startSource(): Promise<void> {
    const source = this.opts.source;
    await source.start(this.opts.sink);
    this.capturing = true;
    this.opts.logger.info({ component: this.name, source: source.kind, description: source.description, rate: source.sampleRate }, 'capture started');
  }

  private async stopSource(reason: string): Promise<void> {
    this.capturing = false;
    await this.opts.source.stop();
    this.opts.sink.interrupted(reason);
  }
}
