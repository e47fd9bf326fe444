/**
 * Log-mel front end (EfficientAT `AugmentMelSTFT` in eval mode when given MN04_FRONTEND):
 * pre-emphasis → centred STFT with reflect padding → power spectrum → Kaldi mel filters →
 * log(mel + offset) → (x + add) / divide.
 *
 * One code path serves batch and streaming: `melspec()` pushes the signal through a stream
 * and flushes it, so both give bit-identical numbers for any chunking. Frames are produced as
 * soon as every sample they need has arrived; only the last few frames (whose windows run past
 * the end and need right reflect-padding) wait for `flush()`.
 *
 * Per frame (no allocation): windowed power spectrum (fft.ts, window fused into the FFT),
 * Kaldi mel filters in segment form (mel.ts), one log per mel band (fastlog.ts). Samples are floats in
 * [-1, 1) at params.sampleRate (int16 PCM: see pcm.ts).
 *
 * Band-limited input (an 8 or 16 kHz recording) can skip the resampler: `createMelFrontend(params,
 * { inputRate })` computes the same spectrogram at the recording's own rate. Upsampling by q
 * (ideally) adds nothing below the input's Nyquist frequency and nothing above it, so the
 * model-rate frame of 800 samples equals, bin for bin below that frequency, the frame of 800/q
 * input samples under the window decimated by q, times q in amplitude (q² in power); the
 * pre-emphasis filter, a convolution, becomes its power response |1 - k·e^{-jω}|² per bin; bins
 * above the input's Nyquist are empty. The FFT is q times shorter and the resampler's work is
 * gone (for 8 kHz input: about 5× less work than resample + full-rate front end). Differences
 * from the resampled path are the resampler's own (its transition band) and window leakage at
 * the band edge; test/dsp/native-rate.test.ts bounds them on real recordings.
 */
import { ConfigError } from '../agent/errors.js';
import { createLnBatch } from './fastlog.js';
import { createWindowedPower } from './fft.js';
import { frontendParamProblems, type FrontendParams } from './frontend-params.js';
import { kaldiMelBank, kaldiMelSegments, type MelBank } from './mel.js';
import { hann } from './window.js';

/** A log-mel spectrogram, row-major [mel][frame] (the model's layout). */
export interface MelSpectrogram {
  data: Float32Array;
  nMels: number;
  nFrames: number;
}

/** Receives each frame as it is computed; `frame` (nMels values) is reused after the call returns. */
export type FrameSink = (frame: Float32Array, index: number) => void;

export interface MelStream {
  /** Feed samples at the front end's rate; calls `sink` for every frame now computable. Returns how many. */
  push(samples: ArrayLike<number>, sink: FrameSink): number;
  /** End of input: emits the remaining frames (right reflect-padded). The stream is then reset. */
  flush(sink: FrameSink): number;
  /** Frames emitted since the start (or the last flush/reset). */
  readonly framesEmitted: number;
  reset(): void;
}

export interface MelFrontend {
  /** The model's front end parameters (at the model rate). */
  readonly params: Readonly<FrontendParams>;
  /** Rate of the samples this front end takes (params.sampleRate unless built for band-limited input). */
  readonly rate: number;
  /** Input samples per frame at `rate`. */
  readonly hop: number;
  readonly nMels: number;
  readonly bank: MelBank;
  /** Frames produced for `nSamples` input samples. */
  frameCount(nSamples: number): number;
  /** Whole-signal log-mel; `out` (nMels × frames) is used when large enough. */
  melspec(samples: ArrayLike<number>, out?: Float32Array): MelSpectrogram;
  createStream(): MelStream;
}

const BATCH_SLICE = 1 << 13;

function slice(a: ArrayLike<number>, from: number, to: number): ArrayLike<number> {
  if (ArrayBuffer.isView(a)) return (a as unknown as Float32Array).subarray(from, to);
  return Array.prototype.slice.call(a, from, to) as number[];
}

/**
 * The factor q = params.sampleRate / rate when a recording at `rate` can be analysed at its own
 * rate (q an integer ≥ 1 that divides the FFT size, window, hop and frame offset); else undefined.
 */
