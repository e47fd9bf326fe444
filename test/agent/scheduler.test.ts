import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../config/load.js';
import { BatteryPolicy, inListeningWindow, listenMode, resolveTime } from '../../agent/schedule/scheduler.js';
import { sunTimes } from '../../agent/schedule/solar.js';

const cfg = (schedule: Record<string, unknown>, device: Record<string, unknown> = {}) => validateConfig({ device: { id: 's', ...device }, schedule }, 'test');

describe('sun times', () => {
  it('London midsummer and Belize in January, within two minutes of the almanac', () => {
    const l = sunTimes(Date.UTC(2024, 5, 21, 12), 51.5074, -0.1278);
    expect(Math.abs(l.sunrise! - Date.UTC(2024, 5, 21, 3, 43))).toBeLessThan(120_000);
    expect(Math.abs(l.sunset! - Date.UTC(2024, 5, 21, 20, 21))).toBeLessThan(120_000);
    const b = sunTimes(Date.UTC(2024, 0, 15, 12), 17.25, -88.77);
    expect(Math.abs(b.sunrise! - Date.UTC(2024, 0, 15, 12, 28))).toBeLessThan(120_000);
    expect(sunTimes(Date.UTC(2024, 5, 21), 80, 0)).toEqual({}); // polar day
  });
});

describe('listening windows', () => {
  it('daily ranges in the device time zone, across midnight', () => {
    const c = cfg({ mode: 'windows', windows: [{ from: '22:00', to: '06:00' }] }, { timezone: 'America/Belize' });
    expect(inListeningWindow(Date.UTC(2024, 0, 15, 5), c)).toBe(true); // 23:00 local
    expect(inListeningWindow(Date.UTC(2024, 0, 15, 11, 59), c)).toBe(true); // 05:59 local
    expect(inListeningWindow(Date.UTC(2024, 0, 15, 18), c)).toBe(false); // 12:00 local
    expect(inListeningWindow(Date.UTC(2024, 0, 15, 18), cfg({ mode: 'always' }))).toBe(true);
  });

  it('sunset-01:00 to sunrise+01:00 at the configured place', () => {
    const c = cfg({ mode: 'windows', windows: [{ from: 'sunset-01:00', to: 'sunrise+01:00' }] }, { timezone: 'America/Belize', location: { lat: 17.25, lon: -88.77 } });
    const noon = Date.UTC(2024, 0, 15, 18);
    expect(resolveTime('sunrise+01:00', noon, c)).toBeCloseTo(7 * 60 + 28, -1);
    expect(inListeningWindow(noon, c)).toBe(false);
    expect(inListeningWindow(Date.UTC(2024, 0, 15, 23, 0), c)).toBe(true); // 17:00 local, 40 min before sunset
    expect(inListeningWindow(Date.UTC(2024, 0, 16, 13, 0), c)).toBe(true); // 07:00 local
  });
});

describe('low-battery policy', () => {
  it('pauses inference, then capture, and resumes each only past the hysteresis', () => {
    const p = new BatteryPolicy({ pauseInferenceBelowPercent: 20, pauseCaptureBelowPercent: 10, resumeHysteresisPercent: 5 });
    const seq = [50, 19, 22, 24, 25, 9, 12, 15, 19, 26, undefined].map((x) => p.update(x));
    expect(seq).toEqual(['normal', 'inferencePaused', 'inferencePaused', 'inferencePaused', 'normal', 'capturePaused', 'capturePaused', 'inferencePaused', 'inferencePaused', 'normal', 'normal']);
    expect(listenMode(true, 'inferencePaused')).toBe('inferencePaused');
    expect(listenMode(false, 'normal')).toBe('capturePaused');
  });
});
