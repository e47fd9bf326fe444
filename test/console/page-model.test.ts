/**
 * The console page's pure logic (agent/console/web/model.js), run in Node: the feed's order, which
 * version of an alert wins, what a filter keeps and asks the API for, how values are worded, and
 * where devices land on the map. The page itself is tested in a real browser
 * (test/console/browser.test.ts).
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/paths.js';

interface AlertLike {
  id: string;
  device: string;
  label: string;
  category: string;
  start: string;
  rev?: number;
}
interface Filter {
  label: string;
  device: string;
  since?: number;
  until?: number;
}
interface DeviceLike {
  device: string;
  state: string;
  location?: { lat: number; lon: number };
  health?: Record<string, unknown>;
}
/** The module is plain JavaScript served to browsers as it is (no build step), so it is typed here. */
interface PageModel {
  compareAlerts(a: AlertLike, b: AlertLike): number;
  isNewer(current: AlertLike | undefined, incoming: AlertLike): boolean;
  matchesFilter(a: AlertLike, f: Filter): boolean;
  alertsQuery(f: Filter, limit: number): string;
  timeWindow(range: string, now: number, customSince: number, customUntil: number): { since?: number; until?: number };
  formatDuration(ms: number): string;
  formatAgo(iso: string | null, now: number): string;
  formatBytes(n: number): string;
  formatPercent(score: number): string;
  healthRows(d: DeviceLike): [string, string, boolean][];
  projectDevices(d: DeviceLike[], w: number, h: number, margin: number): { points: { device: DeviceLike; x: number; y: number }[]; kmPerUnit?: number };
  scaleBar(maxKm: number): { km: number; label: string } | undefined;
  sparkline(samples: Record<string, unknown>[], field: string, w: number, h: number): { points: string; min: number; max: number; last: number } | undefined;
}

let m: PageModel;
beforeAll(async () => {
  m = (await import(pathToFileURL(path.join(repoRoot, 'agent', 'console', 'web', 'model.js')).href)) as PageModel;
});

const alert = (id: string, category: string, start: string, extra: Partial<AlertLike> = {}): AlertLike => ({ id, device: 'd1', label: 'gunshot', category, start, rev: 1, ...extra });

