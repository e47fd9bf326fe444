/**
 * Real-input FFT of size n (a power of two), computed as one complex FFT of size h = n/2 on
 * z[i] = x[2i] + i·x[2i+1] followed by the standard split step.
 *
 * The complex FFT is decimation-in-frequency: it reads its input in natural order (so the
 * packing, and for STFT frames the windowing, is fused into the first radix-2 stage with
 * contiguous loads and no work for the zero padding), runs radix-4 stages (half the passes
 * over memory of radix-2, 3 complex multiplies per 4 points), and leaves the spectrum in
 * bit-reversed order, which the split step reads through a table. Everything a transform
 * needs is computed once by the factory; a transform allocates nothing.
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
 * placed at `offset` in an otherwise zero frame of `size` samples; no frame buffer is written.
 */
export type WindowedPower = (src: Float64Array, pos: number, out: Float64Array) => void;

interface Core {
  h: number;
  zr: Float64Array;
  zi: Float64Array;
  /** e^{-2πi·j/h}, j < h/2: the twiddles of the first (fused) radix-2 stage. */
  w1r: Float64Array;
  w1i: Float64Array;
  /** The stages after the first, over zr/zi. */
  stages(): void;
  /** |X[k]|², k = 0..h, from the bit-reversed complex transform in zr/zi. */
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
  const rev = new Int32Array(h);
  for (let i = 0; i < h; i++) {
    let r = 0;
    for (let b = 0, v = i; b < bits; b++, v >>= 1) r = (r << 1) | (v & 1);
    rev[i] = r;
  }
  const half = h >> 1;
  const w1r = new Float64Array(Math.max(1, half));
  const w1i = new Float64Array(Math.max(1, half));
  for (let j = 0; j < half; j++) {
    w1r[j] = Math.cos((-2 * Math.PI * j) / h);
    w1i[j] = Math.sin((-2 * Math.PI * j) / h);
  }
  // After the first stage the blocks have size h/2. Radix-4 stages split a block of 4m into
  // four of m, twiddles W_{4m}^{j}, W_{4m}^{2j}, W_{4m}^{3j} (j < m) interleaved
  // [w1r, w1i, w2r, w2i, w3r, w3i]; an odd level left over is a final trivial radix-2 stage.
  const stageM: number[] = [];
  const stageOff: number[] = [];
  let twLen = 0;
  let block = half;
  while (block >= 4) {
    const m = block >> 2;
    stageM.push(m);
    stageOff.push(twLen);
    twLen += 6 * m;
    block = m;
  }
  const finalRadix2 = block === 2;
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
  const lastM1 = nStages > 0 && stageM[nStages - 1] === 1;
  const nGeneral = lastM1 ? nStages - 1 : nStages;
  const mOf = Int32Array.from(stageM);
  const offOf = Int32Array.from(stageOff);
  // Split step, per k < h/2 + 1: where Z[k] and Z[h-k] sit, and e^{-2πik/n}.
  const nk = (h >> 1) + 1;
  const posK = new Int32Array(nk);
  const posL = new Int32Array(nk);
  const spRe = new Float64Array(nk);
  const spIm = new Float64Array(nk);
  for (let k = 0; k < nk; k++) {
    posK[k] = rev[k % h];
    posL[k] = rev[(h - k) % h];
    spRe[k] = Math.cos((2 * Math.PI * k) / size);
    spIm[k] = -Math.sin((2 * Math.PI * k) / size);
  }
  const zre = new Float64Array(h);
  const zim = new Float64Array(h);

