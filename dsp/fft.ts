/**
 * Real-input FFT of size n (a power of two), computed as one complex FFT of size h = n/2 on
 * z[i] = x[2i] + i·x[2i+1] followed by the standard split step. The complex FFT is
 * decimation-in-time: a bit-reversed load fused with the first radix-2 stage, then radix-4
 * stages (half the passes over memory of radix-2, 3 instead of 4 complex multiplies per 4
 * points). Everything a transform needs (bit reversal, twiddles, gather tables) is computed
 * once by the factory; a transform allocates nothing.
 */

export interface RealFft {
  readonly size: number;
  /** Number of non-redundant bins: size/2 + 1. */
  readonly bins: number;
  /** Power spectrum |X[k]|², k = 0..size/2, of `input` (only its first `size` values are read). */
  power(input: ArrayLike<number>, out: Float64Array | Float32Array): void;
  /** Complex spectrum X[k], k = 0..size/2, into `re` and `im` (each length ≥ size/2 + 1). */
  forward(input: ArrayLike<number>, re: Float64Array, im: Float64Array): void;
}

/**
 * Power spectrum of one STFT frame: `window` (length ≤ size) multiplied with src[pos ...] and
 * placed at `offset` in an otherwise zero frame of `size` samples. The windowing is fused into
 * the FFT's gather, so no frame buffer is written.
 */
export type WindowedPower = (src: Float64Array, pos: number, out: Float64Array) => void;

interface Core {
  h: number;
  rev: Uint32Array;
  zr: Float64Array;
  zi: Float64Array;
  /** Radix-4 stages over zr/zi, after a load that has done the first radix-2 stage. */
  stages(): void;
  /** |X[k]|², k = 0..h, from the complex transform in zr/zi. */
  splitPower(out: Float64Array | Float32Array): void;
  splitComplex(re: Float64Array, im: Float64Array): void;
}

function checkSize(size: number): void {
  if (!Number.isInteger(size) || size < 4 || (size & (size - 1)) !== 0) {
    throw new RangeError(`FFT size must be a power of two ≥ 4 (got ${size})`);
  }
}

