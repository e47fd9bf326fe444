import { float32ToInt16 } from '../../dsp/pcm.js';

/** A ring of the most recent model-rate samples, addressed by absolute sample index (pre-roll for clips, voice windows). */
export class SampleRing {
  private readonly buf: Float32Array;
  /** Absolute index one past the newest sample. */
  end = 0;

  constructor(readonly capacity: number) {
    this.buf = new Float32Array(capacity);
  }

  write(x: ArrayLike<number>): void {
    for (let i = 0; i < x.length; i++) this.buf[(this.end + i) % this.capacity] = x[i]!;
    this.end += x.length;
  }

  /** Oldest absolute index still held. */
  get start(): number {
    return Math.max(0, this.end - this.capacity);
  }

  /** Samples [from, to) clipped to what is held. */
  read(from: number, to: number): Float32Array {
    const a = Math.max(from, this.start);
    const b = Math.min(to, this.end);
    const out = new Float32Array(Math.max(0, b - a));
    for (let i = 0; i < out.length; i++) out[i] = this.buf[(a + i) % this.capacity]!;
    return out;
  }

  /**
   * The same samples as `float32ToInt16(read(from, to))`, converted straight from the ring: a clip
   * of a minute costs its 16-bit copy (3.8 MB at 32 kHz) without a float copy twice that size.
   */
  readInt16(from: number, to: number): Int16Array {
    const a = Math.max(from, this.start);
    const b = Math.min(to, this.end);
    const out = new Int16Array(Math.max(0, b - a));
    // At most two stretches of the buffer: up to its end, then from its start.
    let done = 0;
    while (done < out.length) {
      const at = (a + done) % this.capacity;
      const n = Math.min(out.length - done, this.capacity - at);
      float32ToInt16(this.buf.subarray(at, at + n), out.subarray(done, done + n));
      done += n;
    }
    return out;
  }
}
