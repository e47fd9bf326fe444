/**
 * The event contract as stored and sent: one function builds the object every output uses (the
 * MQTT payload, `events export`, `events show`), with the contract's key order and without
 * absent optional fields, so every path yields byte-identical JSON for the same event.
 */
import type { EarshotEvent, EventVersionState } from '../event.js';

/** Contract keys in the order DESIGN.md lists them. Keys added later go at the end. */
const CONTRACT_KEYS = ['id', 'seq', 'device', 'label', 'category', 'confidence', 'start', 'end', 'modelLabels', 'model', 'location', 'clip', 'clockSynced', 'file', 'startSec', 'endSec', 'state', 'rev'] as const;
const CONTRACT_KEY_SET: ReadonlySet<string> = new Set(CONTRACT_KEYS);

/** A copy of the event with contract keys in order, undefined fields dropped, unknown (newer) fields kept at the end. */
export function contractEvent(event: EarshotEvent): EarshotEvent {
  const src = event as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key of CONTRACT_KEYS) if (src[key] !== undefined) out[key] = src[key];
  for (const [key, value] of Object.entries(src)) if (!CONTRACT_KEY_SET.has(key) && value !== undefined) out[key] = value;
  return out as unknown as EarshotEvent;
}

/** The MQTT payload of an event alert (one JSON object, no trailing newline). */
export function eventPayload(event: EarshotEvent): string {
  return JSON.stringify(contractEvent(event));
}

/** The payload of one published version of an event: the stored event plus its `state` and `rev`. */
export function versionPayload(event: EarshotEvent, state: EventVersionState, rev: number): string {
  return eventPayload({ ...event, state, rev });
}

/** The event without the version fields (`state`, `rev`): those belong to a published version, not to the stored event. */
export function withoutVersion<T extends Partial<EarshotEvent>>(event: T): T {
  const { state: _state, rev: _rev, ...rest } = event;
  return rest as T;
}

/** Fields of an event object that are not in the contract this code knows (kept as they are). */
export function extraFields(event: object): Record<string, unknown> | undefined {
  const extra: Record<string, unknown> = {};
  let any = false;
  for (const [key, value] of Object.entries(event)) {
    if (!CONTRACT_KEY_SET.has(key) && value !== undefined) {
      extra[key] = value;
      any = true;
    }
  }
  return any ? extra : undefined;
}

/** Milliseconds since the epoch of an ISO time; throws a RangeError naming the field when unreadable. */
export function isoToMs(iso: string, field: string): number {
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) throw new RangeError(`${field}: expected an ISO 8601 time, got ${JSON.stringify(iso)}`);
  return ms;
}
