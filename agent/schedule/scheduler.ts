/**
 * When to listen: the listening windows (always, or daily ranges in device.timezone whose ends may
 * be "HH:MM" or sunrise/sunset ± offset, computed offline from device.location) and the
 * low-battery policy with hysteresis:
 *   - below pauseInferenceBelowPercent: inference pauses (capture and clips go on);
 *   - below pauseCaptureBelowPercent: capture pauses too;
 *   - each resumes only at its level + resumeHysteresisPercent, so a battery hovering at a
 *     threshold does not flap.
 * Pure functions plus a small state machine; the agent applies the result.
 */
import type { Config } from '../../config/schema.js';
import { sunTimes } from './solar.js';

export type ListenMode = 'listening' | 'inferencePaused' | 'capturePaused';
export type BatteryMode = 'normal' | 'inferencePaused' | 'capturePaused';

/** Minutes since local midnight in `timeZone`, and the local date's UTC midnight-ish anchor. */
function localParts(nowMs: number, timeZone: string): { minutes: number; offsetMin: number } {
  const f = new Intl.DateTimeFormat('en-GB', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
  const p = Object.fromEntries(f.formatToParts(new Date(nowMs)).map((x) => [x.type, x.value]));
  const asUtc = Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day), Number(p.hour), Number(p.minute), Number(p.second));
  const offsetMin = Math.round((asUtc - nowMs) / 60_000);
  return { minutes: Number(p.hour) * 60 + Number(p.minute) + Number(p.second) / 60, offsetMin };
}

/** A window end as local minutes of the day; undefined when solar and unknown (no location, polar). */
export function resolveTime(expr: string, nowMs: number, config: Pick<Config, 'device'>): number | undefined {
  const hm = /^(\d{2}):(\d{2})$/.exec(expr);
  if (hm) return Number(hm[1]) * 60 + Number(hm[2]);
  const m = /^(sunrise|sunset)(?:([+-])(\d{1,2}):(\d{2}))?$/.exec(expr);
  const loc = config.device.location;
  if (!m || !loc) return undefined;
  const sun = sunTimes(nowMs, loc.lat, loc.lon)[m[1] as 'sunrise' | 'sunset'];
  if (sun === undefined) return undefined;
  const { offsetMin } = localParts(nowMs, config.device.timezone);
  const shift = m[2] ? (m[2] === '-' ? -1 : 1) * (Number(m[3]) * 60 + Number(m[4])) : 0;
  return (((Math.round((sun - Math.floor(sun / 86_400_000) * 86_400_000) / 60_000) + offsetMin + shift) % 1440) + 1440) % 1440;
}

/** Whether `nowMs` falls in a listening window (windows may cross midnight; from == to means all day). */
export function inListeningWindow(nowMs: number, config: Pick<Config, 'device' | 'schedule'>): boolean {
  if (config.schedule.mode === 'always' || config.schedule.windows.length === 0) return true;
  const { minutes } = localParts(nowMs, config.device.timezone);
  return config.schedule.windows.some((w) => {
    const from = resolveTime(w.from, nowMs, config);
    const to = resolveTime(w.to, nowMs, config);
    if (from === undefined || to === undefined) return true; // unknown sun times: listen rather than miss
    if (from === to) return true;
    return from < to ? minutes >= from && minutes < to : minutes >= from || minutes < to;
  });
}

/** The low-battery state machine. */
export class BatteryPolicy {
  mode: BatteryMode = 'normal';

  constructor(private readonly lb: Config['schedule']['lowBattery']) {}

  /** Feeds a battery reading (undefined: unknown, nothing changes). */
  update(percent: number | undefined): BatteryMode {
    if (percent === undefined) return this.mode;
    const { pauseInferenceBelowPercent: inf, pauseCaptureBelowPercent: cap, resumeHysteresisPercent: h } = this.lb;
    if (percent < cap) this.mode = 'capturePaused';
    else if (percent < inf) {
      if (this.mode === 'normal' || percent >= cap + h) this.mode = this.mode === 'capturePaused' && percent < cap + h ? 'capturePaused' : 'inferencePaused';
    } else if (this.mode === 'capturePaused') this.mode = percent >= cap + h ? (percent >= inf + h ? 'normal' : 'inferencePaused') : 'capturePaused';
    else if (this.mode === 'inferencePaused' && percent >= inf + h) this.mode = 'normal';
    return this.mode;
  }
}

/** What the agent should do now. */
export function listenMode(inWindow: boolean, battery: BatteryMode): ListenMode {
  if (!inWindow || battery === 'capturePaused') return 'capturePaused';
  return battery === 'inferencePaused' ? 'inferencePaused' : 'listening';
}
