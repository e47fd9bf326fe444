/**
 * Timers (agent/sync/timers.ts) that run only when the test moves them on, with the clock that
 * goes with them. For code under test that also talks to a real child process or broker: vitest's
 * fake timers would stop the test's own waits (waitFor) too.
 */
import type { TimerHandle, Timers } from '../../agent/timers.js';

interface Timer {
  due: number;
  ms: number;
  fn: () => void;
  repeat: boolean;
}

export class ManualTimers implements Timers {
  /** Milliseconds on the manual clock. */
  now = 0;
  private nextId = 1;
  private readonly timers = new Map<number, Timer>();
  /** The delay of every timer set so far, in order. */
  readonly requested: number[] = [];

  /** The clock to inject beside the timers. */
  readonly clock = (): number => this.now;

  setTimeout(fn: () => void, ms: number): TimerHandle {
    return this.add(fn, ms, false);
  }

  setInterval(fn: () => void, ms: number): TimerHandle {
    return this.add(fn, ms, true);
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers.delete(handle as number);
  }

  clearInterval(handle: TimerHandle): void {
    this.timers.delete(handle as number);
  }

  /** Delays of the timers waiting now, soonest first. */
  get pending(): number[] {
    return this.ordered().map(([, t]) => t.ms);
  }

  /** Moves the clock on by `ms`, running each timer that falls due on the way, in order. */
  advance(ms: number): void {
    const end = this.now + ms;
    for (let next = this.ordered()[0]; next && next[1].due <= end; next = this.ordered()[0]) this.fire(...next);
    this.now = end;
  }

  /** Moves the clock to the soonest timer and runs it; returns how long that was. */
  runNext(): number {
    const next = this.ordered()[0];
    if (!next) throw new Error('no timer is pending');
    const waited = next[1].due - this.now;
    this.fire(...next);
    return waited;
  }

  private add(fn: () => void, ms: number, repeat: boolean): number {
    const id = this.nextId++;
    this.timers.set(id, { due: this.now + ms, ms, fn, repeat });
    this.requested.push(ms);
    return id;
  }

  private ordered(): [number, Timer][] {
    return [...this.timers].sort(([a, x], [b, y]) => x.due - y.due || a - b);
  }

  private fire(id: number, timer: Timer): void {
    this.now = Math.max(this.now, timer.due);
    if (timer.repeat) timer.due += Math.max(1, timer.ms);
    else this.timers.delete(id);
    timer.fn();
  }
}
