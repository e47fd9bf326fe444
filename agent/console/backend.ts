/**
 * What the HTTP API needs from a mode: the HQ console (its own store, fed by MQTT) and device
 * mode (the agent's data folder, read-only) both implement it, so one server and one page serve
 * both.
 */
import type { EventEmitter } from 'node:events';
import type { ClipResolution } from './clip-service.js';
import type { Alert, AlertQuery, BrokerState, ConsoleStatus, DeviceHealth, DeviceInfo, Verdict } from './types.js';

export interface BackendEvents {
  alert: [alert: Alert];
  device: [device: DeviceInfo];
  broker: [state: BrokerState];
}

export interface ConsoleBackend extends Pick<EventEmitter<BackendEvents>, 'on' | 'off'> {
  status(): ConsoleStatus;
  devices(): DeviceInfo[];
  /** A device's health samples since `sinceMs` (the newest `limit`, oldest first); undefined for a device it does not know. */
  healthHistory(device: string, sinceMs: number, limit: number): DeviceHealth[] | undefined;
  alerts(query: AlertQuery): Alert[];
  /** The same list as each alert's JSON text, when the backend has it stored as text (no parse, no re-serialising). */
  alertsJson?(query: AlertQuery): string[];
  alert(id: string): Alert | undefined;
  /** False in device mode (read-only): the review route answers 405. */
  readonly canReview: boolean;
  /** Saves or (null) clears a review; undefined when the alert is unknown. */
  review(id: string, review: { verdict: Verdict; note: string } | null): Alert | undefined;
  clip(alert: Alert): Promise<ClipResolution>;
  /** Seconds of audio kept before an event in its clip (storage.clipPreSec), to mark the event on the spectrogram. */
  clipPreSec(alert: Alert): number;
}
