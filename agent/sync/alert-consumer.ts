/**
 * The reference consumer's logic (`earshot alerts tail`): delivery is at-least-once, so alerts
 * are deduplicated on the event `id` (from the payload, or the MQTT 5 user property `id`), and
 * printed as JSON lines or readable text.
 */
import type { EarshotEvent } from '../event.js';
import type { IncomingMessage } from './broker.js';

/** Remembers the last `capacity` ids seen. */
export class AlertDeduper {
  private readonly seen = new Set<string>();
  duplicates = 0;

  constructor(private readonly capacity = 100_000) {}

  /** True the first time an id is seen. */
  first(id: string): boolean {
    if (this.seen.has(id)) {
      this.duplicates++;
      return false;
    }
    this.seen.add(id);
    if (this.seen.size > this.capacity) this.seen.delete(this.seen.values().next().value!);
    return true;
  }
}

export interface ParsedAlert {
  id: string;
  /** The device level of the topic. */
  device: string;
  event: Partial<EarshotEvent> & Record<string, unknown>;
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

/** One readable line: time, device, category, label, confidence, seq, id. */
export function alertText(a: ParsedAlert): string {
  const e = a.event;
  const when = typeof e.start === 'string' ? e.start.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '?';
  const conf = typeof e.confidence === 'number' ? e.confidence.toFixed(2) : '?';
  const cat = CATEGORY_TEXT[String(e.category)] ?? String(e.category ?? '?');
  const where = e.location && typeof e.location === 'object' ? ` at ${e.location.lat},${e.location.lon}` : '';
  const clip = e.clip ? ' [clip]' : '';
  return `${when}  ${a.device}  ${cat.padEnd(8)}  ${String(e.label ?? '?').padEnd(12)}  ${conf}  seq ${String(e.seq ?? '?')}  id ${a.id}${where}${clip}`;
}
