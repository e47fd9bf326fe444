/**
 * The AudioSource contract (agent/capture/source.ts), run against every source in the manner of
 * the store's contract suite: source-contract.test.ts calls `describeSourceContract` with a
 * fixture per source. Each fixture's input is a ramp (sample i is i mod RAMP), so a sample that
 * is delivered twice, skipped or reordered breaks the ramp.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { EarshotError } from '../../agent/errors.js';
import type { AudioSink, AudioSource } from '../../agent/capture/source.js';
import { waitFor } from '../helpers/wait-for.js';

export const RAMP = 1000;

/** `n` ramp samples starting at ramp position `from`. */
export function ramp(from: number, n: number): Int16Array {
  return Int16Array.from({ length: n }, (_, i) => (from + i) % RAMP);
}

export interface SourceFixture {
  source: AudioSource;
  kind: AudioSource['kind'];
  /** The rate the source delivers at. */
  rate: number;
  /** What `sampleRate` reads before the first start: the rate, or 0 for a source that learns it at start. */
  rateBeforeStart: number;
  /** Moves the input on by one step: lets 100 ms of the source's own timers pass, writes a block to a stream. */
  pump(): void;
  /** Ends the input for good: the stream closes, the file ends, the recorder exits. */
  fail(): void;
  /** What `interrupted` says after fail(). */
  failure: RegExp;
  cleanup?(): void | Promise<void>;
}

/** A source whose input cannot be opened, and how the source reports it. */
export interface BrokenFixture {
  source: AudioSource;
  pump(): void;
  /** Through the sink (a source that keeps retrying) or by rejecting start() (a configuration error). */
  reports: 'interrupted' | 'rejects';
  message: RegExp;
  cleanup?(): void | Promise<void>;
}

type Call = { kind: 'data'; samples: Int16Array; rate: number } | { kind: 'interrupted'; reason: string } | { kind: 'gap' };

/** A sink that records every call, with the source's sampleRate at each data() call. */
class RecordingSink implements AudioSink {
  readonly calls: Call[] = [];
  constructor(private readonly source: () => AudioSource) {}
  data(samples: Int16Array): void {
    this.calls.push({ kind: 'data', samples, rate: this.source().sampleRate });
  }
  interrupted(reason: string): void {
    this.calls.push({ kind: 'interrupted', reason });
  }
  gap(): void {
    this.calls.push({ kind: 'gap' });
  }
  get samples(): number {
    return this.since(0).length;
  }
  /** The samples delivered from call `index` on. */
  since(index: number): number[] {
    return this.calls.slice(index).flatMap((c) => (c.kind === 'data' ? Array.from(c.samples) : []));
  }
  get interruptions(): string[] {
    return this.calls.flatMap((c) => (c.kind === 'interrupted' ? [c.reason] : []));
  }
}

/** Every sample follows the one before it on the ramp (the first may be anywhere). */
function isRamp(samples: number[]): boolean {
  return samples.every((v, i) => i === 0 || v === (samples[i - 1]! + 1) % RAMP);
}