  function stages(): void {
    // Local aliases: V8 keeps them in registers instead of reloading closure slots.
    const zr = zre, zi = zim, w = tw;
    for (let s = 0; s < nGeneral; s++) {
      const m = mOf[s];
      const o = offOf[s];
      const blk = 4 * m;
      // j = 0 in every block: all twiddles are 1.
      for (let p0 = 0; p0 < h; p0 += blk) {
        const p1 = p0 + m, p2 = p1 + m, p3 = p2 + m;
        const a0r = zr[p0], a0i = zi[p0], a1r = zr[p1], a1i = zi[p1];
        const a2r = zr[p2], a2i = zi[p2], a3r = zr[p3], a3i = zi[p3];
        const b0r = a0r + a2r, b0i = a0i + a2i, b1r = a0r - a2r, b1i = a0i - a2i;
        const b2r = a1r + a3r, b2i = a1i + a3i;
        const b3r = a1i - a3i, b3i = a3r - a1r; // (a1 - a3)·(-i)
        zr[p0] = b0r + b2r;
        zi[p0] = b0i + b2i;
        zr[p1] = b0r - b2r;
        zi[p1] = b0i - b2i;
        zr[p2] = b1r + b3r;
        zi[p2] = b1i + b3i;
        zr[p3] = b1r - b3r;
        zi[p3] = b1i - b3i;
      }
      // j ≥ 1: twiddles loaded once per j, applied across the blocks.
      for (let j = 1; j < m; j++) {
        const t = o + 6 * j;
        const wr = w[t], wi = w[t + 1], w2r = w[t + 2], w2i = w[t + 3], w3r = w[t + 4], w3i = w[t + 5];
        for (let p0 = j; p0 < h; p0 += blk) {
          const p1 = p0 + m, p2 = p1 + m, p3 = p2 + m;
          const a0r = zr[p0], a0i = zi[p0], a1r = zr[p1], a1i = zi[p1];
          const a2r = zr[p2], a2i = zi[p2], a3r = zr[p3], a3i = zi[p3];
          const b0r = a0r + a2r, b0i = a0i + a2i, b1r = a0r - a2r, b1i = a0i - a2i;
          const b2r = a1r + a3r, b2i = a1i + a3i;
          const b3r = a1i - a3i, b3i = a3r - a1r;
          // Outputs in radix-2 bit-reversed order: X[4k] → p0, X[4k+2] → p1, X[4k+1] → p2, X[4k+3] → p3.
          zr[p0] = b0r + b2r;
          zi[p0] = b0i + b2i;
          const cr = b0r - b2r, ci = b0i - b2i; // × W^{2j}
          zr[p1] = cr * w2r - ci * w2i;
          zi[p1] = cr * w2i + ci * w2r;
          const dr = b1r + b3r, di = b1i + b3i; // × W^{j}
          zr[p2] = dr * wr - di * wi;
          zi[p2] = dr * wi + di * wr;
          const er = b1r - b3r, ei = b1i - b3i; // × W^{3j}
          zr[p3] = er * w3r - ei * w3i;
          zi[p3] = er * w3i + ei * w3r;
        }
      }
    }
    if (lastM1) {
      // The last radix-4 stage (blocks of 4, twiddles all 1) as one flat loop.
      for (let p0 = 0; p0 < h; p0 += 4) {
        const a0r = zr[p0], a0i = zi[p0], a1r = zr[p0 + 1], a1i = zi[p0 + 1];
        const a2r = zr[p0 + 2], a2i = zi[p0 + 2], a3r = zr[p0 + 3], a3i = zi[p0 + 3];
        const b0r = a0r + a2r, b0i = a0i + a2i, b1r = a0r - a2r, b1i = a0i - a2i;
        const b2r = a1r + a3r, b2i = a1i + a3i;
        const b3r = a1i - a3i, b3i = a3r - a1r;
        zr[p0] = b0r + b2r;
        zi[p0] = b0i + b2i;
        zr[p0 + 1] = b0r - b2r;
        zi[p0 + 1] = b0i - b2i;
        zr[p0 + 2] = b1r + b3r;
        zi[p0 + 2] = b1i + b3i;
        zr[p0 + 3] = b1r - b3r;
        zi[p0 + 3] = b1i - b3i;
      }
    }
    if (finalRadix2) {
      for (let i = 0; i < h; i += 2) {
        const ar = zr[i], ai = zi[i], br = zr[i + 1], bi = zi[i + 1];
        zr[i] = ar + br;
        zi[i] = ai + bi;
        zr[i + 1] = ar - br;
        zi[i + 1] = ai - bi;
      }
    }
  }

