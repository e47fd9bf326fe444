/**
 * The reference consumer's logic (`earshot alerts tail`). Delivery is at-least-once and an event
 * is published more than once as it evolves (DESIGN.md: the same `id`, a higher `rev` when it
 * closes, with its final confidence, end and clip), so alerts are kept by `id` (from the payload,
 * or the MQTT 5 user property `id`) with the highest `rev` seen: a higher rev is an update, the
 * same rev a duplicate, a lower one is older news that arrived late (e.g. an outbox resend after a
 * reconnect) and is never shown after the newer one. An event without `rev` (a device from before
 * revisions) counts as rev 1.
 */
import type { EarshotEvent } from '../event.js';
import type { IncomingMessage } from './broker.js';

/** What an arriving alert is, given those seen before. */
export type Arrival = 'new' | 'update' | 'duplicate' | 'stale';

interface Seen {
  rev: number;
  confidence?: number;
}

/** Remembers the highest rev (and its confidence) of the last `capacity` ids seen. */
export class AlertDeduper {
  private readonly seen = new Map<string, Seen>();
  /** Arrivals not shown: the same rev again, or an older one. */
  duplicates = 0;
  updates = 0;

  constructor(private readonly capacity = 100_000) {}

  /** Classifies an alert and remembers it if it is news; `previous` is what was shown before. */
  arrive(id: string, rev: number, confidence?: number): { arrival: Arrival; previous?: Seen } {
    const previous = this.seen.get(id);
    if (previous && rev <= previous.rev) {
      this.duplicates++;
      return { arrival: rev === previous.rev ? 'duplicate' : 'stale', previous };
    }
    // Re-inserted so that the ids forgotten first are those not heard of for longest.
    this.seen.delete(id);
    this.seen.set(id, confidence === undefined ? { rev } : { rev, confidence });
    if (this.seen.size > this.capacity) this.seen.delete(this.seen.keys().next().value!);
    if (!previous) return { arrival: 'new' };
    this.updates++;
    return { arrival: 'update', previous };
  }

  /** True the first time an id is seen (revisions aside). */
  first(id: string): boolean {
    return this.arrive(id, 1).arrival === 'new';
  }
}

export interface ParsedAlert {
  id: string;
  /** The device level of the topic. */
  device: string;
  event: Partial<EarshotEvent> & Record<string, unknown>;
}

/** The alert's rev: 1 when absent or not a positive whole number. */
export function alertRev(a: ParsedAlert): number {
  const rev = a.event.rev;
  return typeof rev === 'number' && Number.isSafeInteger(rev) && rev > 0 ? rev : 1;
}

/** The alert in a message on `<prefix>/<device>/events`, or a reason it is not one. */
export function parseAlert(msg: IncomingMessage): ParsedAlert | { error: string } {
  const levels = msg.topic.split('/');
  const device = levels[levels.length - 2] ?? '?';
  let event: unknown;
  try {
    event = JSON.parse(msg.payload.toString('utf8'));
  } catch {
    return { error: `${msg.topic}: payload is not JSON` };
  }
  if (typeof event !== 'object' || event === null || Array.isArray(event)) return { error: `${msg.topic}: payload is not an event object` };
  const e = event as ParsedAlert['event'];
  const id = typeof e.id === 'string' ? e.id : msg.properties?.userProperties?.id;
  if (!id) return { error: `${msg.topic}: event without an id` };
  return { id, device: typeof e.device === 'string' ? e.device : device, event: e };
}

const CATEGORY_TEXT: Record<string, string> = { threat: 'THREAT', human: 'human', wildlife: 'wildlife', environment: 'env' };

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

/**
 * One readable line: time, device, category, label, confidence, seq, id, then what is known of
 * the event's state (`open`, or `closed` and its duration), place and clip. An update ends with
 * what it updates: `(update rev 2; confidence was 0.57)`.
 */
export function alertText(a: ParsedAlert, update?: { previous: { rev: number; confidence?: number } }): string {
  const e = a.event;
  const when = typeof e.start === 'string' ? e.start.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '?';
  const conf = typeof e.confidence === 'number' ? e.confidence.toFixed(2) : '?';
  const cat = CATEGORY_TEXT[String(e.category)] ?? String(e.category ?? '?');
  const durationMs = typeof e.start === 'string' && typeof e.end === 'string' ? Date.parse(e.end) - Date.parse(e.start) : NaN;
  const state = e.state === 'closed' ? `  closed${Number.isFinite(durationMs) ? ` ${seconds(durationMs)}` : ''}` : e.state === 'open' ? '  open' : '';
  const where = e.location && typeof e.location === 'object' ? ` at ${e.location.lat},${e.location.lon}` : '';
  const clip = !e.clip ? '' : typeof e.clip.format === 'string' && typeof e.clip.durationMs === 'number' ? ` [clip ${e.clip.format} ${seconds(e.clip.durationMs)}]` : ' [clip]';
  let line = `${when}  ${a.device}  ${cat.padEnd(8)}  ${String(e.label ?? '?').padEnd(12)}  ${conf}  seq ${String(e.seq ?? '?')}  id ${a.id}${state}${where}${clip}`;
  if (update) {
    const was = update.previous.confidence;
    line += `  (update rev ${alertRev(a)}${was === undefined || was === e.confidence ? '' : `; confidence was ${was.toFixed(2)}`})`;
  }
  return line;
}
