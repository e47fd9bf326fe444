/**
 * Cuts a stream of log-mel frames into model windows as the frames arrive, with the arithmetic
 * of detect/windows.ts that the offline Analyzer plans a whole recording with: a window every
 * hop, and at the end of a segment one more aligned to its end when the hops left frames out.
 * Keeps only the last window's worth of frames.
 */
import { tailWindow, windowCompletedBy, type FrameSpan, type WindowGrid } from '../detect/windows.js';

export interface CutWindow extends FrameSpan {
  /** [nMels][frames] log-mel of the window (its own copy). */
  mel: Float32Array;
}

export class WindowCutter {
  /** Frames of the current segment so far. */
  private count = 0;
  /** The last `windowFrames` frames, frame-major, indexed by frame number modulo capacity. */
  private readonly recent: Float32Array;

  constructor(
    private readonly grid: WindowGrid,
    private readonly nMels: number,
  ) {
    this.recent = new Float32Array(grid.windowFrames * nMels);
  }

  /** Adds the segment's next frame; returns the window it completes, if any. */
  push(frame: Float32Array): CutWindow | undefined {
    this.recent.set(frame, (this.count % this.grid.windowFrames) * this.nMels);
    this.count++;
    const span = windowCompletedBy(this.grid, this.count);
    return span && this.copy(span);
  }

  /** End of the segment: the tail window, if the hops left frames out; the next frame starts a new segment. */
  end(): CutWindow | undefined {
    const span = tailWindow(this.grid, this.count);
    this.count = 0;
    return span && this.copy(span);
  }

  private copy(span: FrameSpan): CutWindow {
    const { start, frames } = span;
    const mel = new Float32Array(this.nMels * frames);
    for (let f = 0; f < frames; f++) {
      const base = ((start + f) % this.grid.windowFrames) * this.nMels;
      for (let m = 0; m < this.nMels; m++) mel[m * frames + f] = this.recent[base + m]!;
    }
    return { start, frames, mel };
  }
}
