/**
 * ConsoleStore details the HTTP tests do not pin down: the alert list as stored JSON text is the
 * same text as serialising the parsed alerts (with and without a review), and an event message
 * stores its alert and touches its device in one call; filtered lists read their index in the
 * page's order instead of sorting every alert of a label or device.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import Database from 'better-sqlite3';
import { ConsoleStore, alertListQuery } from '../../agent/console/console-store.js';
import { HqConsole, STORE_OPTIMIZE_INTERVAL_MS } from '../../agent/console/hq-console.js';
import { DataError, exitCodeOf } from '../../agent/errors.js';
import { createLogger } from '../../agent/log.js';
import { silentLogger } from '../../agent/silent-logger.js';
import { thrownBy } from '../helpers/errors.js';
import { ManualTimers } from '../helpers/manual-timers.js';
import type { Alert } from '../../agent/console/types.js';
import { tempDir, testConfig } from '../sync/helpers.js';

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

function open(file = path.join(tempDir('earshot-console-store-'), 'console.db')): ConsoleStore {
  store = new ConsoleStore({ file });
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

  it('lists by label, by device and by both from an index in the page order, with statistics refreshed on open', () => {
    const file = path.join(tempDir('earshot-console-store-'), 'console.db');
    let s = open(file);
    // 3,000 alerts: 6 labels over 100 devices, so a device has far fewer alerts than a label.
    const labels = ['gunshot', 'chainsaw', 'dog', 'human_voice', 'bird', 'engine'];
    for (let i = 0; i < 3000; i++) {
      const label = labels[i % 6]!;
      s.putAlert(alert(i, { device: `sim-${i % 100}`, label, category: label === 'gunshot' || label === 'chainsaw' ? 'threat' : 'wildlife' }));
    }
    s.close();
    s = open(file); // PRAGMA optimize on open gathers the statistics
    const db = new Database(file, { readonly: true });
    try {
      const plan = (q: Parameters<typeof alertListQuery>[0]) => {
        const { sql, params } = alertListQuery(q);
        return (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params) as { detail: string }[]).map((r) => r.detail).join(' | ');
      };
      for (const [q, index] of [
        [{ label: 'gunshot' }, 'alerts_label'],
        [{ device: 'sim-7' }, 'alerts_device'],
        [{ device: 'sim-7', label: 'gunshot' }, 'alerts_device'],
        [{}, 'alerts_order'],
      ] as const) {
        const p = plan(q);
        expect(p, JSON.stringify(q)).toContain(`USING INDEX ${index}`);
        // Only ties of (threat, start) are sorted by id; never a sort of every matching alert.
        expect(p.replace('USE TEMP B-TREE FOR LAST TERM OF ORDER BY', ''), JSON.stringify(q)).not.toContain('TEMP B-TREE');
      }
      // The order the index gives is the page's order.
      const listed = s.listAlerts({ label: 'gunshot', limit: 5 });
      expect(listed.map((a) => a.id)).toEqual(['e-2994', 'e-2988', 'e-2982', 'e-2976', 'e-2970']);
    } finally {
      db.close();
    }
  });

  it('the HQ console refreshes the statistics hourly while it runs, and stops doing so when stopped', async () => {
    const dir = tempDir('earshot-console-optimize-');
    const timers = new ManualTimers();
    // No broker on port 1: the console keeps trying (its reconnects use the same manual timers).
    const hq = new HqConsole({ config: testConfig(dir, { url: 'mqtt://127.0.0.1:1' }), dataDir: path.join(dir, 'console'), version: 't', logger: silentLogger(), timers, clock: timers.clock });
    hq.start();
    const optimize = vi.spyOn(hq.store!, 'optimize');
    timers.advance(STORE_OPTIMIZE_INTERVAL_MS - 1);
    expect(optimize).not.toHaveBeenCalled();
    timers.advance(1);
    expect(optimize).toHaveBeenCalledTimes(1);
    timers.advance(STORE_OPTIMIZE_INTERVAL_MS);
    expect(optimize).toHaveBeenCalledTimes(2);
    await hq.stop();
    expect(timers.pending).not.toContain(STORE_OPTIMIZE_INTERVAL_MS);
  });

  describe('a damaged console.db', () => {
    const logged = () => {
      const lines: Record<string, unknown>[] = [];
      const destination = new Writable({
        write(chunk: Buffer, _enc, cb) {
          lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
          cb();
        },
      });
      return { lines, logger: createLogger({ level: 'info', format: 'json', isTTY: false, destination }) };
    };
    const corrupt = (dir: string) => fs.readdirSync(dir).filter((f) => f.startsWith('console.db.corrupt-') && !/-(wal|shm)$/.test(f));

    it('a file that is not a database: export-reviews (fail) names it, exit 65, and leaves it; the console (recover) moves it aside and starts fresh', () => {
      const dir = tempDir('earshot-console-damaged-');
      const file = path.join(dir, 'console.db');
      const garbage = Buffer.alloc(50_000, 7);
      fs.writeFileSync(file, garbage);
      const err = thrownBy(() => new ConsoleStore({ file }).open());
      expect(err).toBeInstanceOf(DataError);
      expect(exitCodeOf(err)).toBe(65);
      expect((err as Error).message).toContain(`${file} is damaged (file is not a database`);
      expect(fs.readFileSync(file).equals(garbage)).toBe(true);

      const { lines, logger } = logged();
      store = new ConsoleStore({ file, onDamaged: 'recover', logger });
      store.open();
      store.putAlert(alert(1));
      expect(store.alertCount()).toBe(1);
      const moved = corrupt(dir);
      expect(moved).toHaveLength(1);
      expect(fs.readFileSync(path.join(dir, moved[0]!)).equals(garbage)).toBe(true);
      expect(lines.map((l) => l.msg)).toEqual([expect.stringMatching(/^CONSOLE DATABASE DAMAGED/), expect.stringMatching(/^CONSOLE DATABASE RECOVERED/)]);
    });

    it('a damaged index: the console keeps every alert and review it can still read', () => {
      const dir = tempDir('earshot-console-damaged-');
      const file = path.join(dir, 'console.db');
      const s = open(file);
      for (let i = 0; i < 400; i++) s.putAlert(alert(i));
      s.setReview('e-7', { verdict: 'confirmed', note: 'patrol sent' }, Date.parse('2026-03-02T00:00:00Z'));
      s.close();
      // Overwrite the root page of an index of the alerts (the table itself stays readable).
      const db = new Database(file);
      db.pragma('wal_checkpoint(TRUNCATE)');
      const pageSize = db.pragma('page_size', { simple: true }) as number;
      const root = db.prepare("SELECT rootpage FROM sqlite_master WHERE name = 'alerts_order'").pluck().get() as number;
      db.close();
      const fd = fs.openSync(file, 'r+');
      fs.writeSync(fd, Buffer.alloc(pageSize, 0xa5), 0, pageSize, (root - 1) * pageSize);
      fs.closeSync(fd);

      const { lines, logger } = logged();
      store = new ConsoleStore({ file, onDamaged: 'recover', logger });
      store.open();
      expect(store.alertCount()).toBe(400);
      expect(store.getAlert('e-7')!.review).toMatchObject({ verdict: 'confirmed', note: 'patrol sent' });
      expect(store.listAlerts({ limit: 3 }).map((a) => a.id)).toHaveLength(3);
      expect(corrupt(dir)).toHaveLength(1);
      expect(lines[1]).toMatchObject({ copied: { alerts: 400, reviews: 1 }, lost: [] });
    });
  });
});