function createCore(size: number): Core {
  const h = size >> 1;
  const bits = Math.log2(h);
  const rev = new Uint32Array(h);
  for (let i = 0; i < h; i++) {
    let r = 0;
    for (let b = 0, v = i; b < bits; b++, v >>= 1) r = (r << 1) | (v & 1);
    rev[i] = r;
  }
  // After the fused load the blocks have size 2. An odd number of remaining radix-2 stages
  // gets one trivial-twiddle radix-2 stage (m = 2) first. Radix-4 stage with sub-size m uses
  // W_{4m}^{j}, W_{4m}^{2j}, W_{4m}^{3j} for j < m, interleaved [w1r, w1i, w2r, w2i, w3r, w3i].
  const extraRadix2 = (bits - 1) % 2 === 1;
  const stageM: number[] = [];
  const stageOff: number[] = [];
  let twLen = 0;
  for (let m = extraRadix2 ? 4 : 2; m < h; m *= 4) {
    stageM.push(m);
    stageOff.push(twLen);
    twLen += 6 * m;
  }
  const tw = new Float64Array(Math.max(1, twLen));
  stageM.forEach((m, s) => {
    for (let j = 0; j < m; j++) {
      for (let r = 1; r <= 3; r++) {
        const a = (-2 * Math.PI * r * j) / (4 * m);
        tw[stageOff[s] + 6 * j + 2 * (r - 1)] = Math.cos(a);
        tw[stageOff[s] + 6 * j + 2 * (r - 1) + 1] = Math.sin(a);
      }
    }
  });
  const nStages = stageM.length;
  const mOf = Int32Array.from(stageM);
  const offOf = Int32Array.from(stageOff);
  // Split-step twiddles e^{-2πik/n}, k < h.
  const spRe = new Float64Array(h);
  const spIm = new Float64Array(h);
  for (let k = 0; k < h; k++) {
    spRe[k] = Math.cos((2 * Math.PI * k) / size);
    spIm[k] = -Math.sin((2 * Math.PI * k) / size);
  }
  const zre = new Float64Array(h);
  const zim = new Float64Array(h);

  function stages(): void {
    // Local aliases: V8 keeps them in registers instead of reloading closure slots.
    const zr = zre, zi = zim, w = tw;
    if (extraRadix2) {
      // m = 2: twiddles 1 and -i need no multiplications.
      for (let i = 0; i < h; i += 4) {
        const r0 = zr[i], i0 = zi[i];
        const r1 = zr[i + 1], i1 = zi[i + 1];
        const r2 = zr[i + 2], i2 = zi[i + 2];
        const r3 = zr[i + 3], i3 = zi[i + 3];
        zr[i] = r0 + r2;
        zi[i] = i0 + i2;
        zr[i + 2] = r0 - r2;
        zi[i + 2] = i0 - i2;
        zr[i + 1] = r1 + i3; // (r3 + i·i3)·(-i) = i3 - i·r3
        zi[i + 1] = i1 - r3;
        zr[i + 3] = r1 - i3;
        zi[i + 3] = i1 + r3;
      }
    }
    // Radix-4 DIT. In bit-reversed layout a block's four sub-transforms sit at b (x[4n]),
    // b+m (x[4n+2]), b+2m (x[4n+1]), b+3m (x[4n+3]); outputs X[k+qm] go to b+qm+k.
    for (let s = 0; s < nStages; s++) {
      const m = mOf[s];
      const o = offOf[s];
      const block = 4 * m;
      for (let b = 0; b < h; b += block) {
        {
          // j = 0: all twiddles are 1.
          const p0 = b, p1 = b + m, p2 = p1 + m, p3 = p2 + m;
          const s0r = zr[p0], s0i = zi[p0];
          const t1r = zr[p2], t1i = zi[p2];
          const t2r = zr[p1], t2i = zi[p1];
          const t3r = zr[p3], t3i = zi[p3];
          const e0r = s0r + t2r, e0i = s0i + t2i;
          const e1r = s0r - t2r, e1i = s0i - t2i;
          const o0r = t1r + t3r, o0i = t1i + t3i;
          const o1r = t1r - t3r, o1i = t1i - t3i;
          zr[p0] = e0r + o0r;
          zi[p0] = e0i + o0i;
          zr[p2] = e0r - o0r;
          zi[p2] = e0i - o0i;
          zr[p1] = e1r + o1i;
          zi[p1] = e1i - o1r;
          zr[p3] = e1r - o1i;
          zi[p3] = e1i + o1r;
        }
        for (let j = 1; j < m; j++) {
          const t = o + 6 * j;
          const w1r = w[t], w1i = w[t + 1], w2r = w[t + 2], w2i = w[t + 3], w3r = w[t + 4], w3i = w[t + 5];
          const p0 = b + j, p1 = p0 + m, p2 = p1 + m, p3 = p2 + m;
          const s0r = zr[p0], s0i = zi[p0];
          const ar = zr[p2], ai = zi[p2];
          const t1r = ar * w1r - ai * w1i, t1i = ar * w1i + ai * w1r;
          const br = zr[p1], bi = zi[p1];
          const t2r = br * w2r - bi * w2i, t2i = br * w2i + bi * w2r;
          const cr = zr[p3], ci = zi[p3];
          const t3r = cr * w3r - ci * w3i, t3i = cr * w3i + ci * w3r;
          const e0r = s0r + t2r, e0i = s0i + t2i; // T0 + T2
          const e1r = s0r - t2r, e1i = s0i - t2i; // T0 - T2
          const o0r = t1r + t3r, o0i = t1i + t3i; // T1 + T3
          const o1r = t1r - t3r, o1i = t1i - t3i; // T1 - T3
          zr[p0] = e0r + o0r;
          zi[p0] = e0i + o0i;
          zr[p2] = e0r - o0r;
          zi[p2] = e0i - o0i;
          // X[k+m] = (T0 - T2) - i(T1 - T3); X[k+3m] = (T0 - T2) + i(T1 - T3)
          zr[p1] = e1r + o1i;
          zi[p1] = e1i - o1r;
          zr[p3] = e1r - o1i;
          zi[p3] = e1i + o1r;
        }
      }
    }
  }

  function splitPower(out: Float64Array | Float32Array): void {
    const zr = zre, zi = zim, wre = spRe, wim = spIm;
    // Bins k and h-k share their inputs Z[k], Z[h-k] and (conjugate) twiddles, so they are
    // computed together. Working with 2·X saves the halvings; the power is scaled once.
    const z0r = zr[0], z0i = zi[0];
    out[0] = (z0r + z0i) * (z0r + z0i);
    out[h] = (z0r - z0i) * (z0r - z0i);
    for (let k = 1, l = h - 1; k <= l; k++, l--) {
      const ar = zr[k], ai = zi[k];
      const br = zr[l], bi = zi[l];
      const er = ar + br;
      const ei = ai - bi;
      const or = ai + bi;
      const oi = br - ar;
      const wr = wre[k], wi = wim[k];
      const p = wr * or - wi * oi;
      const q = wr * oi + wi * or;
      const xr = er + p, xi = ei + q;
      const yr = er - p, yi = q - ei;
      out[k] = 0.25 * (xr * xr + xi * xi);
      out[l] = 0.25 * (yr * yr + yi * yi);
    }
  }

  function splitComplex(re: Float64Array, im: Float64Array): void {
    const zr = zre, zi = zim;
    re[0] = zr[0] + zi[0];
    im[0] = 0;
    re[h] = zr[0] - zi[0];
    im[h] = 0;
    for (let k = 1; k < h; k++) {
      const ar = zr[k], ai = zi[k];
      const br = zr[h - k], bi = zi[h - k];
      const er = 0.5 * (ar + br);
      const ei = 0.5 * (ai - bi);
      const or = 0.5 * (ai + bi);
      const oi = -0.5 * (ar - br);
      const wr = spRe[k], wi = spIm[k];
      re[k] = er + wr * or - wi * oi;
      im[k] = ei + wr * oi + wi * or;
    }
  }

  return { h, rev, zr: zre, zi: zim, stages, splitPower, splitComplex };
}

