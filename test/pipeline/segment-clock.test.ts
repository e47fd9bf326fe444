import { describe, expect, it } from 'vitest';
import { SegmentClock } from '../../agent/pipeline/segment-clock.js';

describe('SegmentClock', () => {
  it("times a sample from its segment's anchor, also after the next segment began", () => {
    const clock = new SegmentClock(32000);
    clock.begin(0, 1_000_000);
    expect(clock.timeOf(64000)).toBe(1_002_000);
    clock.begin(96000, 5_000_000); // a capture gap: the ring went on, the wall clock jumped
    expect([clock.current, clock.firstSample]).toEqual([2, 96000]);
    expect(clock.timeOf(96000 + 16000)).toBe(5_000_500);
    expect(clock.timeOf(64000, 1)).toBe(1_002_000);
  });

  it("keeps the last 64 segments' anchors; an older one falls back to the current segment", () => {
    const clock = new SegmentClock(1000);
    for (let s = 0; s < 70; s++) clock.begin(s * 1000, s * 1_000_000);
    expect(clock.timeOf(69_500, 70)).toBe(69_000_500);
    expect(clock.timeOf(10_000, 11)).toBe(10_000_000);
    expect(clock.timeOf(69_000, 1)).toBe(69_000_000);
  });
});
