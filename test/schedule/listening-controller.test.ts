/**
 * The listening controller with manual timers and clock, a fake source and a settable battery:
 * the mode is decided at start and re-evaluated every 30 s; a capture pause stops the source and
 * breaks the stream, resuming starts it again; an inference pause keeps capture running and skips
 * (and counts) every window the pipeline asks about.
 */
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../config/load.js';
import type { AudioSink, AudioSource } from '../../agent/capture/source.js';
import { InferencePause } from '../../agent/schedule/inference-pause.js';
import { ListeningController, SCHEDULE_INTERVAL_MS, type ListeningState } from '../../agent/schedule/listening-controller.js';
import { silentLogger } from '../../agent/silent-logger.js';
import { ManualTimers } from '../helpers/manual-timers.js';

class FakeSource implements AudioSource {
  readonly kind = 'stdin' as const;
  readonly sampleRate = 16000;
  readonly description = 'fake';
  starts = 0;
  stops = 0;
  start(): void {
    this.starts++;
  }
  async stop(): Promise<void> {
    this.stops++;
  }
}

const NOON = Date.UTC(2026, 2, 1, 12);
const window = new Float32Array(16000);

function setup(opts: { battery?: number; windows?: { from: string; to: string }[] } = {}) {
  const config = validateConfig({ device: { id: 'sched', timezone: 'UTC' }, schedule: opts.windows ? { mode: 'windows', windows: opts.windows } : {} }, 'test');
  const timers = new ManualTimers();
  timers.now = NOON;
  const source = new FakeSource();
  const breaks: string[] = [];
  const sink: AudioSink = { data: () => undefined, interrupted: (reason) => breaks.push(reason), gap: () => undefined };
  const inner = { calls: 0, active: () => (inner.calls++, true) };
  const inference = new InferencePause(inner);
  const battery = { percent: opts.battery };
  const changes: ListeningState[] = [];
  const controller = new ListeningController({
    config,
    source,
    sink,
    inference,
    battery: () => (battery.percent === undefined ? {} : { percent: battery.percent }),
    clock: timers.clock,
    timers,
    onChange: (s) => changes.push(s),
    logger: silentLogger(),
  });
  /** Moves time on by one schedule interval and waits for the re-evaluation to finish. */
  const tick = async () => {
    timers.advance(SCHEDULE_INTERVAL_MS);
    await controller.apply();
  };
  return { controller, source, breaks, inference, inner, battery, changes, timers, tick };
}

describe('ListeningController', () => {
  it('a low battery pauses capture (source stopped, stream broken) and a recharged one resumes it', async () => {
    const s = setup({ battery: 80 });
    await s.controller.start();
    expect(s.source.starts).toBe(1);
    expect(s.controller.state()).toMatchObject({ mode: 'listening', battery: 'normal' });

    s.battery.percent = 5;
    await s.tick();
    expect(s.controller.state()).toMatchObject({ mode: 'capturePaused', battery: 'capturePaused' });
    expect(s.source.stops).toBe(1);
    expect(s.breaks).toEqual(['capture paused by the schedule']);

    await s.tick(); // nothing changed: nothing done
    expect([s.source.starts, s.source.stops]).toEqual([1, 1]);

    s.battery.percent = 30; // past both thresholds and their hysteresis
    await s.tick();
    expect(s.controller.state().mode).toBe('listening');
    expect(s.source.starts).toBe(2);
    expect(s.changes.map((c) => c.mode)).toEqual(['capturePaused', 'listening']);

    await s.controller.stop();
    expect(s.source.stops).toBe(2);
    expect(s.timers.pending).toEqual([]);
  });

  it('outside the listening windows capture does not start; it starts when a window opens', async () => {
    const s = setup({ windows: [{ from: '12:10', to: '13:00' }] });
    await s.controller.start();
    expect(s.source.starts).toBe(0);
    expect(s.controller.state().mode).toBe('capturePaused');
    for (let i = 0; i < 20; i++) await s.tick(); // 10 minutes
    expect(s.source.starts).toBe(1);
    expect(s.controller.state().mode).toBe('listening');
    await s.controller.stop();
    expect(s.source.stops).toBe(1);
  });

  it('an inference pause keeps capture running and skips every window, counted; it lifts past the hysteresis', async () => {
    const s = setup({ battery: 80 });
    await s.controller.start();
    expect(s.inference.active(window, 16000)).toBe(true);
    expect(s.inner.calls).toBe(1);

    s.battery.percent = 15;
    await s.tick();
    expect(s.controller.state().mode).toBe('inferencePaused');
    expect([s.inference.active(window, 16000), s.inference.active(window, 16000)]).toEqual([false, false]);
    expect(s.inner.calls).toBe(1); // the inner gate is not even asked
    expect(s.controller.state().windowsPaused).toBe(2);
    expect([s.source.starts, s.source.stops]).toEqual([1, 0]);

    s.battery.percent = 22; // above 20 but below 20 + 5: still paused
    await s.tick();
    expect(s.inference.active(window, 16000)).toBe(false);
    s.battery.percent = 26;
    await s.tick();
    expect(s.inference.active(window, 16000)).toBe(true);
    expect(s.controller.state()).toMatchObject({ mode: 'listening', windowsPaused: 3 });
    await s.controller.stop();
  });
});
