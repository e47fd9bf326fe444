import { describe, expect, it } from 'vitest';
import { InferenceQueue } from '../../agent/pipeline/inference-queue.js';

interface Win {
  id: number;
  frames: number;
}

/** A queue whose worker starts only when the test lets it, recording what it was given. */
function setup(opts: { maxWindows: number; batchSize: number; fail?: (batch: Win[]) => boolean }) {
  const seen: (number[] | string)[] = [];
  const errors: unknown[] = [];
  let startWorker!: () => void;
  const started = new Promise<void>((r) => (startWorker = r));
  const queue = new InferenceQueue<Win, string>({
    worker: {
      windows: async (batch) => {
        seen.push(batch.map((w) => w.id));
        if (opts.fail?.(batch)) throw new Error('tagger down');
      },
      marker: (m) => void seen.push(m),
      onError: (err) => void errors.push(err),
    },
    maxWindows: opts.maxWindows,
    batchSize: opts.batchSize,
    nextTurn: () => started,
  });
  return { queue, seen, errors, startWorker };
}

describe('InferenceQueue', () => {
  it('never makes capture wait: past the bound it drops the oldest waiting window and counts it', async () => {
    const { queue, seen, startWorker } = setup({ maxWindows: 3, batchSize: 8 });
    for (let id = 1; id <= 5; id++) queue.pushWindow({ id, frames: 10 });
    expect(seen).toEqual([]); // nothing ran during the pushes
    expect([queue.queued, queue.dropped, queue.depth]).toEqual([5, 2, 3]);
    startWorker();
    await queue.drain();
    expect(seen).toEqual([[3, 4, 5]]);
    expect(queue.depth).toBe(0);
  });

  it('markers keep their place and are never dropped; batches stop at a marker, a length change and the batch size', async () => {
    const { queue, seen, startWorker } = setup({ maxWindows: 5, batchSize: 2 });
    queue.pushWindow({ id: 1, frames: 10 });
    queue.pushMarker('end of segment 1');
    queue.pushWindow({ id: 2, frames: 10 });
    queue.pushWindow({ id: 3, frames: 10 });
    queue.pushWindow({ id: 4, frames: 10 });
    queue.pushWindow({ id: 5, frames: 6 }); // a tail: shorter
    queue.pushWindow({ id: 6, frames: 10 }); // drops window 1, not the marker
    startWorker();
    await queue.drain();
    expect(seen).toEqual(['end of segment 1', [2, 3], [4], [5], [6]]);
    expect(queue.dropped).toBe(1);
  });

  it('a failing batch is reported and the worker goes on', async () => {
    const { queue, seen, errors, startWorker } = setup({ maxWindows: 8, batchSize: 1, fail: (b) => b[0]!.id === 1 });
    queue.pushWindow({ id: 1, frames: 10 });
    queue.pushWindow({ id: 2, frames: 10 });
    startWorker();
    await queue.drain();
    expect(seen).toEqual([[1], [2]]);
    expect(errors.map((e) => (e as Error).message)).toEqual(['tagger down']);
  });

  it('drain() waits for windows queued while the worker runs', async () => {
    const { queue, seen, startWorker } = setup({ maxWindows: 8, batchSize: 1 });
    startWorker();
    queue.pushWindow({ id: 1, frames: 10 });
    const drained = queue.drain();
    queue.pushWindow({ id: 2, frames: 10 });
    await drained;
    expect(seen).toEqual([[1], [2]]);
  });
});
