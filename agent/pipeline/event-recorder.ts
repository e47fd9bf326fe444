/**
 * Tracker changes → the store (and, through the outbox, the broker): an event is recorded when it
 * opens, a threat's alert is enqueued at once (rangers should not wait for it to end), every
 * event is published when it closes (a threat again: its final version, a higher `rev`), and a
 * clip (pre-roll, event, post-roll) is cut from the sample ring when the post-roll has been
 * heard; keeping it publishes the event once more with its clip (the store decides the versions:
 * agent/store/types.ts). A store or clip failure is logged and never reaches capture.
 *
 * The recorder decides itself when a clip is due. It is told when audio has progressed and when a
 * segment ended rather than polling on a timer: the ring only grows when audio is pushed, so those
 * are the only moments a clip can become due, and no clock or timer has to be injected.
 */
import type { Config } from '../../config/schema.js';
import type { EarshotEvent, ModelRef } from '../event.js';
import { newEventId } from '../event.js';
import { eventHeadField, type ScoringHead } from '../detect/scoring-head.js';
import type { Logger } from '../log.js';
import type { ClipWriter } from '../store/clip-writer.js';
import type { Store } from '../store/types.js';
import { topicsFor } from '../sync/topics.js';
import type { LiveChange } from './live-pipeline.js';
import type { SampleRing } from './sample-ring.js';

export interface EventRecorderOptions {
  config: Config;
  store: Store;
  clips?: Pick<ClipWriter, 'write'>;
  ring: SampleRing;
  modelRate: number;
  model: ModelRef;
  /** The site head, when one runs: events of its labels name it. */
  head?: ScoringHead;
  clockSynced: () => boolean;
  /** New alerts are in the outbox. */
  kick?: () => void;
  logger: Logger;
}

interface PendingClip {
  id: string;
  label: string;
  from: number;
  to: number;
}

export class EventRecorder {
  private readonly ids = new Map<number, string>();
  private pending: PendingClip[] = [];
  private writing: Promise<void> = Promise.resolve();
  private readonly topic: string;
  private readonly log: Logger;

  constructor(private readonly opts: EventRecorderOptions) {
    this.topic = topicsFor(opts.config.mqtt.topicPrefix, opts.config.device.id).events;
    this.log = opts.logger.child({ component: 'events' });
  }

  readonly onChange = (c: LiveChange): void => {
    const { store, config } = this.opts;
    const patch = {
      confidence: Math.round(c.event.confidence * 1000) / 1000,
      end: new Date(c.endMs).toISOString(),
      modelLabels: c.event.modelLabels,
      clockSynced: this.opts.clockSynced(),
    };
    try {
      if (c.kind === 'opened') {
        const id = newEventId(Math.round(c.startMs));
        const ev: Omit<EarshotEvent, 'seq' | 'clip'> = {
          id,
          device: config.device.id,
          label: c.event.label,
          category: c.event.category,
          start: new Date(c.startMs).toISOString(),
          model: this.opts.model,
          ...(config.device.location ? { location: config.device.location } : {}),
          ...patch,
          ...eventHeadField(this.opts.head, c.event.label),
        };
        store.openEvent(ev);
        this.ids.set(c.event.key, id);
        this.log.info({ id, label: ev.label, confidence: ev.confidence }, 'event opened');
        if (c.event.category === 'threat' && store.enqueueAlert(id, { topic: this.topic })) this.opts.kick?.();
        return;
      }
      const id = this.ids.get(c.event.key);
      if (!id) return;
      if (c.kind === 'updated') {
        store.updateEvent(id, patch);
        return;
      }
      this.ids.delete(c.event.key);
      store.closeEvent(id, patch, { alert: { topic: this.topic } });
      this.log.info({ id, label: c.event.label, confidence: patch.confidence, end: patch.end }, 'event closed');
      this.opts.kick?.();
      const pre = Math.round(config.storage.clipPreSec * this.opts.modelRate);
      const post = Math.round(config.storage.clipPostSec * this.opts.modelRate);
      if (this.opts.clips) this.pending.push({ id, label: c.event.label, from: c.event.startSample - pre, to: c.event.endSample + post });
      this.writeDue(false);
    } catch (err) {
      this.log.error({ err: (err as Error).message, label: c.event.label, kind: c.kind }, 'event not stored');
    }
  };

  /** Audio was added to the ring: writes the clips whose post-roll is now there. */
  audioProgressed(): void {
    this.writeDue(false);
  }

  /** The stream broke: no more post-roll will come for what is pending, so it is written as it is. */
  segmentEnded(): void {
    this.writeDue(true);
  }

  /** Writes every pending clip and waits for the writes to finish (shutdown). */
  async flush(): Promise<void> {
    this.writeDue(true);
    await this.writing;
  }

  private writeDue(all: boolean): void {
    const ring = this.opts.ring;
    const due = this.pending.filter((p) => all || ring.end >= p.to);
    if (!due.length) return;
    this.pending = this.pending.filter((p) => !due.includes(p));
    for (const p of due) {
      const samples = ring.readInt16(p.from, p.to);
      if (!samples.length) continue;
      this.writing = this.writing.then(async () => {
        try {
          const clip = await this.opts.clips!.write({ eventId: p.id, label: p.label, samples, sampleRateHz: this.opts.modelRate });
          if (clip && this.opts.store.attachClip(p.id, clip)) this.opts.kick?.();
        } catch (err) {
          this.log.warn({ err: (err as Error).message, id: p.id }, 'clip not kept');
        }
      });
    }
  }
}
