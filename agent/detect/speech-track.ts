/**
 * Voice evidence for overlapping windows, computed once per stretch of audio. The voice
 * detector (Silero VAD) reads fixed frames on its own grid (512 samples at 16 kHz) and carries a
 * recurrent state; a SpeechTrack runs it as one stream over a recording (or a capture segment),
 * but only over the windows that ask for it: with windows overlapping by half, each frame is
 * computed once instead of twice, and a window that follows one that also wanted voice continues
 * the detector's state instead of starting cold. After a stretch nobody asked about, the state
 * starts fresh. Input at another rate (8 kHz recordings, the 32 kHz model rate) is resampled per
 * stretch.
 *
 * A detector carries one stream's state: a track resets it before its first stretch (and after
 * `reset()`), so tracks may share a detector one after another, not interleaved.
 */
import { createResampler, VOICE_RESAMPLING, type Resampler } from '../../dsp/resample.js';
import type { VoiceDetector } from './types.js';

export type TrackVoice = Pick<VoiceDetector, 'process' | 'reset' | 'sampleRate' | 'frameSamples'>;

/** Probability at or above which a voice frame counts as speech. */
export const SPEECH_PROBABILITY = 0.5;

export class SpeechTrack {
  /** Speech probability of voice frames base, base + 1, ... (only frames still needed). */
  private probs: number[] = [];
  private base = 0;
  /** The detector's state is not this track's yet (new track, or after `reset()`). */
  private fresh = true;
  private readonly resampler: Resampler | undefined;
  /** Input samples per voice-rate sample step that keeps both grids aligned (2 for 32 → 16 kHz). */
  private readonly step: number;

  constructor(
    private readonly voice: TrackVoice,
    /** Rate of the samples given to `share`. */
    readonly rate: number,
  ) {
    const vr = voice.sampleRate;
    if (!Number.isInteger(rate / vr) && !Number.isInteger(vr / rate)) {
      throw new RangeError(`voice evidence at ${rate} Hz: the rate must be a multiple or a divisor of the detector's ${vr} Hz`);
    }
    this.resampler = rate === vr ? undefined : createResampler(rate, vr, VOICE_RESAMPLING);
    this.step = Math.max(1, rate / vr);
  }

  /**
   * Share of the voice frames lying inside `window` (whose first sample is sample `start` of the
   * stream, at `rate`) with speech probability ≥ 0.5. Windows must come in order of start.
   */
  async share(window: Float32Array, start: number): Promise<number> {
    const { sampleRate: vr, frameSamples: F } = this.voice;
    const first = Math.ceil((start * vr) / this.rate / F);
    const last = Math.floor(((start + window.length) * vr) / this.rate / F) - 1;
    if (last < first) return 0;

    let next = this.base + this.probs.length;
    if (this.fresh || first < this.base || next < first) {
      // A gap (or a step back, or a first stretch): the carried state does not belong to this audio.
      this.fresh = false;
      this.probs = [];
      this.base = first;
      next = first;
      this.voice.reset();
    } else if (first > this.base) {
      this.probs.splice(0, first - this.base);
      this.base = first;
    }
    if (next <= last) {
      const probs = await this.voice.process(this.voiceSamples(window, start, next * F, (last + 1) * F));
      for (const p of probs) this.probs.push(p);
    }

    let above = 0;
    for (let j = first; j <= last; j++) if ((this.probs[j - this.base] ?? 0) >= SPEECH_PROBABILITY) above++;
    return above / (last - first + 1);
  }

  /** Forgets everything: a new recording or capture segment follows. */
  reset(): void {
    this.probs = [];
    this.base = 0;
    this.fresh = true;
  }

  /** Voice-rate samples [from, to) of the stream, taken from `window` (which covers them). */
  private voiceSamples(window: Float32Array, start: number, from: number, to: number): Float32Array {
    const vr = this.voice.sampleRate;
    const a = (from * this.rate) / vr - start; // window index of voice sample `from`
    const b = (to * this.rate) / vr - start;
    if (!this.resampler) return window.subarray(a, b);
    // Resample a little more than needed on both sides (within the window), starting on a
    // sample both grids share, so the edge of the stretch has its real neighbours.
    const margin = this.resampler.lookahead + this.step;
    const s0 = a - this.step * Math.floor(Math.min(margin, a) / this.step);
    const s1 = Math.min(window.length, b + margin);
    this.resampler.reset();
    const out = new Float32Array(to - from);
    // Resampled sample i of the stretch is out[i - skip]: copy the pushed part, then the flushed tail.
    const skip = ((a - s0) * vr) / this.rate;
    let at = -skip;
    for (const part of [this.resampler.push(window.subarray(s0, s1)), this.resampler.flush()]) {
      const from0 = Math.max(0, -at);
      const n = Math.min(part.length - from0, out.length - (at + from0));
      if (n > 0) out.set(part.subarray(from0, from0 + n), at + from0);
      at += part.length;
    }
    return out;
  }
}