/** Lets pending I/O callbacks run: a source that is stopped must stay silent through them. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

export function describeSourceContract(name: string, make: () => SourceFixture, makeBroken: () => BrokenFixture): void {
  describe(`AudioSource contract: ${name}`, () => {
    const cleanups: (() => void | Promise<void>)[] = [];
    afterEach(async () => {
      for (const c of cleanups.splice(0).reverse()) await c();
    });

    const open = () => {
      const f = make();
      cleanups.push(async () => {
        await f.source.stop();
        await f.cleanup?.();
      });
      return { f, sink: new RecordingSink(() => f.source) };
    };
    /** Pumps the input until `pred` holds (real children and streams take real time). */
    const flow = (f: SourceFixture, pred: () => boolean, what: string) =>
      waitFor(
        () => {
          f.pump();
          return pred();
        },
        10_000,
        what,
      );
    const moreThan = (sink: RecordingSink, n: number) => () => sink.samples > n;

    it('names itself: kind and description are set before start', () => {
      const { f } = open();
      expect(f.source.kind).toBe(f.kind);
      expect(typeof f.source.description).toBe('string');
      expect(f.source.description.trim()).not.toBe('');
    });

    it('sampleRate: as documented before start, the delivered rate once start() has resolved and at every data()', async () => {
      const { f, sink } = open();
      expect(f.source.sampleRate).toBe(f.rateBeforeStart);
      await f.source.start(sink);
      expect(f.source.sampleRate).toBe(f.rate);
      await flow(f, moreThan(sink, 0), 'audio after start');
      for (const c of sink.calls) if (c.kind === 'data') expect(c.rate).toBe(f.rate);
    });

    it('delivers its input after start, each sample once and in order', async () => {
      const { f, sink } = open();
      await f.source.start(sink);
      await flow(f, moreThan(sink, 2 * RAMP), 'two ramps of audio');
      expect(isRamp(sink.since(0))).toBe(true);
      expect(sink.interruptions).toEqual([]);
    });

    it('start → stop → start, three times: audio flows again, nothing comes while stopped, nothing is doubled, a failure is reported once', async () => {
      const { f, sink } = open();
      await f.source.start(sink);
      await flow(f, moreThan(sink, 0), 'audio after the first start');
      for (let cycle = 1; cycle <= 3; cycle++) {
        await f.source.stop();
        const stoppedAt = sink.calls.length;
        for (let i = 0; i < 3; i++) f.pump();
        await settle();
        expect(sink.calls.length, `calls while stopped (cycle ${cycle})`).toBe(stoppedAt);
        await f.source.start(sink);
        await flow(f, () => sink.since(stoppedAt).length > RAMP, `audio after restart ${cycle}`);
        expect(isRamp(sink.since(stoppedAt)), `one copy of each sample after restart ${cycle}`).toBe(true);
        expect(f.source.sampleRate).toBe(f.rate);
      }
      f.fail();
      await flow(f, () => sink.interruptions.length > 0, 'the failure to be reported');
      await settle();
      expect(sink.interruptions).toHaveLength(1);
      expect(sink.interruptions[0]).toMatch(f.failure);
    });

    it('stop() is idempotent, and safe before start()', async () => {
      const { f, sink } = open();
      await f.source.stop();
      await f.source.stop();
      await f.source.start(sink);
      await flow(f, moreThan(sink, 0), 'audio after start');
      await Promise.all([f.source.stop(), f.source.stop()]);
      await f.source.stop();
      const stoppedAt = sink.calls.length;
      for (let i = 0; i < 3; i++) f.pump();
      await settle();
      expect(sink.calls.length).toBe(stoppedAt);
      expect(sink.interruptions).toEqual([]);
    });

    it('stop() while start() is pending wins: nothing is delivered after it; the next start works', async () => {
      const { f, sink } = open();
      const starting = f.source.start(sink);
      await f.source.stop();
      await starting;
      const stoppedAt = sink.calls.length;
      for (let i = 0; i < 3; i++) f.pump();
      await settle();
      expect(sink.calls.length).toBe(stoppedAt);
      await f.source.start(sink);
      await flow(f, () => sink.since(stoppedAt).length > RAMP, 'audio after the next start');
      expect(isRamp(sink.since(stoppedAt))).toBe(true);
    });

    it('an input that cannot be opened is reported as documented, never thrown', async () => {
      const b = makeBroken();
      cleanups.push(async () => {
        await b.source.stop();
        await b.cleanup?.();
      });
      const sink = new RecordingSink(() => b.source);
      const started = Promise.resolve(b.source.start(sink)).then(
        () => undefined,
        (err: unknown) => err,
      );
      if (b.reports === 'rejects') {
        const err = await started;
        expect(err).toBeInstanceOf(EarshotError);
        expect((err as Error).message).toMatch(b.message);
        expect((err as Error).message).toContain(b.source.description);
      } else {
        expect(await started).toBeUndefined();
        await waitFor(
          () => {
            b.pump();
            return sink.interruptions.length > 0;
          },
          10_000,
          'the failure to be reported',
        );
        // Retrying (pumps let the retries happen) does not repeat the report.
        for (let i = 0; i < 5; i++) b.pump();
        await settle();
        expect(sink.interruptions).toHaveLength(1);
        expect(sink.interruptions[0]).toMatch(b.message);
      }
      expect(sink.samples).toBe(0);
      await b.source.stop();
    });
  });
}
