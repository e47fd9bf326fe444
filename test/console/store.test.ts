/**
 * ConsoleStore details the HTTP tests do not pin down: the alert list as stored JSON text is the
 * same text as serialising the parsed alerts (with and without a review), and an event message
 * stores its alert and touches its device in one call.
 */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConsoleStore } from '../../agent/console/console-store.js';
import type { Alert } from '../../agent/console/types.js';
import { tempDir } from '../sync/helpers.js';

function alert(i: number, extra: Partial<Alert> = {}): Alert {
  return {
    id: `e-${i}`,
    device: i % 2 ? 'rio:07' : 'delta',
    label: i % 3 ? 'gunshot' : 'dog',
    category: i % 3 ? 'threat' : 'wildlife',
    confidence: 0.1 + i / 100,
    start: new Date(Date.parse('2026-03-01T12:00:00Z') + i * 1000).toISOString(),
    end: new Date(Date.parse('2026-03-01T12:00:01Z') + i * 1000).toISOString(),
    rev: 1,
    state: 'closed',
    modelLabels: [{ label: 'Gunshot, gunfire', score: 0.5 + i / 1000 }],
    receivedAt: '2026-03-01T12:00:02.000Z',
    ...extra,
  } as Alert;
}

let store: ConsoleStore | undefined;
afterEach(() => {
  store?.close();
  store = undefined;
});

function open(): ConsoleStore {
  store = new ConsoleStore({ file: path.join(tempDir('earshot-console-store-'), 'console.db') });
  store.open();
  return store;
}

describe('ConsoleStore', () => {
  it('lists alerts as their stored JSON text, identical to serialising the parsed alerts, reviews included', () => {
    const s = open();
    for (let i = 0; i < 30; i++) s.putAlert(alert(i, i === 4 ? { location: { lat: -3.1, lon: -60.02 }, note: 'ünïcode "quoted" \u2028 \\ ' } as Partial<Alert> : {}));
    s.setReview('e-4', { verdict: 'confirmed', note: 'two shots, "close" — ünïcode\n' }, Date.parse('2026-03-02T00:00:00Z'));
    s.setReview('e-9', { verdict: 'false_alarm', note: '' }, Date.parse('2026-03-02T00:01:00Z'));
    for (const q of [{}, { limit: 2000 }, { device: 'delta' }, { label: 'gunshot', limit: 5 }, { sinceMs: Date.parse('2026-03-01T12:00:10Z') }]) {
      const parsed = s.listAlerts(q);
      expect(s.listAlertsJson(q)).toEqual(parsed.map((a) => JSON.stringify(a)));
    }
    const texts = s.listAlertsJson({ limit: 2000 });
    expect(texts.map((t) => JSON.parse(t) as Alert).filter((a) => a.review).map((a) => [a.id, a.review!.verdict])).toEqual([
      ['e-4', 'confirmed'],
      ['e-9', 'false_alarm'],
    ]);
  });

  it('stores an event and touches its device in one call; a duplicate still counts as a sign of life', () => {
    const s = open();
    const a = alert(1, { location: { lat: 1, lon: 2 } });
    const first = s.putEvent(a, Date.parse('2026-03-01T12:00:05Z'));
    expect(first.arrival).toBe('new');
    expect(first.alert).toEqual(a);
    expect(first.device).toEqual({ device: 'rio:07', state: 'unknown', lastSeen: '2026-03-01T12:00:05.000Z', location: { lat: 1, lon: 2 } });
    const again = s.putEvent(a, Date.parse('2026-03-01T12:00:09Z'));
    expect(again.arrival).toBe('duplicate');
    expect(again.alert).toBeUndefined();
    expect(again.device.lastSeen).toBe('2026-03-01T12:00:09.000Z');
    expect(s.getDevice('rio:07')).toEqual(again.device);
  });
});
