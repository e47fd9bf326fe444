import fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { FileSource } from '../../agent/capture/file-source.js';
import { RecorderSource, recorderCommand } from '../../agent/capture/recorder-source.js';
import { bytesToMono, GapTracker, type AudioSink, type CaptureGap } from '../../agent/capture/source.js';
import { StdinSource } from '../../agent/capture/stdin-source.js';
import { silentLogger } from '../../agent/silent-logger.js';
import { validateConfig } from '../../config/load.js';
import { encodeWavInt16Mono } from '../../dsp/wav-encode.js';
import { ManualTimers } from '../helpers/manual-timers.js';
import { waitFor } from '../helpers/wait-for.js';

function collector() {
  const got = { samples: 0, chunks: [] as Int16Array[], interrupted: [] as string[], gaps: [] as CaptureGap[] };
  const sink: AudioSink = { data: (s) => (got.samples += s.length, got.chunks.push(s)), interrupted: (r) => got.interrupted.push(r), gap: (g) => got.gaps.push(g) };
  return { got, sink };
}

describe('PCM helpers', () => {
  it('mixes interleaved s16le to mono and keeps the odd bytes for the next chunk', () => {
    const b = Buffer.alloc(10);
    [100, 300, -200, -400].forEach((v, i) => b.writeInt16LE(v, 2 * i));
    const { samples, rest } = bytesToMono(b, 2);
    expect(Array.from(samples)).toEqual([200, -300]);
    expect(rest.length).toBe(2);
  });
  it('a gap runs from the stop to the next audio, with sample counts', () => {
    let now = 1000;
    const g = new GapTracker(16000, () => now);
    g.delivered(1600);
    expect(g.stopped('gone')).toBe(true);
    expect(g.stopped('again')).toBe(false);
    now += 2500;
    const gap = g.delivered(160)!;
    expect(gap).toMatchObject({ durationMs: 2500, samplesBefore: 1600, missingSamples: 40000, reason: 'gone' });
    expect(g.delivered(160)).toBeUndefined();
  });
  it('the recorder command line from the configuration', () => {
    const a = validateConfig({ audio: { device: 'plughw:1,0', sampleRate: 48000, channels: 2 } }, 't').audio;
    expect(recorderCommand(a)).toEqual(['arecord', '-q', '-D', 'plughw:1,0', '-f', 'S16_LE', '-t', 'raw', '-c', '2', '-r', '48000']);
    expect((recorderCommand({ ...a, recorder: 'sox' }) as string[]).slice(0, 5)).toEqual(['sox', '-q', '-t', 'alsa', 'plughw:1,0']);
    expect(recorderCommand({ ...a, recorderCommand: 'my-recorder --raw' })).toBe('my-recorder --raw');
  });
});

