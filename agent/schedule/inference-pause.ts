/**
 * The inference pause of the low-battery policy, as the activity gate the pipeline asks before
 * scoring a window: while paused every window is skipped (and counted here, apart from the
 * windows the inner gate finds quiet); otherwise the inner gate decides, or every window is scored.
 */
import type { ActivityGate } from '../pipeline/live-pipeline.js';

export class InferencePause implements ActivityGate {
  paused = false;
  /** Windows skipped because inference was paused. */
  windowsPaused = 0;

  constructor(private readonly inner?: ActivityGate) {}

  active(window: Float32Array, sampleRate: number): boolean {
    if (this.paused) {
      this.windowsPaused++;
      return false;
    }
    return this.inner ? this.inner.active(window, sampleRate) : true;
  }
}
