/**
 * The bounded queue between capture and inference. Capture enqueues synchronously and never
 * waits; one worker drains the queue on later turns of the event loop, windows of one length
 * in batches. When inference falls behind, the oldest waiting window is dropped (and counted):
 * fresh audio matters more than a backlog. Markers (a segment's end) are never dropped and keep
 * their place between the windows.
 */

export type QueueItem<W, M> = { kind: 'window'; window: W } | { kind: 'marker'; marker: M };

export interface InferenceWorker<W, M> {
  /** Scores a batch of consecutive windows of one length. A rejection is reported to `onError`; the worker goes on. */
  windows(batch: W[]): Promise<void>;
  marker(marker: M): void;
  onError(err: unknown): void;
}

export interface InferenceQueueOptions<W extends { frames: number }, M> {
  worker: InferenceWorker<W, M>;
  /** Windows waiting before the oldest is dropped. */
  maxWindows: number;
  batchSize: number;
  /** Resolves on a later turn of the event loop (default: setImmediate), so capture returns first. */
  nextTurn?: () => Promise<void>;
}

const setImmediateTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class InferenceQueue<W extends { frames: number }, M> {
  /** Windows ever enqueued, and those dropped unscored. */
  queued = 0;
  dropped = 0;
  private items: QueueItem<W, M>[] = [];
  private waitingWindows = 0;
  private working?: Promise<void>;

  constructor(private readonly opts: InferenceQueueOptions<W, M>) {}

  /** Items waiting (a batch being scored no longer counts). */
  get depth(): number {
    return this.items.length;
  }

  pushWindow(window: W): void {
    this.queued++;
    if (this.waitingWindows >= Math.max(1, this.opts.maxWindows)) this.dropOldestWindow();
    this.items.push({ kind: 'window', window });
    this.waitingWindows++;
    this.wake();
  }

  pushMarker(marker: M): void {
    this.items.push({ kind: 'marker', marker });
    this.wake();
  }

  /** Resolves once everything queued has been handled. */
  async drain(): Promise<void> {
    while (this.working) await this.working;
  }

  private dropOldestWindow(): void {
    this.items.splice(this.items.findIndex((i) => i.kind === 'window'), 1);
    this.waitingWindows--;
    this.dropped++;
  }

  private wake(): void {
    this.working ??= this.work().finally(() => (this.working = undefined));
  }

  private async work(): Promise<void> {
    await (this.opts.nextTurn ?? setImmediateTurn)();
    const { worker } = this.opts;
    for (let head = this.items[0]; head; head = this.items[0]) {
      if (head.kind === 'marker') {
        this.items.shift();
        worker.marker(head.marker);
        continue;
      }
      const batch = this.takeBatch(head.window.frames);
      try {
        await worker.windows(batch);
      } catch (err) {
        worker.onError(err);
      }
    }
  }

  /** Consecutive windows of `frames` from the front, up to the batch size. */
  private takeBatch(frames: number): W[] {
    const batch: W[] = [];
    while (batch.length < this.opts.batchSize) {
      const next = this.items[0];
      if (next?.kind !== 'window' || next.window.frames !== frames) break;
      this.items.shift();
      this.waitingWindows--;
      batch.push(next.window);
    }
    return batch;
  }
}
