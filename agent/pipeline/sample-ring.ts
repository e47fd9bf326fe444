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
}