  function splitPower(out: Float64Array | Float32Array): void {
    const zr = zre, zi = zim, wre = spRe, wim = spIm, pk = posK, pl = posL;
    // Bins k and h-k share their inputs Z[k], Z[h-k] and (conjugate) twiddles, so they are
    // computed together. Working with 2·X saves the halvings; the power is scaled once.
    const z0r = zr[0], z0i = zi[0];
    out[0] = (z0r + z0i) * (z0r + z0i);
    out[h] = (z0r - z0i) * (z0r - z0i);
    for (let k = 1, l = h - 1; k <= l; k++, l--) {
      const a = pk[k], c = pl[k];
      const ar = zr[a], ai = zi[a];
      const br = zr[c], bi = zi[c];
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
    for (let k = 1, l = h - 1; k <= l; k++, l--) {
      const a = posK[k], c = posL[k];
      const ar = zr[a], ai = zi[a];
      const br = zr[c], bi = zi[c];
      const er = 0.5 * (ar + br);
      const ei = 0.5 * (ai - bi);
      const or = 0.5 * (ai + bi);
      const oi = 0.5 * (br - ar);
      const wr = spRe[k], wi = spIm[k];
      const p = wr * or - wi * oi;
      const q = wr * oi + wi * or;
      re[k] = er + p;
      im[k] = ei + q;
      re[l] = er - p;
      im[l] = q - ei;
    }
  }

  return { h, zr: zre, zi: zim, w1r, w1i, stages, splitPower, splitComplex };
}

export function createRealFft(size: number): RealFft {
  checkSize(size);
  const core = createCore(size);
  const { h, zr, zi, w1r, w1i } = core;
  const half = h >> 1;

  /** z[i] = x[2i] + i·x[2i+1], fused with the first DIF stage (pairs i, i + h/2). */
  function load(x: ArrayLike<number>): void {
    for (let i = 0; i < half; i++) {
      const ar = x[2 * i], ai = x[2 * i + 1];
      const br = x[2 * i + h], bi = x[2 * i + h + 1];
      zr[i] = ar + br;
      zi[i] = ai + bi;
      const dr = ar - br, di = ai - bi;
      const wr = w1r[i], wi = w1i[i];
      zr[i + half] = dr * wr - di * wi;
      zi[i + half] = dr * wi + di * wr;
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
  const len = window.length;
  if (!(offset >= 0 && offset + len <= size && len > 0)) {
    throw new RangeError(`window of ${len} at offset ${offset} does not fit a frame of ${size}`);
  }
  const core = createCore(size);
  const { h, zr, zi, w1r, w1i } = core;
  const half = h >> 1;
  // Frame positions 2i, 2i+1 (first half) pair with 2i+h, 2i+h+1 (second half). Windowed
  // samples fill [offset, offset + len): window value and source offset per position, with
  // weight 0 where the frame is padding (the source index is then clamped into range).
  const wA = new Float64Array(h); // positions 2i, 2i+1 → index 2i + c
  const wB = new Float64Array(h); // positions 2i+h, 2i+h+1
  for (let p = 0; p < h; p++) {
    const a = p - offset;
    const b = p + h - offset;
    wA[p] = a >= 0 && a < len ? window[a] : 0;
    wB[p] = b >= 0 && b < len ? window[b] : 0;
  }
  // Fast path when the window straddles the middle of the frame on even boundaries (mn04:
  // 800 samples at 112 of 1024): i ∈ [0, i0) only the second half carries samples, [i0, i1)
  // both, [i1, h/2) only the first; every read is inside the window.
  const fast = offset % 2 === 0 && len % 2 === 0 && len >= h && offset <= h && offset + len >= h;
  const i0 = offset / 2;
  const i1 = (offset + len - h) / 2;
  // Source offsets relative to the window start (pos), for the two halves.
  const offA = -offset;
  const offB = h - offset;

  return (src, pos, out) => {
    const re = zr, im = zi, wa = wA, wb = wB, c1 = w1r, s1 = w1i;
    const pa = pos + offA;
    const pb = pos + offB;
    if (fast) {
      // Only the second half has samples: z[i] = B, z[i + h/2] = -B·W.
      for (let i = 0; i < i0; i++) {
        const q = 2 * i;
        const br = src[pb + q] * wb[q], bi = src[pb + q + 1] * wb[q + 1];
        re[i] = br;
        im[i] = bi;
        const wr = c1[i], wi = s1[i];
        re[i + half] = -(br * wr - bi * wi);
        im[i + half] = -(br * wi + bi * wr);
      }
      for (let i = i0; i < i1; i++) {
        const q = 2 * i;
        const ar = src[pa + q] * wa[q], ai = src[pa + q + 1] * wa[q + 1];
        const br = src[pb + q] * wb[q], bi = src[pb + q + 1] * wb[q + 1];
        re[i] = ar + br;
        im[i] = ai + bi;
        const dr = ar - br, di = ai - bi;
        const wr = c1[i], wi = s1[i];
        re[i + half] = dr * wr - di * wi;
        im[i + half] = dr * wi + di * wr;
      }
      // Only the first half has samples: z[i] = A, z[i + h/2] = A·W.
      for (let i = i1; i < half; i++) {
        const q = 2 * i;
        const ar = src[pa + q] * wa[q], ai = src[pa + q + 1] * wa[q + 1];
        re[i] = ar;
        im[i] = ai;
        const wr = c1[i], wi = s1[i];
        re[i + half] = ar * wr - ai * wi;
        im[i + half] = ar * wi + ai * wr;
      }
    } else {
      // General form: weights are zero outside the window, where nothing is read.
      for (let i = 0; i < half; i++) {
        const q = 2 * i;
        const ar = wa[q] === 0 ? 0 : src[pa + q] * wa[q];
        const ai = wa[q + 1] === 0 ? 0 : src[pa + q + 1] * wa[q + 1];
        const br = wb[q] === 0 ? 0 : src[pb + q] * wb[q];
        const bi = wb[q + 1] === 0 ? 0 : src[pb + q + 1] * wb[q + 1];
        re[i] = ar + br;
        im[i] = ai + bi;
        const dr = ar - br, di = ai - bi;
        const wr = c1[i], wi = s1[i];
        re[i + half] = dr * wr - di * wi;
        im[i + half] = dr * wi + di * wr;
      }
    }
    core.stages();
    core.splitPower(out);
  };
}
