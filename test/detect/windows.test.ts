import { describe, expect, it } from 'vitest';
import { closeAfterHops, gatherWindows, planWindows, tailWindow, windowCompletedBy, windowGrid, windowSamples } from '../../agent/detect/windows.js';

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

describe('window arithmetic shared by the Analyzer and the live cutter', () => {
  const grid = { windowFrames: 500, hopFrames: 250 };

  it('the grid of window and hop seconds, in frames of the front end', () => {
    expect(windowGrid({ sampleRate: 32000, hop: 320 }, 5, 2.5)).toEqual(grid);
    expect(windowGrid({ sampleRate: 32000, hop: 320 }, 0.001, 0.001)).toEqual({ windowFrames: 1, hopFrames: 1 });
  });

  it('a window is completed by frame counts window, window + hop, …', () => {
    expect(windowCompletedBy(grid, 499)).toBeUndefined();
    expect(windowCompletedBy(grid, 500)).toEqual({ start: 0, frames: 500 });
    expect(windowCompletedBy(grid, 600)).toBeUndefined();
    expect(windowCompletedBy(grid, 750)).toEqual({ start: 250, frames: 500 });
  });

  it('the tail: aligned to the end when the hops left frames out; the whole of a short signal; nothing otherwise', () => {
    expect(tailWindow(grid, 1100)).toEqual({ start: 600, frames: 500 });
    expect(tailWindow(grid, 1000)).toBeUndefined();
    expect(tailWindow(grid, 500)).toBeUndefined();
    expect(tailWindow(grid, 120)).toEqual({ start: 0, frames: 120 });
    expect(tailWindow(grid, 0)).toBeUndefined();
  });

  it('sample spans: frame f starts at f·hop and the last window ends with the audio', () => {
    expect(windowSamples({ start: 250, frames: 500 }, 320, 1e9)).toEqual({ startSample: 80000, endSample: 240000 });
    expect(windowSamples({ start: 600, frames: 500 }, 320, 350000)).toEqual({ startSample: 192000, endSample: 350000 });
  });

  it('an event closes after the hops that span the merge gap (at least one)', () => {
    const params = { sampleRate: 32000, hop: 320 };
    expect(closeAfterHops(grid, params, 3)).toBe(2); // 3 s over 2.5 s hops
    expect(closeAfterHops(grid, params, 5)).toBe(2);
    expect(closeAfterHops(grid, params, 0)).toBe(1);
  });
});
