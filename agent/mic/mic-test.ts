/**
 * `earshot mic test`: record a few seconds from the configured source (the same AudioSource
 * `run` uses, agent/capture/create-source.ts) through a level meter (dsp/level.ts), and keep the
 * audio when detection is to run on it.
 *
 * The point is to say plainly what `run` does not: a recorder that fails ("Unknown PCM
 * default", "Device or resource busy") is retried by the source for ever while `run` reports
 * "listening". Here the first failure ends the test with an UnavailableError (exit 69) carrying
 * the recorder's own words (the source puts its stderr in the interruption reason).
 */
import { createLevelMeter, type LevelMeter, type LevelSummary } from '../../dsp/level.js';
import type { AudioSource } from '../capture/source.js';
import { UnavailableError } from '../errors.js';
import { systemTimers, type Timers } from '../timers.js';

const COMPONENT = 'mic';

export interface MicTestOptions {
  source: AudioSource;
  seconds: number;
  /** Keep what was heard (for detection). */
  keepAudio?: boolean;
  /** After every block of audio: the meter (its latest block) and the seconds heard so far (a live display). */
  onAudio?: (meter: LevelMeter, heardSec: number) => void;
  /** Give up when the test has not ended this long after the expected duration (a recorder that starts but never delivers). Default 15 s. */
  graceMs?: number;
  timers?: Timers;
  /** Longest wait for the source to stop (a recorder started through a shell may leave its child behind). Default 3 s. */
  stopMs?: number;
}

export interface MicTestResult {
  sampleRate: number;
  heardSec: number;
  level: LevelSummary;
  /** What was heard, mono int16 at sampleRate (with keepAudio). */
  audio?: Int16Array;
  /** The source ended before the time was up (a replay file shorter than the test). */
  endedEarly?: string;
}

/**
 * Stops the source, waiting at most `ms`: the measurement is done and must be reported even when
 * a recorder run through /bin/sh leaves its child holding the pipe (dash does not exec the
 * command, so the stop signal reaches only the shell).
 */
async function stopWithin(source: AudioSource, timers: Timers, ms: number): Promise<void> {
  let t: unknown;
  await Promise.race([source.stop(), new Promise<void>((resolve) => (t = timers.setTimeout(resolve, ms)))]);
  timers.clearTimeout(t);
}

export async function recordMicTest(o: MicTestOptions): Promise<MicTestResult> {
  const timers = o.timers ?? systemTimers;
  const chunks: Int16Array[] = [];
  let meter: LevelMeter | undefined;
  let heard = 0;
  let want = Infinity;
  let finish!: (endedEarly?: string) => void;
  let fail!: (err: Error) => void;
  const done = new Promise<string | undefined>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  const describe = () => o.source.description;

  const sink = {
    data(samples: Int16Array) {
      if (heard >= want) return;
      // A file replay learns its rate in start(); the first block comes after that.
      meter ??= createLevelMeter({ sampleRate: o.source.sampleRate });
      want = Math.round(o.seconds * o.source.sampleRate);
      const take = samples.length > want - heard ? samples.subarray(0, want - heard) : samples;
      meter.push(take);
      if (o.keepAudio) chunks.push(take);
      heard += take.length;
      o.onAudio?.(meter, heard / o.source.sampleRate);
      if (heard >= want) finish();
    },
    interrupted(why: string) {
      if (heard >= want) return;
      // The recorder's stderr lines, on one line.
      const reason = why.split('\n').map((l) => l.trim()).filter(Boolean).join(' | ');
      // A replay that ends after some audio is a short test, not a broken microphone.
      if (heard > 0 && o.source.kind !== 'alsa') finish(reason);
      else fail(new UnavailableError(`no audio from ${describe()}${heard > 0 ? ` after ${(heard / o.source.sampleRate).toFixed(1)} s` : ''}: ${reason}; check the microphone (arecord -l), audio.device and audio.recorderCommand`, { component: COMPONENT, code: 'mic.no-audio' }));
    },
    gap() {},
  };

  const deadline = timers.setTimeout(
    () => fail(new UnavailableError(`no audio from ${describe()}: ${(heard / Math.max(1, o.source.sampleRate)).toFixed(1)} of ${o.seconds} s heard in time; check the microphone and audio.device`, { component: COMPONENT, code: 'mic.stalled' })),
    o.seconds * 1000 + (o.graceMs ?? 15_000),
  );
  let endedEarly: string | undefined;
  try {
    await o.source.start(sink);
    endedEarly = await done;
  } finally {
    timers.clearTimeout(deadline);
    await stopWithin(o.source, timers, o.stopMs ?? 3000);
  }
  const rate = o.source.sampleRate;
  const result: MicTestResult = { sampleRate: rate, heardSec: heard / rate, level: (meter ?? createLevelMeter({ sampleRate: rate })).summary() };
  if (o.keepAudio) {
    const audio = new Int16Array(heard);
    let at = 0;
    for (const c of chunks) {
      audio.set(c, at);
      at += c.length;
    }
    result.audio = audio;
  }
  if (endedEarly) result.endedEarly = endedEarly;
  return result;
}
