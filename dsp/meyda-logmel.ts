/**
 * The same log-mel as melspec.ts, but with meyda's FFT (`powerSpectrum`, one extract call per
 * frame) in place of ours: the yardstick the benchmark compares against, and an independent
 * cross-check of our FFT. Straightforward and allocation-heavy on purpose — not for production.
 */
import type { FrontendParams } from './frontend-params.js';
import { applyMelBank, kaldiMelBank } from './mel.js';
import type { MelSpectrogram } from './melspec.js';
import { meydaExtract } from './meyda.js';
import { hann } from './window.js';

export function meydaLogMel(samples: ArrayLike<number>, params: Readonly<FrontendParams>): MelSpectrogram {
  const { nFft, winLength, hop, nMels, preEmphasis, logOffset, sampleRate } = params;
  const { add, divide } = params.normalize;
  const pad = nFft / 2;
  const winOffset = (nFft - winLength) >> 1;
  const window = hann(winLength, params.window === 'hann-symmetric');
  const bank = kaldiMelBank({ nMels, nFft, sampleRate, fMin: params.fMin, fMax: params.fMax });

  const n = preEmphasis !== 0 ? Math.max(0, samples.length - 1) : samples.length;
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) y[i] = preEmphasis !== 0 ? samples[i + 1] - preEmphasis * samples[i] : samples[i];
  const nFrames = n > 0 ? 1 + Math.floor(n / hop) : 0;
  const reflect = (j: number): number => {
    if (n === 1) return 0;
    const period = 2 * (n - 1);
    let r = j % period;
    if (r < 0) r += period;
    return r >= n ? period - r : r;
  };

  const data = new Float32Array(nMels * nFrames);
  const frame = new Float32Array(nFft);
  const spectrum = new Float64Array(nFft / 2 + 1); // meyda stops below Nyquist, whose mel weight is 0
  const mel = new Float64Array(nMels);
  for (let t = 0; t < nFrames; t++) {
    const start = t * hop - pad + winOffset;
    for (let i = 0; i < winLength; i++) frame[winOffset + i] = y[reflect(start + i)] * window[i];
    // Windowing done above: meyda must not window again ('rect').
    const power = meydaExtract('powerSpectrum', frame, { sampleRate, windowingFunction: 'rect' }) as unknown as Float32Array;
    spectrum.set(power);
    applyMelBank(bank, spectrum, mel);
    for (let m = 0; m < nMels; m++) data[m * nFrames + t] = (Math.log(mel[m] + logOffset) + add) / divide;
  }
  return { data, nMels, nFrames };
}
