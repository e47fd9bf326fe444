/**
 * Battery / solar level from the configured source: a sysfs power_supply folder (`capacity`,
 * `voltage_now` in µV), a file, or a command that prints the level ("85", "85%", "12.6V", or
 * "12.6V 85%"). Never throws: an unreadable source gives {}.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../../config/schema.js';

export interface BatteryReading {
  percent?: number;
  volts?: number;
}

export function parseBatteryText(text: string): BatteryReading {
  const out: BatteryReading = {};
  const v = /(-?\d+(?:\.\d+)?)\s*V\b/i.exec(text);
  if (v) out.volts = Number(v[1]);
  const p = /(-?\d+(?:\.\d+)?)\s*%/.exec(text) ?? (!v ? /^\s*(-?\d+(?:\.\d+)?)\s*$/.exec(text) : null);
  if (p) out.percent = Math.max(0, Math.min(100, Number(p[1])));
  return out;
}

export function readBattery(battery: Config['health']['battery']): BatteryReading {
  try {
    switch (battery.source) {
      case 'sysfs': {
        const dir = battery.path ?? '/sys/class/power_supply/battery';
        const read = (f: string) => {
          try {
            return fs.readFileSync(path.join(dir, f), 'utf8').trim();
          } catch {
            return undefined;
          }
        };
        const out: BatteryReading = {};
        const cap = read('capacity');
        if (cap !== undefined && Number.isFinite(Number(cap))) out.percent = Number(cap);
        const uv = read('voltage_now');
        if (uv !== undefined && Number.isFinite(Number(uv))) out.volts = Math.round(Number(uv) / 1000) / 1000;
        return out;
      }
      case 'file':
        return battery.path ? parseBatteryText(fs.readFileSync(battery.path, 'utf8')) : {};
      case 'command':
        return battery.command ? parseBatteryText(execFileSync('/bin/sh', ['-c', battery.command], { encoding: 'utf8', timeout: 5000 })) : {};
      default:
        return {};
    }
  } catch {
    return {};
  }
}
