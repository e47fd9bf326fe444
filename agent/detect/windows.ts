/**
 * Cutting a log-mel spectrogram into the windows the model sees. Pure.
 * The spectrogram is row-major [mel][frame]; a window batch is [batch][1][mel][frames].
 */

export interface WindowPlan {
  /** First frame of each window. */
  starts: number[];
  /** Frames per window (all windows of a plan have the same length). */
  frames: number;
}

/**
 * Windows of `windowFrames` every `hopFrames` over `nFrames`. A signal shorter than one window
 * is one window of all its frames; when the last hop leaves a tail uncovered, one more window
 * is aligned to the end, so every frame is seen.
 */
export function planWindows(nFrames: number, windowFrames: number, hopFrames: number): WindowPlan {
  if (nFrames <= 0) return { starts: [], frames: 0 };
  if (nFrames <= windowFrames) return { starts: [0], frames: nFrames };
  const starts: number[] = [];
  let s = 0;
  for (; s + windowFrames <= nFrames; s += hopFrames) starts.push(s);
  const lastEnd = starts[starts.length - 1]! + windowFrames;
  if (lastEnd < nFrames) starts.push(nFrames - windowFrames);
  return { starts, frames: windowFrames };
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