describe('RecorderSource (real child processes; its restart backoff on manual timers)', () => {
  it('a recorder that is missing does not crash: it is one interruption, retried with doubling backoff up to the cap', async () => {
    const { got, sink } = collector();
    const timers = new ManualTimers();
    const stallMs = 60_000;
    const r = new RecorderSource({ command: ['/no/such/arecord'], sampleRate: 16000, channels: 1, logger: silentLogger(), timers, clock: timers.clock, minBackoffMs: 50, maxBackoffMs: 120, stallMs });
    r.start(sink);
    const waits: number[] = [];
    for (let restart = 1; restart <= 3; restart++) {
      // Until the spawn fails, the one timer is the stall watch; then it is the restart.
      await waitFor(() => timers.pending.length === 1 && timers.pending[0] !== stallMs, 5000, `the spawn failure before restart ${restart}`);
      waits.push(timers.runNext());
      expect(r.restarts).toBe(restart);
    }
    await r.stop();
    expect(waits).toEqual([50, 100, 120]);
    expect(timers.pending).toEqual([]);
    expect(got.interrupted).toHaveLength(1);
    expect(got.interrupted[0]).toMatch(/\/no\/such\/arecord.*ENOENT/);
  });
  it('a recorder that dies is restarted after the backoff; the silence becomes a gap; stderr is kept in the reason', async () => {
    const { got, sink } = collector();
    const timers = new ManualTimers();
    const r = new RecorderSource({ command: `head -c 32000 /dev/zero; echo "device vanished" >&2; exit 1`, sampleRate: 16000, channels: 1, logger: silentLogger(), timers, clock: timers.clock, minBackoffMs: 100 });
    r.start(sink);
    await waitFor(() => got.interrupted.length === 1, 5000, 'the recorder to exit');
    expect(got.interrupted[0]).toBe('recorder exited (code 1): device vanished');
    expect(got.samples).toBe(16000);
    expect(r.restarts).toBe(0);
    timers.advance(100);
    expect(r.restarts).toBe(1);
    await waitFor(() => got.gaps.length === 1, 5000, 'audio from the restarted recorder');
    await r.stop();
    expect(got.gaps[0]).toMatchObject({ durationMs: 100, samplesBefore: 16000, missingSamples: 1600, reason: 'recorder exited (code 1): device vanished' });
  });
  it('a recorder that stalls (no data for stallMs) is killed and restarted', async () => {
    const { got, sink } = collector();
    const timers = new ManualTimers();
    const r = new RecorderSource({ command: ['sh', '-c', 'head -c 3200 /dev/zero; exec sleep 60'], sampleRate: 16000, channels: 1, logger: silentLogger(), timers, clock: timers.clock, minBackoffMs: 100, stallMs: 5000 });
    r.start(sink);
    await waitFor(() => got.samples === 1600, 5000, 'the first block');
    timers.advance(5000);
    await waitFor(() => got.interrupted.length === 1, 5000, 'the stalled recorder to be killed');
    expect(got.interrupted[0]).toBe('recorder exited (SIGKILL)');
    timers.advance(100);
    await waitFor(() => got.gaps.length === 1, 5000, 'audio from the restarted recorder');
    await r.stop();
    expect(r.restarts).toBe(1);
  });
  it('stop() ends a running recorder, and is not a failure', async () => {
    const { got, sink } = collector();
    const r = new RecorderSource({ command: ['sh', '-c', 'while true; do head -c 3200 /dev/zero; sleep 0.1; done'], sampleRate: 16000, channels: 1, logger: silentLogger() });
    r.start(sink);
    await waitFor(() => got.samples > 0, 5000, 'audio');
    await r.stop();
    expect(got.interrupted).toEqual([]);
  });

  it('stop() also ends what a shell command started (dash does not exec it): no process left holding the pipe', async () => {
    const { got, sink } = collector();
    const marker = `earshot-recorder-${process.pid}-${Date.now()}`;
    // The loop runs in a subshell the shell waits for, as `arecord ... | sox ...` pipelines do.
    const r = new RecorderSource({ command: `(while true; do head -c 3200 /dev/zero; sleep 0.1; done; echo ${marker}) ; true`, sampleRate: 16000, channels: 1, logger: silentLogger() });
    r.start(sink);
    await waitFor(() => got.samples > 0, 5000, 'audio');
    const stopped = await Promise.race([r.stop().then(() => true), new Promise<boolean>((res) => setTimeout(() => res(false), 4000))]);
    expect(stopped).toBe(true);
    const left = spawnSync('pgrep', ['-f', marker], { encoding: 'utf8' }).stdout.trim();
    expect(left).toBe('');
  });
});

