import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AudioSink, AudioSource } from '../../agent/capture/source.js';
import { UnavailableError } from '../../agent/errors.js';
import { applyGain, levelDbfs, recordSnippets, type CapturedSnippet, type RecordOptions } from '../../agent/record/record-snippets.js';
import { saveSnippet, snippetBaseName } from '../../agent/record/snippet-files.js';
import { snippetSchedule } from '../../agent/record/snippet-schedule.js';
import { decodeWav } from '../../dsp/wav.js';

const RATE = 1000;
const HOUR = 3_600_000;

/**
 * A stand-in microphone at 1 kHz: each run delivers a ramp (sample i of the run = i mod 30000) in
 * 100-sample blocks, one block per event-loop turn, and dies after `dieAfter` samples if given.
 */
class FakeMic implements AudioSource {
  readonly kind = 'alsa' as const;
  readonly sampleRate = RATE;
  readonly description = 'fake-arecord -D hw:9';
  private stopped = false;
  constructor(
    private readonly dieAfter: number | undefined,
    private readonly onStart: () => void,
  ) {}
  start(sink: AudioSink): void {
    this.onStart();
    let sent = 0;
    const tick = () => {
      if (this.stopped) return;
      if (this.dieAfter !== undefined && sent >= this.dieAfter) return sink.interrupted('recorder exited (code 1): device vanished');
      const n = this.dieAfter === undefined ? 100 : Math.min(100, this.dieAfter - sent);
      sink.data(Int16Array.from({ length: n }, (_, i) => (sent + i) % 30000));
      sent += n;
      setImmediate(tick);
    };
    setImmediate(tick);
  }
  async stop(): Promise<void> {
    this.stopped = true;
  }
}

/** A fake clock: sleeping moves it on at once. `runs[k]` says how the k-th start behaves (undefined: healthy). */
function rig(runs: (number | undefined)[] = [], overrides: Partial<RecordOptions> = {}) {
  let now = 1_000_000;
  const starts: number[] = [];
  let stops = 0;
  const kept: CapturedSnippet[] = [];
  const lost: { number: number; reason: string; next: number | undefined }[] = [];
  const opts = (schedule: RecordOptions['schedule']): RecordOptions => ({
    schedule,
    continuous: false,
    openSource: () => {
      const k = starts.length;
      const mic = new FakeMic(runs[k] === undefined ? undefined : runs[k], () => starts.push(now));
      const stop = mic.stop.bind(mic);
      mic.stop = async () => {
        stops++;
        await stop();
      };
      return mic;
    },
    save: (s) => {
      kept.push(s);
      return `/out/${s.number}.wav`;
    },
    report: { kept: () => undefined, lost: (number, reason, next) => lost.push({ number, reason, next }) },
    signal: new AbortController().signal,
    clock: () => now,
    wallClock: () => now,
    sleep: async (ms) => {
      now += ms;
    },
    ...overrides,
  });
  return { opts, starts, kept, lost, stops: () => stops, now: () => now, advance: (ms: number) => (now += ms) };
}

