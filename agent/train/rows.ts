/**
 * Training rows: one feature vector per window, with what validation needs to know about it
 * (class, site, clip, its place in the clip, the seconds of audio it stands for, whether it was
 * made by augmentation). Grows in place; float32 while training, float16 only in head files.
 */

export interface RowMeta {
  cls: string;
  site: string;
  /** Windows of one recording (or one augmentation) share a clip id. */
  clip: number;
  /** Window index within the clip (consecutive windows above threshold are one alarm). */
  index: number;
  /** Seconds of audio the row stands for (hop, or more for a subsampled row). */
  seconds: number;
  augmented: boolean;
  /** Site of the background an augmented row was mixed into. */
  bgSite?: string;
  /** Cross-validation group: rows of one group are held out together. */
  group: number;
}

export class RowSet {
  data: Float32Array;
  readonly meta: RowMeta[] = [];
  private nextClip = 0;

  constructor(
    readonly dims: number,
    capacity = 1024,
  ) {
    this.data = new Float32Array(capacity * dims);
  }

  get rows(): number {
    return this.meta.length;
  }

  /** A fresh clip id. */
  newClip(): number {
    return this.nextClip++;
  }

  /** Keeps clip ids unique when rows come from elsewhere (a base head). */
  reserveClips(upTo: number): void {
    this.nextClip = Math.max(this.nextClip, upTo);
  }

  add(features: ArrayLike<number>, meta: RowMeta): void {
    if (features.length !== this.dims) throw new RangeError(`row of ${features.length} features, expected ${this.dims}`);
    const need = (this.rows + 1) * this.dims;
    if (need > this.data.length) {
      const grown = new Float32Array(Math.max(need, this.data.length * 2));
      grown.set(this.data);
      this.data = grown;
    }
    this.data.set(features, this.rows * this.dims);
    this.meta.push(meta);
  }

  row(i: number): Float32Array {
    return this.data.subarray(i * this.dims, (i + 1) * this.dims);
  }

  /** A new set of the rows `keep` says yes to (clip ids kept). */
  filter(keep: (meta: RowMeta, i: number) => boolean): RowSet {
    const out = new RowSet(this.dims, 16);
    this.meta.forEach((m, i) => {
      if (keep(m, i)) out.add(this.row(i), m);
    });
    out.reserveClips(this.nextClip);
    return out;
  }
}
