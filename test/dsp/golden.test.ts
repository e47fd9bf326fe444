/**
 * Golden test: the TypeScript front end against torch/torchaudio outputs for real clips
 * (../shared/fixtures/frontend). Every fixture present is checked.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MN04_FRONTEND } from '../../dsp/frontend-params.js';
import { createMelFrontend } from '../../dsp/melspec.js';
import { decodeWav } from '../../dsp/wav.js';
import { frontendFixturesDir } from '../helpers/paths.js';

interface FixtureMeta {
  wav: string;
  samples: number;
  mel: string;
  shape: [number, number];
}

const fixtures = readdirSync(frontendFixturesDir)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => JSON.parse(readFileSync(path.join(frontendFixturesDir, f), 'utf8')) as FixtureMeta);

export function readF32(file: string): Float32Array {
  const buf = readFileSync(file);
  const out = new Float32Array(buf.length / 4);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

const frontend = createMelFrontend(MN04_FRONTEND);

describe('mn04 log-mel matches the torch reference', () => {
  it('finds the fixtures', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(6);
  });

  for (const fx of fixtures) {
    it(fx.wav, () => {
      const wav = decodeWav(readFileSync(path.join(frontendFixturesDir, fx.wav)), { name: fx.wav });
      expect(wav.sampleRate).toBe(MN04_FRONTEND.sampleRate);
      expect(wav.frames).toBe(fx.samples);
      const ref = readF32(path.join(frontendFixturesDir, fx.mel));
      const mel = frontend.melspec(wav.mono);
      expect([mel.nMels, mel.nFrames]).toEqual(fx.shape);
      expect(frontend.frameCount(fx.samples)).toBe(fx.shape[1]);
      expect(mel.data.length).toBe(ref.length);
      let maxDiff = 0;
      let at = -1;
      for (let i = 0; i < ref.length; i++) {
        const d = Math.abs(mel.data[i] - ref[i]);
        if (!(d <= maxDiff)) {
          maxDiff = d;
          at = i;
        }
      }
      expect(maxDiff, `max |diff| ${maxDiff} at mel ${Math.floor(at / fx.shape[1])}, frame ${at % fx.shape[1]}`).toBeLessThanOrEqual(1e-3);
    });
  }
});
