/**
 * Checks on what callers hand the store, shared by every implementation so they refuse the
 * same things with the same DataError codes (the contract tests rely on it).
 */
import { DataError } from '../errors.js';
import { CATEGORIES, type EarshotEvent } from '../event.js';
import type { EventPatch, NewEvent } from './types.js';

const COMPONENT = 'store';

function fail(message: string): never {
  throw new DataError(message, { component: COMPONENT, code: 'store.invalid-event' });
}

function checkTime(value: unknown, field: string, id: string): void {
  if (typeof value !== 'string' || !Number.isFinite(Date.parse(value))) fail(`event ${id}: ${field} must be an ISO 8601 time, got ${JSON.stringify(value)}`);
}

function checkPatchFields(p: EventPatch, id: string): void {
  if (p.confidence !== undefined && !(Number.isFinite(p.confidence) && p.confidence >= 0 && p.confidence <= 1)) {
    fail(`event ${id}: confidence must be a number from 0 to 1, got ${String(p.confidence)}`);
  }
  if (p.end !== undefined) checkTime(p.end, 'end', id);
  if (p.modelLabels !== undefined && !Array.isArray(p.modelLabels)) fail(`event ${id}: modelLabels must be a list`);
  if (p.clockSynced !== undefined && typeof p.clockSynced !== 'boolean') fail(`event ${id}: clockSynced must be true or false`);
}

export function checkNewEvent(e: NewEvent): void {
  if (typeof e.id !== 'string' || e.id === '') fail('event id must be a non-empty string (newEventId())');
  for (const field of ['device', 'label'] as const) {
    if (typeof e[field] !== 'string' || e[field] === '') fail(`event ${e.id}: ${field} must be a non-empty string`);
  }
  if (!CATEGORIES.includes(e.category)) fail(`event ${e.id}: category must be one of ${CATEGORIES.join(', ')}, got ${JSON.stringify(e.category)}`);
  checkTime(e.start, 'start', e.id);
  checkTime(e.end, 'end', e.id);
  if (typeof e.model !== 'object' || e.model === null) fail(`event ${e.id}: model must be {name, version, sha256}`);
  checkPatchFields(e, e.id);
  if (typeof e.clockSynced !== 'boolean') fail(`event ${e.id}: clockSynced must be true or false`);
  if (e.head !== undefined) {
    const h = e.head as unknown;
    const ok = typeof h === 'object' && h !== null && typeof (h as { name?: unknown }).name === 'string' && /^[0-9a-f]{64}$/.test(String((h as { sha256?: unknown }).sha256));
    if (!ok) fail(`event ${e.id}: head must be {name, sha256} (the sha256 as 64 hex digits), got ${JSON.stringify(h)}`);
  }
}

export function checkPatch(p: EventPatch, id: string): void {
  checkPatchFields(p, id);
}

/** The event with a patch applied (only the fields a patch may change). */
export function applyPatch(event: EarshotEvent, patch: EventPatch): EarshotEvent {
  const next: EarshotEvent = { ...event };
  for (const [key, value] of Object.entries(patch)) {
    if (value !== undefined) (next as unknown as Record<string, unknown>)[key] = value;
  }
  return next;
}

export function noSuchEvent(id: string): DataError {
  return new DataError(`no event ${id} in the store (never opened, or pruned)`, { component: COMPONENT, code: 'store.no-such-event' });
}

export function eventClosed(id: string): DataError {
  return new DataError(`event ${id} is already closed`, { component: COMPONENT, code: 'store.event-closed' });
}

export function duplicateEvent(id: string): DataError {
  return new DataError(`event ${id} is already in the store`, { component: COMPONENT, code: 'store.duplicate-event' });
}
