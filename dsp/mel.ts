/**
 * Kaldi-style mel filter bank, as torchaudio.compliance.kaldi.get_mel_banks builds it:
 * mel(f) = 1127 ln(1 + f/700); nMels triangles equally spaced in mel between fMin and fMax;
 * each FFT bin k (of nFft/2, bin width sampleRate/nFft) weighted by the triangle evaluated in
 * the mel domain at mel(k·width). The Nyquist bin gets weight 0 (EfficientAT pads a zero
 * column), so filters only ever touch bins 0..nFft/2-1.
 *
 * Stored sparsely: filter m covers bins [start[m], start[m] + length[m]) with its weights at
 * weights[offset[m] ...]. Typical triangles span a few to a few dozen bins of 513.
 */

export function kaldiMel(f: number): number {
  return 1127 * Math.log(1 + f / 700);
}

export interface MelBank {
  readonly nMels: number;
  /** Spectrum length the bank applies to (nFft/2 + 1). */
  readonly nBins: number;
  readonly start: Int32Array;
  readonly length: Int32Array;
  readonly offset: Int32Array;
  readonly weights: Float64Array;
}

export interface MelBankSpec {
  nMels: number;
  nFft: number;
  sampleRate: number;
  fMin: number;
  fMax: number;
}

export function kaldiMelBank(spec: MelBankSpec): MelBank {
  const { nMels, nFft, sampleRate, fMin } = spec;
  // Kaldi's convention: fMax ≤ 0 means "Nyquist + fMax".
  const fMax = spec.fMax <= 0 ? spec.fMax + sampleRate / 2 : spec.fMax;
  const numFftBins = nFft / 2;
  const binWidth = sampleRate / nFft;
  const melLow = kaldiMel(fMin);
  const melHigh = kaldiMel(fMax);
  const delta = (melHigh - melLow) / (nMels + 1);

  const start = new Int32Array(nMels);
  const length = new Int32Array(nMels);
  const offset = new Int32Array(nMels);
  const dense: number[] = [];
  const binMel = new Float64Array(numFftBins);
  for (let k = 0; k < numFftBins; k++) binMel[k] = kaldiMel(binWidth * k);

  for (let m = 0; m < nMels; m++) {
    const left = melLow + m * delta;
    const center = melLow + (m + 1) * delta;
    const right = melLow + (m + 2) * delta;
    let first = -1;
    let last = -1;
    const w: number[] = [];
    for (let k = 0; k < numFftBins; k++) {
      const up = (binMel[k] - left) / (center - left);
      const down = (right - binMel[k]) / (right - center);
      const v = Math.max(0, Math.min(up, down));
      if (v > 0) {
        if (first < 0) first = k;
        // Keep interior zeros (none occur for a triangle, but stay exact if they did).
        while (w.length < k - first) w.push(0);
        w.push(v);
        last = k;
      }
    }
    start[m] = first < 0 ? 0 : first;
    length[m] = first < 0 ? 0 : last - first + 1;
    offset[m] = dense.length;
    for (const v of w) dense.push(v);
  }
  return { nMels, nBins: numFftBins + 1, start, length, offset, weights: Float64Array.from(dense) };
}

/** mel[m] = Σ_k bank[m][k]·spectrum[k]. */
export function applyMelBank(bank: MelBank, spectrum: ArrayLike<number>, out: Float64Array | Float32Array): void {
  const { start, length, offset, weights, nMels } = bank;
  for (let m = 0; m < nMels; m++) {
    const s = start[m];
    const o = offset[m] - s;
    const e = s + length[m];
    let acc = 0;
    for (let k = s; k < e; k++) acc += weights[o + k] * spectrum[k];
    out[m] = acc;
  }
}

/** The bank as a dense [nMels][nBins] matrix (tests, export). */
export function denseMelBank(bank: MelBank): Float64Array {
  const out = new Float64Array(bank.nMels * bank.nBins);
  for (let m = 0; m < bank.nMels; m++) {
    for (let i = 0; i < bank.length[m]; i++) out[m * bank.nBins + bank.start[m] + i] = bank.weights[bank.offset[m] + i];
  }
  return out;
}

/**
 * The same Kaldi bank in "segment" form for the hot path. Between two consecutive filter
 * centres c_s and c_{s+1} every bin belongs to exactly two triangles — the down slope of
 * filter s and the up slope of filter s+1 — and the two weights sum to 1 (u and 1-u, with
 * u = (mel(f) - c_s)/(c_{s+1} - c_s)). So one multiply per bin serves both filters.
 * Segment s (s = -1 .. nMels-1, with c_{-1} = mel(fMin), c_{nMels} = mel(fMax)) covers bins
 * [segStart[s+1], segStart[s+2]).
 */
export interface MelSegments {
  readonly nMels: number;
  readonly segStart: Int32Array;
  readonly up: Float64Array;
}

export function kaldiMelSegments(spec: MelBankSpec): MelSegments {
  const { nMels, nFft, sampleRate, fMin } = spec;
  const fMax = spec.fMax <= 0 ? spec.fMax + sampleRate / 2 : spec.fMax;
  const numFftBins = nFft / 2;
  const binWidth = sampleRate / nFft;
  const melLow = kaldiMel(fMin);
  const melHigh = kaldiMel(fMax);
  const delta = (melHigh - melLow) / (nMels + 1);
  const centre = (s: number): number => melLow + (s + 1) * delta; // c_s; c_{-1} = melLow
  const segStart = new Int32Array(nMels + 2);
  const up = new Float64Array(numFftBins);
  let k = 0;
  while (k < numFftBins && kaldiMel(binWidth * k) <= melLow) k++; // weight 0 at the low edge
  for (let s = -1; s < nMels; s++) {
    segStart[s + 1] = k;
    const lo = centre(s);
    const hi = s + 1 === nMels ? melHigh : centre(s + 1);
    for (; k < numFftBins; k++) {
      const mel = kaldiMel(binWidth * k);
      if (mel >= hi) break;
      up[k] = (mel - lo) / (hi - lo);
    }
  }
  segStart[nMels + 1] = k;
  return { nMels, segStart, up };
}

/** mel[m] = Σ_k bank[m][k]·spectrum[k] using the segment form. */
export function applyMelSegments(seg: MelSegments, spectrum: ArrayLike<number>, out: Float64Array | Float32Array): void {
  const { nMels, segStart, up } = seg;
  for (let s = -1; s < nMels; s++) {
    const e = segStart[s + 2];
    let a = 0; // Σ p·u: the up slope of filter s+1
    let b = 0; // Σ p
    for (let k = segStart[s + 1]; k < e; k++) {
      const p = spectrum[k];
      a += p * up[k];
      b += p;
    }
    if (s >= 0) out[s] += b - a;
    if (s + 1 < nMels) out[s + 1] = a;
  }
}
