/**
 * The event contract (DESIGN.md): the MQTT payload, the `analyze --format json` line and the
 * `events export` line. Fields are only ever added, never renamed.
 */
import { v7 as uuidv7 } from 'uuid';

export type Category = 'threat' | 'human' | 'wildlife' | 'environment';
export const CATEGORIES: readonly Category[] = ['threat', 'human', 'wildlife', 'environment'];

export interface ModelLabelScore {
  label: string;
  score: number;
}

export interface ModelRef {
  name: string;
  version: string;
  sha256: string;
}

/** The site head that scored an event's label (`earshot train`; `detection.head`). */
export interface HeadRef {
  name: string;
  /** sha256 of the head file. */
  sha256: string;
}

export interface ClipRef {
  path: string;
  format: 'flac' | 'wav';
  durationMs: number;
  sha256: string;
}

export interface EarshotEvent {
  /** UUIDv7, made when the event opens: the dedupe key downstream. */
  id: string;
  /** Per-device monotonic counter. */
  seq: number;
  device: string;
  /** Alert label from the class map (gunshot, chainsaw, ...). */
  label: string;
  category: Category;
  /** Peak smoothed score of the event, 0–1. */
  confidence: number;
  /** ISO 8601 UTC. */
  start: string;
  end: string;
  modelLabels: ModelLabelScore[];
  model: ModelRef;
  location?: { lat: number; lon: number };
  clip?: ClipRef;
  clockSynced: boolean;
  /** Offline analysis only. */
  file?: string;
  startSec?: number;
  endSec?: number;
  /** The site head that scored this label; absent when the class map did. */
  head?: HeadRef;
  /**
   * Published versions only (MQTT payload): whether the event was still open when this version
   * was queued, and its version number. The device publishes an event again when it closes (and
   * when its clip is kept), with the same `id` and a higher `rev`; consumers keep the highest.
   */
  state?: EventVersionState;
  /** 1 for the first version published, +1 for each later one (numbers may be skipped). */
  rev?: number;
}

export type EventVersionState = 'open' | 'closed';

/** A new event id: UUIDv7, so ids sort by creation time. */
export function newEventId(nowMs?: number): string {
  return nowMs === undefined ? uuidv7() : uuidv7({ msecs: nowMs });
}
