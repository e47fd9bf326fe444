/**
 * The console's API shapes (agent/console/API.md): what the page receives. Both modes (HQ, over
 * the console's own store; device, over the agent's data folder) produce exactly these.
 */
import type { ClipRef, EarshotEvent } from '../event.js';

export type Verdict = 'confirmed' | 'false_alarm';
export const VERDICTS: readonly Verdict[] = ['confirmed', 'false_alarm'];

export interface Review {
  verdict: Verdict;
  note: string;
  /** ISO time the review was saved. */
  at: string;
}

/** A clip as the console describes it: the contract's ClipRef, never the device's file path. */
export type AlertClip = Omit<ClipRef, 'path'>;

/**
 * The event contract's fields (agent/event.ts, DESIGN.md) as the console shows them: `rev` and
 * `state` always set (a payload without them reads as rev 1, closed: payloads.ts), `seq`, `model`
 * and `clockSynced` optional (the console accepts payloads without them), the clip without its
 * path; plus receivedAt and review.
 */
export interface Alert
  extends Pick<EarshotEvent, 'id' | 'device' | 'label' | 'category' | 'confidence' | 'start' | 'end' | 'modelLabels' | 'location' | 'head'>,
    Partial<Pick<EarshotEvent, 'seq' | 'model' | 'clockSynced'>>,
    Required<Pick<EarshotEvent, 'rev' | 'state'>> {
  clip?: AlertClip;
  /** ISO time the console received this rev (device mode: when the agent stored the event). */
  receivedAt: string;
  review?: Review;
}

export interface DeviceHealth {
  at: string;
  batteryPercent?: number;
  cpuTempC?: number;
  disk?: { freeBytes: number; totalBytes: number };
  queue?: { depth: number };
  clockSynced?: boolean;
  soundLevelDbfs?: number;
}

export type DeviceState = 'online' | 'offline' | 'unknown';

export interface DeviceInfo {
  device: string;
  state: DeviceState;
  /** ISO time of the last sign of life; null when none was seen. */
  lastSeen: string | null;
  version?: string;
  startedAt?: string;
  location?: { lat: number; lon: number };
  health?: DeviceHealth;
}

export interface AlertQuery {
  label?: string;
  device?: string;
  sinceMs?: number;
  untilMs?: number;
  limit?: number;
}

export interface BrokerState {
  url: string;
  connected: boolean;
}

export interface ConsoleStatus {
  mode: 'hq' | 'device';
  broker?: BrokerState;
  version: string;
}
