/**
 * The lifecycle contract (agent/component.ts) with fake components: start in order, rollback in
 * reverse when one fails to start, stop in reverse, a stop that hangs or throws is cut off or
 * logged and the others still stop; a stop during a start lets no component run on.
 */
import { describe, expect, it } from 'vitest';
import { ComponentRunner, type Component } from '../../agent/component.js';
import { silentLogger } from '../../agent/silent-logger.js';
import { ManualTimers } from '../helpers/manual-timers.js';

class Fake implements Component {
  constructor(
    readonly name: string,
    private readonly log: string[],
    private readonly behaviour: { failStart?: boolean; hangStop?: boolean; failStop?: boolean; startGate?: Promise<void> } = {},
    readonly stopLimitMs?: number,
  ) {}
  async start(): Promise<void> {
    this.log.push(`start ${this.name}`);
    await this.behaviour.startGate;
    if (this.behaviour.failStart) throw new Error(`${this.name} cannot start`);
  }
  stop(): Promise<void> {
    this.log.push(`stop ${this.name}`);
    if (this.behaviour.hangStop) return new Promise(() => undefined);
    if (this.behaviour.failStop) return Promise.reject(new Error(`${this.name} cannot stop`));
    return Promise.resolve();
  }
}

const settle = async () => {
  for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
};

describe('ComponentRunner', () => {
  it('starts in order and stops in reverse, once', async () => {
    const log: string[] = [];
    const runner = new ComponentRunner({ logger: silentLogger() });
    await runner.start(['a', 'b', 'c'].map((n) => new Fake(n, log)));
    expect(log).toEqual(['start a', 'start b', 'start c']);
    await runner.stop();
    await runner.stop();
    expect(log.slice(3)).toEqual(['stop c', 'stop b', 'stop a']);
  });

  it('a failing start stops the ones already started, in reverse, and the error reaches the caller', async () => {
    const log: string[] = [];
    const runner = new ComponentRunner({ logger: silentLogger() });
    const failure = runner.start([new Fake('store', log), new Fake('model', log), new Fake('sync', log, { failStart: true }), new Fake('capture', log)]);
    await expect(failure).rejects.toThrow('sync cannot start');
    expect(log).toEqual(['start store', 'start model', 'start sync', 'stop model', 'stop store']);
    await runner.stop();
    expect(log).toHaveLength(5); // nothing is stopped twice
  });

  it('a stop that hangs is cut off at its time limit, one that throws is passed over; the rest still stop', async () => {
    const log: string[] = [];
    const timers = new ManualTimers();
    const runner = new ComponentRunner({ logger: silentLogger(), timers, defaultStopLimitMs: 1000 });
    await runner.start([new Fake('store', log), new Fake('sync', log, { hangStop: true }, 2000), new Fake('detection', log, { failStop: true }), new Fake('capture', log)]);
    let stopped = false;
    const stopping = runner.stop().then(() => (stopped = true));
    await settle();
    expect(log.slice(4)).toEqual(['stop capture', 'stop detection', 'stop sync']);
    expect(timers.pending).toEqual([2000]); // the hung sync, with its own limit
    timers.advance(1999);
    await settle();
    expect(stopped).toBe(false);
    timers.advance(1);
    await stopping;
    expect(log.slice(4)).toEqual(['stop capture', 'stop detection', 'stop sync', 'stop store']);
    expect(timers.pending).toEqual([]);
  });

  it('stop() during a start waits for the component starting, starts no more, and stops what started', async () => {
    const log: string[] = [];
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const runner = new ComponentRunner({ logger: silentLogger() });
    const starting = runner.start([new Fake('store', log), new Fake('model', log, { startGate: gate }), new Fake('capture', log)]);
    await settle();
    const stopping = runner.stop();
    await settle();
    expect(log).toEqual(['start store', 'start model']);
    open();
    await starting;
    await stopping;
    expect(log).toEqual(['start store', 'start model', 'stop model', 'stop store']);
  });
});