describe('console page model', () => {
  it('orders threats first, then newest first, ids breaking ties', () => {
    const list = [
      alert('w-new', 'wildlife', '2026-11-29T10:00:00Z'),
      alert('t-old', 'threat', '2026-11-28T10:00:00Z'),
      alert('t-new', 'threat', '2026-11-29T09:00:00Z'),
      alert('h', 'human', '2026-11-29T09:30:00Z'),
      alert('t-new2', 'threat', '2026-11-29T09:00:00Z'),
    ];
    expect(list.sort(m.compareAlerts).map((a) => a.id)).toEqual(['t-new2', 't-new', 't-old', 'w-new', 'h']);
  });

  it('keeps the highest rev; the same rev replaces (a review changes an alert without a new rev)', () => {
    const r2 = alert('a', 'threat', '2026-11-29T10:00:00Z', { rev: 2 });
    expect(m.isNewer(undefined, r2)).toBe(true);
    expect(m.isNewer(r2, alert('a', 'threat', '2026-11-29T10:00:00Z', { rev: 1 }))).toBe(false);
    expect(m.isNewer(r2, alert('a', 'threat', '2026-11-29T10:00:00Z', { rev: 2 }))).toBe(true);
    expect(m.isNewer(r2, alert('a', 'threat', '2026-11-29T10:00:00Z', { rev: 3 }))).toBe(true);
  });

  it('filters by label, device and a time window, and asks the API for the same', () => {
    const a = alert('a', 'threat', '2026-11-29T10:00:00Z', { label: 'chainsaw', device: 'g-7' });
    const since = Date.parse('2026-11-29T09:00:00Z');
    const until = Date.parse('2026-11-29T11:00:00Z');
    expect(m.matchesFilter(a, { label: '', device: '' })).toBe(true);
    expect(m.matchesFilter(a, { label: 'chainsaw', device: 'g-7', since, until })).toBe(true);
    expect(m.matchesFilter(a, { label: 'gunshot', device: '' })).toBe(false);
    expect(m.matchesFilter(a, { label: '', device: 'g-8' })).toBe(false);
    expect(m.matchesFilter(a, { label: '', device: '', since: until })).toBe(false);
    expect(m.matchesFilter(a, { label: '', device: '', until: since })).toBe(false);
    const q = new URLSearchParams(m.alertsQuery({ label: 'chainsaw', device: 'a b&c', since }, 200));
    expect(Object.fromEntries(q)).toEqual({ label: 'chainsaw', device: 'a b&c', since: '2026-11-29T09:00:00.000Z', limit: '200' });
    expect(m.alertsQuery({ label: '', device: '' }, 50)).toBe('limit=50');
  });

  it('turns the time select into a window', () => {
    const now = Date.parse('2026-11-29T10:00:00Z');
    expect(m.timeWindow('any', now, NaN, NaN)).toEqual({ since: undefined, until: undefined });
    expect(m.timeWindow('1h', now, NaN, NaN)).toEqual({ since: now - 3600e3, until: undefined });
    expect(m.timeWindow('7d', now, NaN, NaN).since).toBe(now - 7 * 86400e3);
    expect(m.timeWindow('custom', now, 5, NaN)).toEqual({ since: 5, until: undefined });
    expect(m.timeWindow('custom', now, NaN, 9)).toEqual({ since: undefined, until: 9 });
  });

  it('words durations, ages, sizes and scores', () => {
    expect(m.formatDuration(850)).toBe('850 ms');
    expect(m.formatDuration(1500)).toBe('1.5 s');
    expect(m.formatDuration(42_000)).toBe('42 s');
    expect(m.formatDuration(125_000)).toBe('2 min 5 s');
    expect(m.formatDuration(NaN)).toBe('—');
    const now = Date.parse('2026-11-29T10:00:00Z');
    expect(m.formatAgo('2026-11-29T09:59:58Z', now)).toBe('just now');
    expect(m.formatAgo('2026-11-29T09:59:18Z', now)).toBe('42 s ago');
    expect(m.formatAgo('2026-11-29T09:55:00Z', now)).toBe('5 min ago');
    expect(m.formatAgo('2026-11-29T07:00:00Z', now)).toBe('3 h ago');
    expect(m.formatAgo('2026-11-27T10:00:00Z', now)).toBe('2 d ago');
    expect(m.formatAgo(null, now)).toBe('never');
    expect(m.formatBytes(12_300_000_000)).toBe('12 GB');
    expect(m.formatBytes(2_500_000)).toBe('2.5 MB');
    expect(m.formatBytes(512)).toBe('512 B');
    expect(m.formatPercent(0.934)).toBe('93 %');
  });

  it('lists only the health a device reported, and flags what needs a look', () => {
    expect(m.healthRows({ device: 'x', state: 'online' })).toEqual([]);
    const rows = m.healthRows({
      device: 'x',
      state: 'online',
      health: { at: '2026-11-29T10:00:00Z', batteryPercent: 12, cpuTempC: 51.24, disk: { freeBytes: 1e9, totalBytes: 32e9 }, queue: { depth: 3 }, clockSynced: false, soundLevelDbfs: -47.6 },
    });
    expect(rows).toEqual([
      ['battery', '12 %', true],
      ['temperature', '51.2 °C', false],
      ['disk', '1.0 GB free of 32 GB (3 %)', true],
      ['outbox', '3 waiting', false],
      ['clock', 'not synced', true],
      ['sound level', '-48 dBFS', false],
    ]);
  });

  it('projects positions north up and east right inside the margin, with a scale', () => {
    const devices = [
      { device: 'sw', state: 'online', location: { lat: -37.85, lon: -73.15 } },
      { device: 'ne', state: 'offline', location: { lat: -37.8, lon: -73.05 } },
      { device: 'nowhere', state: 'unknown' },
    ];
    const { points, kmPerUnit } = m.projectDevices(devices, 320, 200, 20);
    expect(points.map((p) => p.device.device)).toEqual(['sw', 'ne']);
    const [sw, ne] = points;
    expect(ne.x).toBeGreaterThan(sw.x);
    expect(ne.y).toBeLessThan(sw.y);
    for (const p of points) {
      expect(p.x).toBeGreaterThanOrEqual(20 - 1e-9);
      expect(p.x).toBeLessThanOrEqual(300 + 1e-9);
      expect(p.y).toBeGreaterThanOrEqual(20 - 1e-9);
      expect(p.y).toBeLessThanOrEqual(180 + 1e-9);
    }
    // 0.05° north and 0.1° east at 37.8° S is about 10.4 km: the distance on the drawing agrees.
    const km = Math.hypot(ne.x - sw.x, ne.y - sw.y) * kmPerUnit!;
    expect(km).toBeGreaterThan(9.5);
    expect(km).toBeLessThan(10.8);
    const one = m.projectDevices([devices[0]], 320, 200, 20);
    expect(one.points[0]).toMatchObject({ x: 160, y: 100 });
    expect(one.kmPerUnit).toBeUndefined();
    expect(m.scaleBar(3.7)).toEqual({ km: 2, label: '2 km' });
    expect(m.scaleBar(0.7)).toEqual({ km: 0.5, label: '500 m' });
    expect(m.scaleBar(0)).toBeUndefined();
  });

  it('draws a health field over time as polyline points: time across, value up; gaps and other fields ignored', () => {
    const at = (min: number) => new Date(Date.parse('2026-11-29T10:00:00Z') + min * 60_000).toISOString();
    const samples = [
      { at: at(0), soundLevelDbfs: -60, batteryPercent: 90 },
      { at: at(5), batteryPercent: 89 }, // no sound level in this one
      { at: at(10), soundLevelDbfs: -40 },
      { at: at(20), soundLevelDbfs: -50 },
    ];
    expect(m.sparkline(samples, 'soundLevelDbfs', 100, 20)).toEqual({ points: '0.0,20.0 50.0,0.0 100.0,10.0', min: -60, max: -40, last: -50 });
    // One sample, or all equal: a level line at mid height.
    expect(m.sparkline([samples[0]!], 'soundLevelDbfs', 100, 20)!.points).toBe('0,10.0 100,10.0');
    expect(m.sparkline(samples.slice(0, 2), 'batteryPercent', 100, 20)).toEqual({ points: '0.0,0.0 100.0,20.0', min: 89, max: 90, last: 89 });
    expect(m.sparkline(samples, 'cpuTempC', 100, 20)).toBeUndefined();
    expect(m.sparkline([{ at: 'never', soundLevelDbfs: -3 }], 'soundLevelDbfs', 100, 20)).toBeUndefined();
  });
});
