import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { FileSource } from '../../agent/capture/file-source.js';
import { RecorderSource, recorderCommand } from '../../agent/capture/recorder-source.js';
import { bytesToMono, GapTracker, type AudioSink, type CaptureGap } from '../../agent/capture/source.js';
import { StdinSource } from '../../agent/capture/stdin-source.js';
import { silentLogger } from '../../agent/log.js';
import { validateConfig } from '../../config/load.js';
import { encodeWavInt16Mono } from '../../dsp/wav-encode.js';

function collector() {
  const got = { samples: 0, chunks: [] as Int16Array[], interrupted: [] as string[], gaps: [] as CaptureGap[] };
  const sink: AudioSink = { data: (s) => (got.samples += s.length, got.chunks.push(s)), interrupted: (r) => got.interrupted.push(r), gap: (g) => got.gaps.push(g) };
  return { got, sink };
}
const until = async (cond: () => boolean, ms = 8000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
};

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

describe('RecorderSource', () => {
  it('a recorder that is missing does not crash: it is an interruption, retried with backoff', async () => {
    const { got, sink } = collector();
    const r = new RecorderSource({ command: ['/no/such/arecord'], sampleRate: 16000, channels: 1, logger: silentLogger(), minBackoffMs: 50, maxBackoffMs: 100 });
    r.start(sink);
    await until(() => r.restarts >= 2);
    await r.stop();
    expect(got.interrupted).toHaveLength(1);
    expect(got.interrupted[0]).toMatch(/\/no\/such\/arecord.*ENOENT/);
  });
  it('a recorder that dies is restarted; the silence becomes a gap; stderr is kept in the reason', async () => {
    const { got, sink } = collector();
    const r = new RecorderSource({ command: `head -c 32000 /dev/zero; echo "device vanished" >&2; exit 1`, sampleRate: 16000, channels: 1, logger: silentLogger(), minBackoffMs: 100 });
    r.start(sink);
    await until(() => got.gaps.length >= 1);
    await r.stop();
    expect(got.samples).toBeGreaterThanOrEqual(32000);
    expect(got.interrupted[0]).toBe('recorder exited (code 1): device vanished');
    expect(got.gaps[0]!.samplesBefore).toBe(16000);
    expect(got.gaps[0]!.durationMs).toBeGreaterThanOrEqual(90);
  });
  it('stop() ends a running recorder', async () => {
    const { got, sink } = collector();
    const r = new RecorderSource({ command: ['sh', '-c', 'while true; do head -c 3200 /dev/zero; sleep 0.1; done'], sampleRate: 16000, channels: 1, logger: silentLogger() });
    r.start(sink);
    await until(() => got.samples > 0);
    await r.stop();
    expect(got.interrupted).toEqual([]);
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
    await until(() => f.ended);
    expect(once.got.samples).toBe(8000);
    expect(once.got.chunks[1]![0]).toBe(800 % 100);
    const looped = collector();
    const g = new FileSource({ file: wav, realtime: false, loop: true, logger: silentLogger() });
    await g.start(looped.sink);
    await until(() => looped.got.samples > 20000);
    await g.stop();
    expect(looped.got.interrupted).toEqual([]);
  });
  it('real-time replay is paced by the clock', async () => {
    const { got, sink } = collector();
    const f = new FileSource({ file: wav, realtime: true, loop: true, logger: silentLogger() });
    const t0 = Date.now();
    await f.start(sink);
    await new Promise((r) => setTimeout(r, 500));
    await f.stop();
    const expected = ((Date.now() - t0) / 1000) * 8000;
    expect(got.samples).toBeGreaterThan(expected * 0.6);
    expect(got.samples).toBeLessThan(expected * 1.3);
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
    await until(() => got.interrupted.length === 1);
    expect(Array.from(got.chunks.flatMap((c) => Array.from(c)))).toEqual([20, 60]);
  });
  it('stdin: start -> stop -> start (a schedule pause) delivers audio again; listeners do not pile up', async () => {
    const input = new PassThrough();
    const listeners = () => ({ data: input.listenerCount('data'), end: input.listenerCount('end'), error: input.listenerCount('error') });
    // Stopped: no data/end listener; one error listener stays so an error while paused is not thrown.
    const stopped = { data: 0, end: 0, error: 1 };
    const { got, sink } = collector();
    const s = new StdinSource(16000, 1, silentLogger(), input);
    const block = (v: number) => Buffer.from(Int16Array.from({ length: 4 }, () => v).buffer);
    s.start(sink);
    const running = listeners();
    expect(running).toEqual({ data: 1, end: 1, error: 1 });
    input.write(block(1));
    await until(() => got.samples === 4);
    for (let cycle = 2; cycle <= 4; cycle++) {
      await s.stop();
      expect(listeners()).toEqual(stopped);
      const paused = got.samples;
      input.write(block(100)); // while paused: not delivered now
      await new Promise((r) => setTimeout(r, 20));
      expect(got.samples).toBe(paused);
      expect(got.chunks.flatMap((c) => Array.from(c)).filter((v) => v !== 100)).toHaveLength(4 * (cycle - 1));
      s.start(sink);
      expect(listeners()).toEqual(running);
      input.write(block(cycle));
      // What the pipe held during the pause may come first; then the new audio.
      await until(() => got.chunks.some((c) => c.includes(cycle)), 2000);
    }
    await s.stop();
    expect(listeners()).toEqual(stopped);
    expect(got.interrupted).toEqual([]);
    expect(got.chunks.flatMap((c) => Array.from(c)).filter((v) => v !== 100)).toEqual([1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4]);
  });
  it('stdin: a frame split across a pause stays aligned; an error while paused is reported on the next start', async () => {
    const input = new PassThrough();
    const { got, sink } = collector();
    const s = new StdinSource(16000, 2, silentLogger(), input);
    const b = Buffer.alloc(8);
    [10, 30, 50, 70].forEach((v, i) => b.writeInt16LE(v, 2 * i));
    s.start(sink);
    input.write(b.subarray(0, 5));
    await until(() => got.samples === 1);
    await s.stop();
    s.start(sink);
    input.write(b.subarray(5));
    await until(() => got.samples === 2);
    expect(got.chunks.flatMap((c) => Array.from(c))).toEqual([20, 60]);
    await s.stop();
    input.emit('error', new Error('EIO'));
    s.start(sink);
    expect(got.interrupted).toEqual(['stdin: EIO']);
    await s.stop();
  });
});
