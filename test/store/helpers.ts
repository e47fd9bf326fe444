/** Shared bits of the store tests: event factories, a settable clock, temp folders. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { newEventId, type Category } from '../../agent/event.js';
import type { NewEvent } from '../../agent/store/types.js';

export const T0 = Date.parse('2026-03-01T12:00:00.000Z');

/** A clock tests move by hand. */
export class FakeClock {
  constructor(public nowMs = T0) {}
  readonly now = (): number => this.nowMs;
  advance(ms: number): void {
    this.nowMs += ms;
  }
}

const CATEGORY_OF: Record<string, Category> = {
  gunshot: 'threat',
  chainsaw: 'threat',
  vehicle: 'threat',
  human_voice: 'human',
  dog: 'wildlife',
  bird: 'wildlife',
  rain: 'environment',
};

/** A valid new event starting at `startMs` (default T0), lasting 1.5 s. */
export function makeEvent(overrides: Partial<NewEvent> & { startMs?: number } = {}): NewEvent {
  const { startMs = T0, ...rest } = overrides;
  const label = rest.label ?? 'gunshot';
  return {
    id: newEventId(startMs),
    device: 'guardian-07',
    label,
    category: CATEGORY_OF[label] ?? 'wildlife',
    confidence: 0.8,
    start: new Date(startMs).toISOString(),
    end: new Date(startMs + 1500).toISOString(),
    modelLabels: [{ label: 'Gunshot, gunfire', score: 0.81 }],
    model: { name: 'efficientat-mn04', version: '1', sha256: 'ab'.repeat(32) },
    clockSynced: true,
    ...rest,
  };
}

export const EVENTS_TOPIC = { topic: 'earshot/guardian-07/events' };
export const HEALTH_TOPIC = { topic: 'earshot/guardian-07/health' };

/** A fresh folder under the OS temp dir; remove it with `removeTempDir`. */
export function makeTempDir(prefix = 'earshot-store-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function removeTempDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}
