/**
 * Cutting a log-mel spectrogram into the windows the model sees. Pure. One arithmetic for both
 * paths: the offline Analyzer plans a whole recording with `planWindows`, the live pipeline's
 * WindowCutter asks `windowCompletedBy` after every frame and `tailWindow` at the end of a
 * segment, so a recording is cut into the same windows whether it is analysed or heard.
 * The spectrogram is row-major [mel][frame]; a window batch is [batch][1][mel][frames].
 */
import type { FrontendParams } from '../../dsp/frontend-params.js';

/** Window length and hop, in frames. */
export interface WindowGrid {
  windowFrames: number;
  hopFrames: number;
}

/** Frames [start, start + frames) of a signal. */
export interface FrameSpan {
  start: number;
  frames: number;
}

export interface WindowPlan {
  /** First frame of each window. */
  starts: number[];
  /** Frames per window (all windows of a plan have the same length). */
  frames: number;
}

/** The grid of `windowSec` windows every `hopSec` (frames per second are the same at every input rate). */
export function windowGrid(params: Pick<FrontendParams, 'sampleRate' | 'hop'>, windowSec: number, hopSec: number): WindowGrid {
  const framesPerSec = params.sampleRate / params.hop;
  return { windowFrames: Math.max(1, Math.round(windowSec * framesPerSec)), hopFrames: Math.max(1, Math.round(hopSec * framesPerSec)) };
}

/** Quiet hops in a row that span `mergeGapSec`: the tracker closes an event after that many. */
export function closeAfterHops(grid: WindowGrid, params: Pick<FrontendParams, 'sampleRate' | 'hop'>, mergeGapSec: number): number {
  return Math.max(1, Math.ceil((mergeGapSec * params.sampleRate) / (grid.hopFrames * params.hop)));
}

/** The window that the `n`-th frame completes: windows start at 0, hop, 2·hop, … */
export function windowCompletedBy(grid: WindowGrid, n: number): FrameSpan | undefined {
  const { windowFrames: w, hopFrames: h } = grid;
  return n >= w && (n - w) % h === 0 ? { start: n - w, frames: w } : undefined;
}

/**
 * After the last of `n` frames: the window that covers what the hops left out, aligned to the
 * end, so every frame is seen; a signal shorter than one window is one window of all its frames.
 */
export function tailWindow(grid: WindowGrid, n: number): FrameSpan | undefined {
  const { windowFrames: w, hopFrames: h } = grid;
  if (n <= 0) return undefined;
  if (n < w) return { start: 0, frames: n };
  const lastEnd = w + Math.floor((n - w) / h) * h;
  return lastEnd < n ? { start: n - w, frames: w } : undefined;
}

/** Every window of `nFrames` frames: those the hops complete, then the tail. */
export function planWindows(nFrames: number, windowFrames: number, hopFrames: number): WindowPlan {
  const grid = { windowFrames, hopFrames };
  const starts: number[] = [];
  for (let n = windowFrames; n <= nFrames; n += hopFrames) starts.push(windowCompletedBy(grid, n)!.start);
  const tail = tailWindow(grid, nFrames);
  if (tail) starts.push(tail.start);
  return { starts, frames: Math.min(windowFrames, nFrames) };
}

/** Samples [startSample, endSample) of a window: frame f starts at f·hop; the last one ends with the audio (`totalSamples`). */
export function windowSamples(span: FrameSpan, hop: number, totalSamples: number): { startSample: number; endSample: number } {
  return { startSample: span.start * hop, endSample: Math.min(totalSamples, (span.start + span.frames) * hop) };
}

/** Copies windows `starts` of a [mel][frame] spectrogram into one [batch][1][mel][frames] tensor. */
export function gatherWindows(mel: Float32Array, nMels: number, nFrames: number, starts: readonly number[], frames: number, out?: Float32Array): Float32Array {
  const size = starts.length * nMels * frames;
  const dst = out && out.length >= size ? out.subarray(0, size) : new Float32Array(size);
  starts.forEach((start, b) => {
    const base = b * nMels * frames;
    for (let m = 0; m < nMels; m++) {
      const row = m * nFrames + start;
      dst.set(mel.subarray(row, row + frames), base + m * frames);
    }
  });
  return dst;
}
