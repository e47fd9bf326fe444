/**
 * Wall-clock times of model-rate sample indices. The stream is cut into segments at every
 * capture gap; each segment is anchored to the clock at its first sample, so a time is the
 * anchor plus the samples since that first sample. Anchors of recent segments are kept: events
 * of a segment may come out of the inference queue after the next one began.
 */

interface Anchor {
  firstSample: number;
  anchorMs: number;
}

/** Segments whose anchors are kept (far more than the inference queue can hold). */
const KEPT = 64;

export class SegmentClock {
  /** Number of the current segment (0 before the first). */
  current = 0;
  private readonly anchors = new Map<number, Anchor>();

  constructor(private readonly sampleRate: number) {}

  /** Ring index of the current segment's first sample. */
  get firstSample(): number {
    return this.anchors.get(this.current)?.firstSample ?? 0;
  }

  /** A new segment whose first sample, ring index `firstSample`, was heard at `anchorMs`. */
  begin(firstSample: number, anchorMs: number): void {
    this.current++;
    this.anchors.set(this.current, { firstSample, anchorMs });
    if (this.anchors.size > KEPT) this.anchors.delete(this.anchors.keys().next().value!);
  }

  /** Wall-clock ms of ring index `sample` of `segment` (the current one when it is no longer kept). */
  timeOf(sample: number, segment = this.current): number {
    const a = this.anchors.get(segment) ?? this.anchors.get(this.current) ?? { firstSample: 0, anchorMs: 0 };
    return a.anchorMs + ((sample - a.firstSample) * 1000) / this.sampleRate;
  }
}
