import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MN04_FRONTEND } from '../../dsp/frontend-params.js';
import { meydaLogMel } from '../../dsp/meyda-logmel.js';
import { createMelFrontend } from '../../dsp/melspec.js';
import { decodeWav } from '../../dsp/wav.js';
import { frontendFixturesDir } from '../helpers/paths.js';

describe('log-mel through meyda (benchmark yardstick)', () => {
  it('agrees with our FFT path on a real clip, edges included', () => {
    const wav = decodeWav(readFileSync(path.join(frontendFixturesDir, 'altaga_chainsaw_32k.wav')));
    const x = wav.mono.subarray(0, 64_111);
    const ours = createMelFrontend(MN04_FRONTEND).melspec(x);
    const theirs = meydaLogMel(x, MN04_FRONTEND);
    expect([theirs.nMels, theirs.nFrames]).toEqual([ours.nMels, ours.nFrames]);
    let d = 0;
    for (let i = 0; i < ours.data.length; i++) d = Math.max(d, Math.abs(ours.data[i] - theirs.data[i]));
    expect(d).toBeLessThan(1e-4);
  });
});
