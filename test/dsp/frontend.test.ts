import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createStreamingFrontend } from '../../dsp/frontend.js';
import { MN04_FRONTEND } from '../../dsp/frontend-params.js';
import { createMelFrontend } from '../../dsp/melspec.js';
import { float32ToInt16, int16ToFloat32 } from '../../dsp/pcm.js';
import { resample } from '../../dsp/resample.js';
import { decodeWav } from '../../dsp/wav.js';
import { devCorpusDir } from '../helpers/paths.js';

describe('streaming front end (capture path)', () => {
  const wav = decodeWav(readFileSync(path.join(devCorpusDir, 'gunshot', 'ibmmax_gunshots.wav')));
  const x = int16ToFloat32(float32ToInt16(wav.mono.subarray(0, 44100 * 3)));

  for (const rate of [44100, 32000]) {
    it(`at ${rate / 1000} kHz: chunked samples equal resample(all), frames equal melspec(resample(all)), each frame after its samples`, () => {
      const model = rate === 32000 ? x : resample(x, rate, 32000);
      const want = createMelFrontend(MN04_FRONTEND).melspec(model);
      const fe = createStreamingFrontend(MN04_FRONTEND, rate);
      const frames: Float32Array[] = [];
      const samples: number[] = [];
      let framesBeforeTheirSamples = 0;
      const sink = {
        samples: (y: Float32Array) => void samples.push(...y),
        frame: (f: Float32Array, t: number) => {
          if (samples.length <= t * MN04_FRONTEND.hop) framesBeforeTheirSamples++;
          frames.push(f.slice());
        },
      };
      let seed = 5;
      for (let i = 0; i < x.length; ) {
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
        const n = seed % 5000; // 0 … 4999 samples, as capture delivers
        fe.push(x.subarray(i, i + n), sink);
        i += n;
      }
      fe.flush(sink);
      expect(framesBeforeTheirSamples).toBe(0);
      expect(Float32Array.from(samples)).toEqual(model);
      expect(frames.length).toBe(want.nFrames);
      let same = true;
      for (let t = 0; t < want.nFrames && same; t++) for (let m = 0; m < 128 && same; m++) same = Object.is(frames[t]![m], want.data[m * want.nFrames + t]);
      expect(same).toBe(true);
    });
  }

  it('is ready for a new recording after flush: the second gives the same frames as the first', () => {
    const fe = createStreamingFrontend(MN04_FRONTEND, 44100);
    const once = () => {
      const frames: Float32Array[] = [];
      const sink = { frame: (f: Float32Array) => void frames.push(f.slice()) };
      fe.push(x.subarray(0, 44100), sink);
      fe.flush(sink);
      return frames;
    };
    const first = once();
    expect(first.length).toBeGreaterThan(0);
    expect(once()).toEqual(first);
  });
});
