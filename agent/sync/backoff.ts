/**
 * Reconnect delays: capped exponential backoff with jitter. The n-th consecutive failure waits
 * a random time between half and all of `min(maxMs, minMs * 2^(n-1))` ("equal jitter"), so a
 * fleet of devices that lost the same broker does not hammer it in step, while the wait never
 * exceeds the nominal step (a test relies on that: connect within two steps of the broker coming back).
 */
export interface BackoffOptions {
  minMs: number;
  maxMs: number;
  /** Uniform in [0, 1); tests inject a fixed one. */
  random?: () => number;
}

export class ReconnectBackoff {
  private failures = 0;
  private readonly random: () => number;

  constructor(private readonly opts: BackoffOptions) {
    this.random = opts.random ?? Math.random;
  }

  /** Consecutive failures since the last success. */
  get attempts(): number {
    return this.failures;
  }

  /** The nominal (un-jittered) delay after `n` consecutive failures. */
  step(n: number): number {
    const { minMs, maxMs } = this.opts;
    return Math.min(maxMs, minMs * 2 ** Math.min(Math.max(n - 1, 0), 40));
  }

  /** Counts a failure and returns how long to wait before the next attempt. */
  next(): number {
    this.failures++;
    const step = this.step(this.failures);
    return Math.round(step - (step / 2) * this.random());
  }

  reset(): void {
    this.failures = 0;
  }
}