describe('FileSource and StdinSource', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'earshot-src-'));
  const wav = path.join(dir, 'a.wav');
  fs.writeFileSync(wav, encodeWavInt16Mono(Int16Array.from({ length: 8000 }, (_, i) => i % 100), 8000));

  it('replays as fast as allowed, then reports the end; with loop it goes on', async () => {
    const once = collector();
    const f = new FileSource({ file: wav, realtime: false, loop: false, logger: silentLogger() });
    await f.start(once.sink);
    await waitFor(() => f.ended, 5000, 'the end of the replay');
    expect(once.got.samples).toBe(8000);
    expect(once.got.chunks[1]![0]).toBe(800 % 100);
    expect(once.got.interrupted).toEqual(['end of replay file']);
    const looped = collector();
    const g = new FileSource({ file: wav, realtime: false, loop: true, logger: silentLogger() });
    await g.start(looped.sink);
    await waitFor(() => looped.got.samples > 20000, 5000, 'the replay to loop');
    await g.stop();
    expect(looped.got.interrupted).toEqual([]);
  });
  it('as fast as allowed waits while the pipeline is not ready, without dropping audio', async () => {
    const { got, sink } = collector();
    const timers = new ManualTimers();
    let ready = false;
    const f = new FileSource({ file: wav, realtime: false, loop: false, logger: silentLogger(), timers, ready: () => ready });
    await f.start(sink);
    timers.advance(50);
    expect(got.samples).toBe(0);
    ready = true;
    timers.advance(5);
    await waitFor(() => f.ended, 5000, 'the end of the replay');
    expect(got.samples).toBe(8000);
  });
  it('real-time replay delivers what the clock says is due, catching up after a stall', async () => {
    const { got, sink } = collector();
    const timers = new ManualTimers();
    const f = new FileSource({ file: wav, realtime: true, loop: true, logger: silentLogger(), timers, clock: timers.clock });
    await f.start(sink);
    expect(got.samples).toBe(0);
    for (let i = 0; i < 5; i++) timers.advance(100);
    expect(got.samples).toBe(4000);
    // The event loop was blocked for 1.5 s: the next tick delivers all of it, in 100 ms blocks.
    timers.now += 1500;
    timers.advance(100);
    expect(got.samples).toBe(4000 + 16 * 800);
    expect(got.chunks.every((c) => c.length === 800)).toBe(true);
    await f.stop();
    timers.advance(1000);
    expect(got.samples).toBe(4000 + 16 * 800);
  });
  it('stdin: raw s16le mixed to mono; its end is an interruption', async () => {
    const input = new PassThrough();
    const { got, sink } = collector();
    const s = new StdinSource(16000, 2, silentLogger(), input);
    s.start(sink);
    const b = Buffer.alloc(8);
    [10, 30, 50, 70].forEach((v, i) => b.writeInt16LE(v, 2 * i));
    input.write(b.subarray(0, 3));
    input.write(b.subarray(3));
    input.end();
    await waitFor(() => got.interrupted.length === 1, 5000, 'the end of stdin');
    expect(got.interrupted).toEqual(['stdin ended']);
    expect(Array.from(got.chunks.flatMap((c) => Array.from(c)))).toEqual([20, 60]);
  });
  it('stdin: stopped, it keeps only its error listener (no data/end listeners pile up across pauses)', async () => {
    const input = new PassThrough();
    const listeners = () => ({ data: input.listenerCount('data'), end: input.listenerCount('end'), error: input.listenerCount('error') });
    const s = new StdinSource(16000, 1, silentLogger(), input);
    for (let cycle = 0; cycle < 3; cycle++) {
      s.start(collector().sink);
      expect(listeners()).toEqual({ data: 1, end: 1, error: 1 });
      await s.stop();
      expect(listeners()).toEqual({ data: 0, end: 0, error: 1 });
    }
  });
  it('stdin: a frame split across a pause stays aligned; an error while paused is reported on the next start', async () => {
    const input = new PassThrough();
    const { got, sink } = collector();
    const s = new StdinSource(16000, 2, silentLogger(), input);
    const b = Buffer.alloc(8);
    [10, 30, 50, 70].forEach((v, i) => b.writeInt16LE(v, 2 * i));
    s.start(sink);
    input.write(b.subarray(0, 5));
    await waitFor(() => got.samples === 1, 5000, 'the first frame');
    await s.stop();
    s.start(sink);
    input.write(b.subarray(5));
    await waitFor(() => got.samples === 2, 5000, 'the split frame');
    expect(got.chunks.flatMap((c) => Array.from(c))).toEqual([20, 60]);
    await s.stop();
    input.emit('error', new Error('EIO'));
    s.start(sink);
    expect(got.interrupted).toEqual(['stdin: EIO']);
    await s.stop();
  });
});
