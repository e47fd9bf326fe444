/** Conversions between SQLite rows and the event contract. */
import type { Category, EarshotEvent } from '../event.js';
import { contractEvent, extraFields, isoToMs } from './event-payload.js';
import type { AlertState, EventState, StoredClip, StoredEvent } from './types.js';

export interface EventRow {
  id: string;
  seq: number;
  device: string;
  label: string;
  category: string;
  confidence: number;
  start: string;
  start_ms: number;
  end: string;
  end_ms: number;
  model_labels: string;
  model: string;
  location: string | null;
  clock_synced: number;
  file: string | null;
  start_sec: number | null;
  end_sec: number | null;
  extra: string | null;
  state: string;
  alert: string;
  alert_topic: string | null;
  created_ms: number;
  updated_ms: number;
  delivered_ms: number | null;
  /** Schema 2 (absent when reading an older file): the rev of the latest version queued. Not written by eventToRow. */
  rev?: number;
}

/** The clip columns joined onto an event row (`LEFT JOIN clips`). */
export interface ClipColumns {
  clip_path: string | null;
  clip_format: string | null;
  clip_duration_ms: number | null;
  clip_bytes: number | null;
  clip_sha256: string | null;
  clip_uploaded: number | null;
}

/** SELECT list for an event joined with its clip. */
export const EVENT_WITH_CLIP_COLUMNS = `e.*, c.path AS clip_path, c.format AS clip_format, c.duration_ms AS clip_duration_ms,
  c.bytes AS clip_bytes, c.sha256 AS clip_sha256, c.uploaded AS clip_uploaded`;
export const EVENT_WITH_CLIP_FROM = 'events e LEFT JOIN clips c ON c.event_id = e.id';

export interface EventRowMeta {
  state: EventState;
  alert: AlertState;
  alertTopic: string | null;
  createdMs: number;
  updatedMs: number;
  deliveredMs: number | null;
}

export function eventToRow(event: EarshotEvent, meta: EventRowMeta): EventRow {
  const extra = extraFields(event);
  return {
    id: event.id,
    seq: event.seq,
    device: event.device,
    label: event.label,
    category: event.category,
    confidence: event.confidence,
    start: event.start,
    start_ms: isoToMs(event.start, 'start'),
    end: event.end,
    end_ms: isoToMs(event.end, 'end'),
    model_labels: JSON.stringify(event.modelLabels),
    model: JSON.stringify(event.model),
    location: event.location === undefined ? null : JSON.stringify(event.location),
    clock_synced: event.clockSynced ? 1 : 0,
    file: event.file ?? null,
    start_sec: event.startSec ?? null,
    end_sec: event.endSec ?? null,
    extra: extra === undefined ? null : JSON.stringify(extra),
    state: meta.state,
    alert: meta.alert,
    alert_topic: meta.alertTopic,
    created_ms: meta.createdMs,
    updated_ms: meta.updatedMs,
    delivered_ms: meta.deliveredMs,
  };
}

export function rowToClip(row: ClipColumns): StoredClip | undefined {
  if (row.clip_path === null || row.clip_path === undefined) return undefined;
  return {
    path: row.clip_path,
    format: row.clip_format === 'flac' ? 'flac' : 'wav',
    durationMs: row.clip_duration_ms ?? 0,
    sha256: row.clip_sha256 ?? '',
    bytes: row.clip_bytes ?? 0,
    uploaded: row.clip_uploaded === 1,
  };
}

/** The contract event of a row (with its clip, when one is kept). Throws on unreadable JSON columns. */
export function rowToEvent(row: EventRow, clip?: StoredClip): EarshotEvent {
  const event: EarshotEvent = {
    ...(row.extra ? (JSON.parse(row.extra) as Record<string, unknown>) : {}),
    id: row.id,
    seq: row.seq,
    device: row.device,
    label: row.label,
    category: row.category as Category,
    confidence: row.confidence,
    start: row.start,
    end: row.end,
    modelLabels: JSON.parse(row.model_labels) as EarshotEvent['modelLabels'],
    model: JSON.parse(row.model) as EarshotEvent['model'],
    clockSynced: row.clock_synced === 1,
  };
  if (row.location !== null) event.location = JSON.parse(row.location) as EarshotEvent['location'];
  if (clip) event.clip = { path: clip.path, format: clip.format, durationMs: clip.durationMs, sha256: clip.sha256 };
  if (row.file !== null) event.file = row.file;
  if (row.start_sec !== null) event.startSec = row.start_sec;
  if (row.end_sec !== null) event.endSec = row.end_sec;
  return contractEvent(event);
}

export function rowToStoredEvent(row: EventRow & ClipColumns): StoredEvent {
  const clip = rowToClip(row);
  const stored: StoredEvent = {
    event: rowToEvent(row, clip),
    state: row.state as EventState,
    alert: row.alert as AlertState,
    rev: row.rev ?? 0,
  };
  if (row.delivered_ms !== null) stored.deliveredAt = new Date(row.delivered_ms).toISOString();
  if (clip) stored.clip = clip;
  return stored;
}