export function nativeRateFactor(params: Readonly<FrontendParams>, rate: number): number | undefined {
  const q = params.sampleRate / rate;
  if (!Number.isInteger(q) || q < 1) return undefined;
  const divides = (n: number): boolean => n % q === 0;
  if (!divides(params.nFft) || !divides(params.winLength) || !divides(params.hop) || !divides(params.winLength / 2)) return undefined;
  const n = params.nFft / q;
  return n >= 4 && (n & (n - 1)) === 0 ? q : undefined;
}

export interface MelFrontendOptions {
  /** Rate of the input, when below the model rate by a factor nativeRateFactor() accepts. Default: the model rate. */
  inputRate?: number;
}

export function createMelFrontend(params: Readonly<FrontendParams>, options: MelFrontendOptions = {}): MelFrontend {
  const problems = frontendParamProblems(params);
  if (problems.length > 0) {
    throw new ConfigError(`invalid front-end parameters: ${problems.join('; ')}`, {
      component: 'dsp.melspec',
      code: 'frontend.params',
      issues: problems,
    });
  }
  const inputRate = options.inputRate ?? params.sampleRate;
  const factor = nativeRateFactor(params, inputRate);
  if (factor === undefined) {
    throw new ConfigError(`a front end at ${params.sampleRate} Hz cannot take ${inputRate} Hz input directly; resample it to ${params.sampleRate} Hz`, {
      component: 'dsp.melspec',
      code: 'frontend.rate',
    });
  }
  const q = factor;
  const { nMels, logOffset } = params;
  // Frame geometry at the input rate (q = 1: the model's own).
  const nFft = params.nFft / q;
  const winLength = params.winLength / q;
  const hop = params.hop / q;
  const { add, divide } = params.normalize;
  const scale = 1 / divide; // a multiply is cheaper; the difference is far below float32 resolution
  const pad = nFft >> 1; // centred frames
  const winOffset = (nFft - winLength) >> 1; // torch.stft zero-pads the window on both sides
  // Frame t reads the pre-emphasised signal y[t·hop + first ... t·hop + first + winLength - 1].
  const first = winOffset - pad;
  // The pre-emphasis runs on the samples at any rate: it removes DC before the window can leak
  // it into the low bins. At a lower rate its coefficient is chosen so that its response near DC
  // matches the model-rate filter, and a gain per bin corrects the rest. The frame count is
  // always the model-rate one.
  const shortens = params.preEmphasis !== 0 ? 1 : 0;
  const preEmphasis = q === 1 ? params.preEmphasis : inputRateEmphasis(params.preEmphasis, q);

  const fullWindow = hann(params.winLength, params.window === 'hann-symmetric');
  const window = q === 1 ? fullWindow : Float64Array.from({ length: winLength }, (_, m) => fullWindow[q * m]!);
  const framePower = createWindowedPower(nFft, window, winOffset);
  const bankSpec = { nMels, nFft: params.nFft, sampleRate: params.sampleRate, fMin: params.fMin, fMax: params.fMax };
  const bank = kaldiMelBank(bankSpec);
  const { segStart, up: segUp } = kaldiMelSegments(bankSpec);
  const gain = q === 1 ? undefined : bandLimitedGain(nFft, q, params.preEmphasis, preEmphasis);
  // Bins at and above the input's Nyquist frequency hold nothing.
  if (q > 1) for (let i = 0; i < segStart.length; i++) segStart[i] = Math.min(segStart[i]!, nFft / 2);

  // Scratch shared by all streams of this front end: computing a frame is synchronous and
  // never calls out, so streams cannot interleave inside it.
  const spec = new Float64Array(nFft / 2 + 1);
  const logs = createLnBatch(nMels);
  const melAcc = logs.values; // mel energies, then their logs, in place
  const edge = new Float64Array(winLength);

  /** Log-mel of the frame whose windowed samples start at src[pos]; writes out[off + m·stride]. */
  function computeFrame(src: Float64Array, pos: number, out: Float32Array, off: number, stride: number): void {
    framePower(src, pos, spec);
    if (gain) for (let k = 0; k < gain.length; k++) spec[k] *= gain[k];
    const p = spec, up = segUp, mel = melAcc;
    // Segment -1 (below the first centre) only feeds filter 0's up slope; the last segment
    // only filter nMels-1's down slope; each other segment s feeds both s and s+1.
    let k = segStart[0];
    let prevUp = 0;
    for (let s = -1; s < nMels; s++) {
      const e = segStart[s + 2];
      let a = 0; // Σ p·u: the up slope of filter s+1
      let b = 0; // Σ p: b - a is the down slope of filter s
      for (; k + 1 < e; k += 2) {
        const v0 = p[k], v1 = p[k + 1];
        a += v0 * up[k] + v1 * up[k + 1];
        b += v0 + v1;
      }
      if (k < e) {
        const v = p[k];
        a += v * up[k];
        b += v;
        k++;
      }
      if (s >= 0) mel[s] = prevUp + (b - a) + logOffset;
      prevUp = a;
    }
    logs.ln(nMels);
    for (let m = 0; m < nMels; m++) out[off + m * stride] = (mel[m] + add) * scale;
  }

  /** Frames for nY buffered values (pre-emphasised when q = 1, raw input otherwise). */
  function frameCountForY(nY: number): number {
    if (nY <= 0) return 0;
    return q === 1 ? 1 + Math.floor(nY / hop) : frameCount(nY + shortens);
  }

  /** As many frames as the model-rate signal would give: q·n samples, less the pre-emphasis one. */
  function frameCount(nSamples: number): number {
    if (nSamples <= shortens) return 0; // nothing left after the pre-emphasis at this rate
    return 1 + Math.floor((q * nSamples - shortens) / params.hop);
  }

  /** Pre-emphasised samples of one stream, kept from the oldest sample a pending frame needs. */
  class Stream implements MelStream {
    private y = new Float64Array(Math.max(4 * nFft, 8192));
    private yStart = 0; // absolute index of y[0]
    private yLen = 0; // valid values in y
    private prevX = 0;
    private seen = 0; // raw samples pushed
    private next = 0; // next frame index
    private readonly outFrame = new Float32Array(nMels);
    // Where frames are written: by default outFrame (handed to the sink); the batch path
    // points this at its [mel][frame] matrix so frames land in place, uncopied.
    private target: Float32Array = this.outFrame;
    private targetFrameStep = 0;
    private targetStride = 1;

    /** Internal (batch): write frame t to out[t·frameStep + m·stride] instead of outFrame. */
    writeInto(out: Float32Array | null, frameStep = 0, stride = 1): void {
      this.target = out ?? this.outFrame;
      this.targetFrameStep = out ? frameStep : 0;
      this.targetStride = out ? stride : 1;
    }

    get framesEmitted(): number {
      return this.next;
    }

    push(samples: ArrayLike<number>, sink: FrameSink): number {
      if (samples.length === 0) return 0;
      this.append(samples);
      // Emit every frame whose samples (including left-reflected ones) are all known.
      const known = this.yStart + this.yLen;
      let emitted = 0;
      for (;;) {
        const a = this.next * hop + first;
        if (a + winLength > known || -a >= known) break;
        this.emit(this.next, known, sink);
        this.next++;
        emitted++;
      }
      return emitted;
    }

    flush(sink: FrameSink): number {
      const total = this.yStart + this.yLen;
      const count = frameCountForY(total);
      let emitted = 0;
      while (this.next < count) {
        this.emit(this.next, total, sink);
        this.next++;
        emitted++;
      }
      this.reset();
      return emitted;
    }

    reset(): void {
      this.yStart = 0;
      this.yLen = 0;
      this.prevX = 0;
      this.seen = 0;
      this.next = 0;
    }

    /** Pre-emphasis into the buffer. A separate small function so V8 optimises it on its own. */
    private append(samples: ArrayLike<number>): void {
      const n = samples.length;
      this.ensureRoom(n);
      const y = this.y;
      let w = this.yLen;
      let i = 0;
      if (shortens) {
        let prev = this.prevX;
        if (this.seen === 0) {
          prev = samples[0];
          i = 1;
        }
        const k = preEmphasis;
        for (; i < n; i++) {
          const x = samples[i];
          y[w++] = x - k * prev;
          prev = x;
        }
        this.prevX = prev;
      } else {
        for (; i < n; i++) y[w++] = samples[i];
      }
      this.yLen = w;
      this.seen += n;
    }

    private ensureRoom(extra: number): void {
      const keepFrom = Math.max(0, Math.min(this.next * hop + first, this.yStart + this.yLen - pad - 1));
      const drop = keepFrom - this.yStart;
      if (drop > 0 && this.yLen + extra > this.y.length) {
        this.y.copyWithin(0, drop, this.yLen);
        this.yStart += drop;
        this.yLen -= drop;
      }
      if (this.yLen + extra > this.y.length) {
        const grown = new Float64Array(Math.max(this.yLen + extra, 2 * this.y.length));
        grown.set(this.y.subarray(0, this.yLen));
        this.y = grown;
      }
    }

    /** Value of the reflect-padded signal at absolute index j, for a signal of total length n. */
    private reflected(j: number, n: number): number {
      if (n === 1) return this.y[0 - this.yStart];
      const period = 2 * (n - 1);
      let r = j % period;
      if (r < 0) r += period;
      if (r >= n) r = period - r;
      return this.y[r - this.yStart];
    }

    private emit(t: number, total: number, sink: FrameSink): void {
      const a = t * hop + first;
      if (a >= 0 && a + winLength <= total) {
        computeFrame(this.y, a - this.yStart, this.target, t * this.targetFrameStep, this.targetStride);
      } else {
        for (let i = 0; i < winLength; i++) edge[i] = this.reflected(a + i, total);
        computeFrame(edge, 0, this.target, t * this.targetFrameStep, this.targetStride);
      }
      sink(this.target, t);
    }
  }

  function createStream(): MelStream {
    return new Stream();
  }

  const batchStream = new Stream();
  const ignoreFrame: FrameSink = () => undefined;

  return {
    params,
    rate: inputRate,
    hop,
    nMels,
    bank,
    frameCount,
    createStream,
    melspec(samples, out) {
      const nFrames = frameCount(samples.length);
      const data = out && out.length >= nMels * nFrames ? out : new Float32Array(nMels * nFrames);
      // Pushed in slices through one reused stream: its buffer stays small and warm (fresh
      // large buffers cost page faults), and the numbers cannot differ from streaming.
      // Frames are written straight into the [mel][frame] matrix.
      const s = batchStream;
      s.reset();
      s.writeInto(data, 1, nFrames);
      try {
        for (let i = 0; i < samples.length; i += BATCH_SLICE) s.push(slice(samples, i, i + BATCH_SLICE), ignoreFrame);
        s.flush(ignoreFrame);
      } finally {
        s.writeInto(null);
      }
      return { data, nMels, nFrames };
    },
  };
}

