/**
 * Event tracker: per alert label, window scores → events with hysteresis. Pure: no clock, no
 * I/O; times are sample indices, so the same audio always yields the same events.
 *
 *  - opens when `minWindows` windows in a row score ≥ threshold;
 *  - stays open while windows score ≥ closeThreshold (threshold × closeRatio);
 *  - closes after `closeAfterHops` windows in a row below closeThreshold (this merges bursts
 *    separated by short gaps, e.g. a volley of shots, into one event);
 *  - the event spans from the first to the last window that kept it alive;
 *  - confidence is the peak score; the evidence is that of the peak window.
 */
import type { ModelLabelScore, Category } from '../event.js';

export interface TrackedLabel {
  name: string;
  category: Category;
  threshold: number;
  closeThreshold: number;
  minWindows: number;
}

export interface WindowScore {
  /** Score of this label in the window, 0–1. */
  score: number;
  /** The evidence behind it (top model labels); called at most once, during `update`. */
  evidence?: () => ModelLabelScore[];
}

export interface TrackedEvent {
  /** Stable within one tracker: the key the caller maps to an event id. */
  key: number;
  label: string;
  category: Category;
  startSample: number;
  endSample: number;
  confidence: number;
  modelLabels: ModelLabelScore[];
  /** Windows that scored at or above the close threshold. */
  windows: number;
}

export type EventChange = { kind: 'opened' | 'updated' | 'closed'; event: TrackedEvent };

interface LabelState {
  /** Windows in a row at or above threshold while no event is open. */
  streak: number;
  streakStart: number;
  streakPeak: number;
  /** Evidence of the streak's peak, taken at once (the caller's buffers are reused). */
  streakModelLabels: ModelLabelScore[];
  open?: TrackedEvent;
  quietHops: number;
}

export interface TrackerOptions {
  labels: readonly TrackedLabel[];
  /** Quiet windows in a row that close an event. */
  closeAfterHops: number;
}

export class EventTracker {
  private readonly states = new Map<string, LabelState>();
  private nextKey = 1;

  constructor(private readonly opts: TrackerOptions) {
    for (const l of opts.labels) this.states.set(l.name, { streak: 0, streakStart: 0, streakPeak: 0, streakModelLabels: [], quietHops: 0 });
  }

  /**
   * Feeds one window: [startSample, endSample) and the score of every tracked label (by name).
   * Returns what changed, in label order.
   */
  update(startSample: number, endSample: number, scores: ReadonlyMap<string, WindowScore>): EventChange[] {
    const changes: EventChange[] = [];
    for (const label of this.opts.labels) {
      const s = this.states.get(label.name)!;
      const w = scores.get(label.name);
      const score = w?.score ?? 0;
      if (s.open) {
        const ev = s.open;
        if (score >= label.closeThreshold) {
          s.quietHops = 0;
          ev.endSample = Math.max(ev.endSample, endSample);
          ev.windows++;
          if (score > ev.confidence) {
            ev.confidence = score;
            ev.modelLabels = w?.evidence?.() ?? [];
          }
          changes.push({ kind: 'updated', event: { ...ev } });
        } else if (++s.quietHops >= this.opts.closeAfterHops) {
          changes.push({ kind: 'closed', event: { ...ev } });
          s.open = undefined;
          s.quietHops = 0;
        }
        continue;
      }
      if (score >= label.threshold) {
        if (s.streak === 0) {
          s.streakStart = startSample;
          s.streakPeak = 0;
        }
        s.streak++;
        if (score > s.streakPeak) {
          s.streakPeak = score;
          s.streakModelLabels = w?.evidence?.() ?? [];
        }
        if (s.streak >= label.minWindows) {
          s.open = {
            key: this.nextKey++,
            label: label.name,
            category: label.category,
            startSample: s.streakStart,
            endSample,
            confidence: s.streakPeak,
            modelLabels: s.streakModelLabels,
            windows: s.streak,
          };
          s.streak = 0;
          s.quietHops = 0;
          changes.push({ kind: 'opened', event: { ...s.open } });
        }
      } else {
        s.streak = 0;
      }
    }
    return changes;
  }

  /** Closes every open event (end of a file, shutdown). */
  flush(): EventChange[] {
    const changes: EventChange[] = [];
    for (const label of this.opts.labels) {
      const s = this.states.get(label.name)!;
      if (s.open) changes.push({ kind: 'closed', event: { ...s.open } });
      s.open = undefined;
      s.streak = 0;
      s.quietHops = 0;
    }
    return changes;
  }
}