describe('recordSnippets', () => {
  it('starts the source at each slot, keeps the snippet after the settling time, stops it in between', async () => {
    const r = rig();
    const schedule = snippetSchedule({ totalMs: 6000, snippetMs: 2000, spanMs: HOUR, seed: 5, startMs: r.now() });
    const out = await recordSnippets(r.opts(schedule));
    expect(out).toMatchObject({ end: 'done', kept: 3, total: 3, losses: 0, keptMs: 6000, files: ['/out/1.wav', '/out/2.wav', '/out/3.wav'] });
    expect(r.starts).toEqual(schedule.snippets.map((p) => p.startMs));
    expect(r.stops()).toBe(3);
    for (const s of r.kept) {
      expect(s.samples.length).toBe(2000);
      expect(s.sampleRate).toBe(RATE);
      // 250 ms (250 samples) of start-up dropped; the ramp goes on from there.
      expect(Array.from(s.samples.subarray(0, 3))).toEqual([250, 251, 252]);
      expect(s.samples[1999]).toBe(2249);
    }
  });

  it('back-to-back (span 0): one start, contiguous snippets', async () => {
    const r = rig();
    const schedule = snippetSchedule({ totalMs: 6000, snippetMs: 2000, spanMs: 0, seed: 1, startMs: r.now() });
    const out = await recordSnippets(r.opts(schedule));
    expect(out.kept).toBe(3);
    expect(r.starts).toHaveLength(1);
    expect(r.kept.map((s) => s.samples[0])).toEqual([250, 2250, 4250]);
    // Times by sample count from the first block (100 samples, heard 100 ms before it arrived).
    expect(r.kept.map((s) => s.startMs - r.starts[0]!)).toEqual([150, 2150, 4150]);
  });

  it('a lost microphone is reported and the snippet retried at the next slot; extra slots follow the last', async () => {
    // Start 2 dies after 0.3 s of audio: snippet 2 is taken at slot 3, snippet 3 at an extra slot.
    const r = rig([undefined, 550]);
    const schedule = snippetSchedule({ totalMs: 6000, snippetMs: 2000, spanMs: HOUR, seed: 5, startMs: r.now() });
    const out = await recordSnippets(r.opts(schedule));
    expect(out).toMatchObject({ end: 'done', kept: 3, losses: 1 });
    expect(out.lastLoss).toBe('recorder exited (code 1): device vanished after 0.3 s of the snippet');
    expect(r.lost).toEqual([{ number: 2, reason: out.lastLoss, next: schedule.snippets[2]!.startMs }]);
    const p = schedule.snippets;
    expect(r.starts).toEqual([p[0]!.startMs, p[1]!.startMs, p[2]!.startMs, p[2]!.startMs + schedule.periodMs]);
    expect(r.kept.map((s) => s.number)).toEqual([1, 2, 3]);
  });

  it('when the first attempts all fail it gives up at once with exit 69, naming the recorder', async () => {
    const r = rig([0, 0, 0, 0]);
    const schedule = snippetSchedule({ totalMs: 60_000, snippetMs: 10_000, spanMs: 0, seed: 1, startMs: r.now() });
    const err = await recordSnippets(r.opts(schedule)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err as UnavailableError).exitCode).toBe(69);
    expect((err as Error).message).toMatch(/no audio from "fake-arecord -D hw:9": 3 attempts failed \(last: recorder exited \(code 1\): device vanished\)/);
    expect(r.starts).toHaveLength(3);
    expect(r.lost.map((l) => l.number)).toEqual([1, 1]);
  });

  it('with a schedule over hours, a dead microphone is found by the check at the start, not hours later', async () => {
    const r = rig([0, 0, 0]);
    const t0 = r.now();
    const schedule = snippetSchedule({ totalMs: 60_000, snippetMs: 10_000, spanMs: 24 * HOUR, seed: 1, startMs: t0 });
    await expect(recordSnippets({ ...r.opts(schedule), check: true })).rejects.toThrow(/3 attempts failed/);
    expect(r.now() - t0).toBeLessThan(10_000);
  });

  it('the check passes with a live microphone and reports its level', async () => {
    const r = rig();
    const checked: number[] = [];
    const schedule = snippetSchedule({ totalMs: 4000, snippetMs: 2000, spanMs: HOUR, seed: 2, startMs: r.now() + 60_000 });
    const out = await recordSnippets({ ...r.opts(schedule), check: true, report: { kept: () => undefined, lost: () => undefined, checked: (c) => checked.push(c.sampleRate) } });
    expect(checked).toEqual([RATE]);
    expect(out.kept).toBe(2);
    expect(r.starts).toHaveLength(3);
  });

  it('a microphone lost for good after the last slot: three failures in a row, then it stops with what it has', async () => {
    const r = rig([undefined, 0, 0, 0, 0, 0, 0, 0]);
    const schedule = snippetSchedule({ totalMs: 8000, snippetMs: 2000, spanMs: HOUR, seed: 5, startMs: r.now() });
    const out = await recordSnippets(r.opts(schedule));
    expect(out).toMatchObject({ end: 'gave-up', kept: 1, losses: 6 });
    // Slots 2..4, then three extra slots.
    expect(r.starts).toHaveLength(7);
    expect(r.lost.at(-1)!.next).toBeUndefined();
  });

  it('an abort while waiting stops at once and keeps what was written', async () => {
    const ac = new AbortController();
    const r = rig([], { signal: ac.signal });
    const schedule = snippetSchedule({ totalMs: 6000, snippetMs: 2000, spanMs: HOUR, seed: 5, startMs: r.now() });
    const out = await recordSnippets({
      ...r.opts(schedule),
      signal: ac.signal,
      report: { kept: (s) => s.number === 2 && ac.abort(), lost: () => undefined },
    });
    expect(out).toMatchObject({ end: 'stopped', kept: 2, total: 3 });
    expect(r.stops()).toBe(2);
  });

  it('an abort during a snippet drops the partial snippet and stops the source', async () => {
    const ac = new AbortController();
    const r = rig();
    const schedule = snippetSchedule({ totalMs: 6000, snippetMs: 2000, spanMs: 0, seed: 5, startMs: r.now() });
    const out = await recordSnippets({ ...r.opts(schedule), signal: ac.signal, report: { recording: (n) => n === 2 && setImmediate(() => ac.abort()), kept: () => undefined, lost: () => undefined } });
    expect(out).toMatchObject({ end: 'stopped', kept: 1 });
    expect(r.stops()).toBe(1);
  });

  it('a source that cannot restart (stdin) runs throughout; its end is final', async () => {
    const r = rig();
    let starts = 0;
    let sink: AudioSink | undefined;
    const stdin: AudioSource = {
      kind: 'stdin',
      sampleRate: RATE,
      description: 'stdin (raw s16le)',
      start: (s) => {
        starts++;
        sink = s;
        // 2.5 s of audio, then the end of the stream.
        setImmediate(() => {
          sink!.data(new Int16Array(2500).fill(1000));
          sink!.interrupted('stdin ended');
        });
      },
      stop: async () => undefined,
    };
    const schedule = snippetSchedule({ totalMs: 6000, snippetMs: 2000, spanMs: 0, seed: 5, startMs: r.now() });
    const out = await recordSnippets({ ...r.opts(schedule), continuous: true, openSource: () => stdin });
    expect(out).toMatchObject({ end: 'source-ended', kept: 1, losses: 1 });
    expect(starts).toBe(1);
    // No settling time for a stream that was never stopped.
    expect(r.kept[0]!.samples[0]).toBe(1000);
  });

  it('applies the configured gain with clipping, and measures the level', () => {
    const s = Int16Array.from([1000, -1000, 20000, -20000]);
    applyGain(s, 20 * Math.log10(2));
    expect(Array.from(s)).toEqual([2000, -2000, 32767, -32768]);
    expect(levelDbfs(new Int16Array(100))).toBe(-Infinity);
    expect(levelDbfs(new Int16Array(100).fill(16384))).toBeCloseTo(-6.02, 2);
  });
});