/**
 * The coefficient a of y[n] = x[n+1] - a·x[n] at rate sampleRate/q whose power response
 * c²·|1 - a·e^{-jω}|² ≈ c²((1-a)² + a·ω²) has the model-rate filter's shape near DC, where
 * |1 - k·e^{-jω/q}|² ≈ (1-k)² + k·ω²/q²: (1-a)²/a = q²(1-k)²/k (c cancels in the gain).
 */
function inputRateEmphasis(k: number, q: number): number {
  if (k === 0) return 0;
  const r = (q * q * (1 - k) * (1 - k)) / k;
  return (2 + r - Math.sqrt((2 + r) * (2 + r) - 4)) / 2;
}

/**
 * Per-bin power gain that makes a frame at rate sampleRate/q look like the model-rate frame of
 * the ideally upsampled signal: q² (q times more samples under the window) times the ratio of
 * the model-rate pre-emphasis response |1 - k·e^{-jω/q}|² to that of the filter applied at the
 * input rate, |1 - a·e^{-jω}|². The Nyquist bin is dropped: at the input's Nyquist frequency
 * the spectrum folds onto itself.
 */
function bandLimitedGain(nFft: number, q: number, k: number, a: number): Float64Array {
  const response = (c: number, w: number): number => 1 + c * c - 2 * c * Math.cos(w);
  const bins = nFft / 2;
  const gain = new Float64Array(bins);
  for (let b = 0; b < bins; b++) {
    const w = (2 * Math.PI * b) / nFft; // bin b in radians per input sample
    gain[b] = (q * q * response(k, w / q)) / response(a, w);
  }
  return gain;
}
