import { describe, expect, it } from 'vitest';
import { gatherWindows, planWindows } from '../../agent/detect/windows.js';

describe('planWindows', () => {
  it('steps by the hop and aligns one more window to the end so no frame is left out', () => {
    expect(planWindows(1000, 500, 250)).toEqual({ starts: [0, 250, 500], frames: 500 });
    expect(planWindows(1100, 500, 250)).toEqual({ starts: [0, 250, 500, 600], frames: 500 });
  });
  it('a signal shorter than a window is one window of all its frames', () => {
    expect(planWindows(120, 500, 250)).toEqual({ starts: [0], frames: 120 });
  });
  it('no frames, no windows', () => {
    expect(planWindows(0, 500, 250).starts).toEqual([]);
  });
});

describe('gatherWindows', () => {
  it('copies [mel][frame] rows into a [batch][mel][frames] tensor', () => {
    const nMels = 3;
    const nFrames = 10;
    const mel = Float32Array.from({ length: nMels * nFrames }, (_, i) => i); // value = m*10 + f
    const out = gatherWindows(mel, nMels, nFrames, [0, 6], 4);
    expect(out.length).toBe(2 * nMels * 4);
    // window 1 (start 6), mel 2: frames 6..9 → 26..29
    expect(Array.from(out.subarray(4 * 3 + 2 * 4, 4 * 3 + 3 * 4))).toEqual([26, 27, 28, 29]);
    expect(Array.from(out.subarray(0, 4))).toEqual([0, 1, 2, 3]);
  });
  it('reuses a large enough out buffer', () => {
    const buf = new Float32Array(100);
    const out = gatherWindows(new Float32Array(20), 2, 10, [0], 5, buf);
    expect(out.buffer).toBe(buf.buffer);
  });
});
