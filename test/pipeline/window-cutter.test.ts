import { describe, expect, it } from 'vitest';
import { gatherWindows, planWindows } from '../../agent/detect/windows.js';
import { WindowCutter, type CutWindow } from '../../agent/pipeline/window-cutter.js';

const N_MELS = 3;
const grid = { windowFrames: 8, hopFrames: 3 };

/** A [mel][frame] spectrogram whose every value is distinct. */
function spectrogram(nFrames: number): Float32Array {
  return Float32Array.from({ length: N_MELS * nFrames }, (_, i) => i + 1);
}

/** Feeds the spectrogram frame by frame, then ends the segment; every window cut. */
function cut(cutter: WindowCutter, mel: Float32Array, nFrames: number): CutWindow[] {
  const out: CutWindow[] = [];
  const frame = new Float32Array(N_MELS);
  for (let f = 0; f < nFrames; f++) {
    for (let m = 0; m < N_MELS; m++) frame[m] = mel[m * nFrames + f]!;
    const w = cutter.push(frame);
    if (w) out.push(w);
  }
  const tail = cutter.end();
  if (tail) out.push(tail);
  return out;
}

describe('WindowCutter', () => {
  for (const nFrames of [5, 8, 14, 17, 20]) {
    it(`${nFrames} frames: the windows and log-mel planWindows + gatherWindows give for the whole signal`, () => {
      const mel = spectrogram(nFrames);
      const windows = cut(new WindowCutter(grid, N_MELS), mel, nFrames);
      const plan = planWindows(nFrames, grid.windowFrames, grid.hopFrames);
      expect(windows.map((w) => w.start)).toEqual(plan.starts);
      expect(windows.every((w) => w.frames === plan.frames)).toBe(true);
      expect(windows.map((w) => Array.from(w.mel))).toEqual(plan.starts.map((s) => Array.from(gatherWindows(mel, N_MELS, nFrames, [s], plan.frames))));
    });
  }

  it('end() starts a new segment: frame numbers and the tail count from zero again', () => {
    const cutter = new WindowCutter(grid, N_MELS);
    expect(cut(cutter, spectrogram(17), 17).map((w) => w.start)).toEqual([0, 3, 6, 9]);
    expect(cut(cutter, spectrogram(5), 5).map((w) => [w.start, w.frames])).toEqual([[0, 5]]);
    expect(cutter.end()).toBeUndefined(); // an empty segment has no tail
  });

  it('each window owns its log-mel: later frames do not change it', () => {
    const cutter = new WindowCutter(grid, N_MELS);
    const windows = cut(cutter, spectrogram(20), 20);
    const first = Array.from(windows[0]!.mel);
    cut(cutter, new Float32Array(N_MELS * 20).fill(-1), 20);
    expect(Array.from(windows[0]!.mel)).toEqual(first);
  });
});
