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
  const pcm = float32ToInt16(wav.mono.subarray(0, 44100 * 3));

  for (const [label, rate, input] of [
    ['int16 at 44.1 kHz', 44100, pcm],
    ['float at 44.1 kHz', 44100, int16ToFloat32(pcm)],
    ['int16 at 32 kHz (no resampling)', 32000, pcm],
  ] as const) {
    it(`${label}: chunked frames equal melspec(resample(all))`, () => {
      const x = int16ToFloat32(pcm);
      const want = createMelFrontend(MN04_FRONTEND).melspec(rate === 32000 ? x : resample(x, rate, 32000));
      const fe = createStreamingFrontend(MN04_FRONTEND, rate);
      const got: Float32Array[] = [];
      const sink = (f: Float32Array): void => void got.push(f.slice());
      let seed = 5;
      for (let i = 0; i < input.length; ) {
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
        const n = seed % 5000; // 0 … 4999 samples, as capture delivers
        fe.push(input.subarray(i, i + n), sink);
        i += n;
      }
      fe.flush(sink);
      expect(got.length).toBe(want.nFrames);
      let same = true;
      for (let t = 0; t < want.nFrames && same; t++) for (let m = 0; m < 128 && same; m++) same = Object.is(got[t][m], want.data[m * want.nFrames + t]);
      expect(same).toBe(true);
    });
  }
});
