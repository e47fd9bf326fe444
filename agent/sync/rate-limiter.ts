/**
 * Publish rate limits for metered links (mqtt.maxMessagesPerSec, mqtt.maxBytesPerSec): two token
 * buckets holding one second's allowance each. A message larger than a whole second's bytes
 * still goes once the bucket is full, leaving it in debt, so the average rate holds and nothing
 * is stuck forever.
 */
export interface RateLimits {
  /** 0: no limit. */
  messagesPerSec: number;
  /** 0: no limit. */
  bytesPerSec: number;
}

export class RateLimiter {
  private msgTokens = 0;
  private byteTokens = 0;
  private last: number;
  private limits: RateLimits = { messagesPerSec: 0, bytesPerSec: 0 };

  constructor(
    limits: RateLimits,
    private readonly clock: () => number = Date.now,
  ) {
    this.last = clock();
    this.setLimits(limits);
  }

  get limited(): boolean {
    return this.limits.messagesPerSec > 0 || this.limits.bytesPerSec > 0;
  }

  /** Applies new limits now (a `config/set` over MQTT); the buckets start full. */
  setLimits(limits: RateLimits): void {
    this.limits = { ...limits };
    this.msgTokens = Math.max(1, limits.messagesPerSec);
    this.byteTokens = limits.bytesPerSec;
    this.last = this.clock();
  }

  /** Milliseconds to wait before a message of `bytes` may be sent (0: now). */
  delayFor(bytes: number): number {
    this.refill();
    const { messagesPerSec: mps, bytesPerSec: bps } = this.limits;
    let wait = 0;
    if (mps > 0 && this.msgTokens < 1) wait = Math.max(wait, ((1 - this.msgTokens) / mps) * 1000);
    if (bps > 0) {
      const need = Math.min(bytes, bps);
      if (this.byteTokens < need) wait = Math.max(wait, ((need - this.byteTokens) / bps) * 1000);
    }
    return Math.ceil(wait);
  }

  /** Counts a message that is being sent. */
  take(bytes: number): void {
    this.refill();
    if (this.limits.messagesPerSec > 0) this.msgTokens -= 1;
    if (this.limits.bytesPerSec > 0) this.byteTokens -= bytes;
  }

  private refill(): void {
    const now = this.clock();
    const dt = Math.max(0, now - this.last) / 1000;
    this.last = now;
    const { messagesPerSec: mps, bytesPerSec: bps } = this.limits;
    if (mps > 0) this.msgTokens = Math.min(Math.max(1, mps), this.msgTokens + dt * mps);
    if (bps > 0) this.byteTokens = Math.min(bps, this.byteTokens + dt * bps);
  }
}