describe('snippet files', () => {
  it('named by the UTC start second; 16-bit WAV at the rate; an existing file is never overwritten', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'earshot-snip-'));
    try {
      const t = Date.UTC(2026, 10, 29, 7, 3, 5, 730);
      expect(snippetBaseName(t)).toBe('2026-11-29T07-03-05Z');
      fs.writeFileSync(path.join(dir, '2026-11-29T07-03-05Z.wav'), 'keep me');
      const a = saveSnippet(dir, t, Int16Array.from([1, -2, 3]), 16000);
      const b = saveSnippet(dir, t, Int16Array.from([4, 5]), 16000);
      expect(path.basename(a)).toBe('2026-11-29T07-03-05Z-1.wav');
      expect(path.basename(b)).toBe('2026-11-29T07-03-05Z-2.wav');
      expect(fs.readFileSync(path.join(dir, '2026-11-29T07-03-05Z.wav'), 'utf8')).toBe('keep me');
      const wav = decodeWav(fs.readFileSync(a));
      expect(wav.sampleRate).toBe(16000);
      expect(wav.channelData).toHaveLength(1);
      expect(Array.from(wav.channelData[0]!, (x) => Math.round(x * 32768))).toEqual([1, -2, 3]);
      // No temp files left behind.
      expect(fs.readdirSync(dir).sort()).toEqual(['2026-11-29T07-03-05Z-1.wav', '2026-11-29T07-03-05Z-2.wav', '2026-11-29T07-03-05Z.wav']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
