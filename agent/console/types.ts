/**
 * The console's API shapes (agent/console/API.md): what the page receives. Both modes (HQ, over
 * the console's own store; device, over the agent's data folder) produce exactly these.
 */
import type { Category, ModelLabelScore } from '../event.js';

export type Verdict = 'confirmed' | 'false_alarm';
export const VERDICTS: readonly Verdict[] = ['confirmed', 'false_alarm'];

export interface Review {
  verdict: Verdict;
  note: string;
  /** ISO time the review was saved. */
  at: string;
}

/** A clip as the console describes it: never the device's file path. */
export interface AlertClip {
  format: 'flac' | 'wav';
  durationMs: number;
  sha256: string;
}

/** The event contract's fields (DESIGN.md) plus receivedAt and review. */
export interface Alert {
  id: string;
  device: string;
  label: string;
  category: Category;
  confidence: number;
  start: string;
  end: string;
  rev: number;
  state: 'open' | 'closed';
  modelLabels: ModelLabelScore[];
  seq?: number;
  model?: { name: string; version: string; sha256: string };
  location?: { lat: number; lon: number };
  clockSynced?: boolean;
  head?: { name: string; sha256: string };
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