export function createRealFft(size: number): RealFft {
  checkSize(size);
  const core = createCore(size);
  const { h, rev, zr, zi } = core;

  /** z[i] = x[2i] + i·x[2i+1] in bit-reversed order, fused with the first radix-2 stage. */
  function load(input: ArrayLike<number>): void {
    for (let i = 0; i < h; i += 2) {
      const a = rev[i] << 1;
      const b = rev[i + 1] << 1;
      const ar = input[a], ai = input[a + 1];
      const br = input[b], bi = input[b + 1];
      zr[i] = ar + br;
      zi[i] = ai + bi;
      zr[i + 1] = ar - br;
      zi[i + 1] = ai - bi;
    }
  }

  return {
    size,
    bins: h + 1,
    power(input, out) {
      load(input);
      core.stages();
      core.splitPower(out);
    },
    forward(input, re, im) {
      load(input);
      core.stages();
      core.splitComplex(re, im);
    },
  };
}

export function createWindowedPower(size: number, window: ArrayLike<number>, offset: number): WindowedPower {
  checkSize(size);
  if (!(offset >= 0 && offset + window.length <= size && window.length > 0)) {
    throw new RangeError(`window of ${window.length} at offset ${offset} does not fit a frame of ${size}`);
  }
  const core = createCore(size);
  const { h, rev, zr, zi } = core;
  // Gather table in load order: for pair i/2 the frame positions 2·rev[i], +1, 2·rev[i+1], +1,
  // as (source offset relative to the window start, window weight). Positions outside the
  // window read the window's first sample with weight 0.
  const gOff = new Int32Array(2 * h);
  const gW = new Float64Array(2 * h);
  for (let i = 0, q = 0; i < h; i += 2, q += 4) {
    const pos = [2 * rev[i], 2 * rev[i] + 1, 2 * rev[i + 1], 2 * rev[i + 1] + 1];
    for (let c = 0; c < 4; c++) {
      const wi = pos[c] - offset;
      const inside = wi >= 0 && wi < window.length;
      gOff[q + c] = inside ? wi : 0;
      gW[q + c] = inside ? window[wi] : 0;
    }
  }
  return (src, pos, out) => {
    const go = gOff, gw = gW, re = zr, im = zi;
    for (let i = 0, q = 0; i < h; i += 2, q += 4) {
      const ar = src[pos + go[q]] * gw[q];
      const ai = src[pos + go[q + 1]] * gw[q + 1];
      const br = src[pos + go[q + 2]] * gw[q + 2];
      const bi = src[pos + go[q + 3]] * gw[q + 3];
      re[i] = ar + br;
      im[i] = ai + bi;
      re[i + 1] = ar - br;
      im[i + 1] = ai - bi;
    }
    core.stages();
    core.splitPower(out);
  };
}
