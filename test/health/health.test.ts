import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../config/load.js';
import { parseBatteryText, readBattery } from '../../agent/system/battery.js';
import { sampleHealth } from '../../agent/health/health-sampler.js';
import { MemoryStore } from '../helpers/memory-store.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'earshot-health-'));

describe('battery sources', () => {
  it('parses percent, volts, both, and refuses noise', () => {
    expect(parseBatteryText('85\n')).toEqual({ percent: 85 });
    expect(parseBatteryText('72.5%')).toEqual({ percent: 72.5 });
    expect(parseBatteryText('12.6V')).toEqual({ volts: 12.6 });
    expect(parseBatteryText('12.4 V 64 %')).toEqual({ volts: 12.4, percent: 64 });
    expect(parseBatteryText('charging')).toEqual({});
  });

  it('reads sysfs power_supply, a file and a command; an unreadable source is {}', () => {
    const dir = tmp();
    fs.writeFileSync(path.join(dir, 'capacity'), '57\n');
    fs.writeFileSync(path.join(dir, 'voltage_now'), '3912000\n');
    expect(readBattery({ source: 'sysfs', path: dir })).toEqual({ percent: 57, volts: 3.912 });
    fs.writeFileSync(path.join(dir, 'level'), '12.1V\n');
    expect(readBattery({ source: 'file', path: path.join(dir, 'level') })).toEqual({ volts: 12.1 });
    expect(readBattery({ source: 'command', command: 'echo 42%' })).toEqual({ percent: 42 });
    expect(readBattery({ source: 'command', command: 'exit 3' })).toEqual({});
    expect(readBattery({ source: 'file', path: path.join(dir, 'missing') })).toEqual({});
    expect(readBattery({ source: 'none' })).toEqual({});
  });
});

describe('sampleHealth', () => {
  it('one sample: capture gaps, pipeline counters, battery, schedule, link and the system basics', () => {
    const dir = tmp();
    fs.writeFileSync(path.join(dir, 'level'), '33%');
    const config = validateConfig({ device: { id: 'h1' }, storage: { dataDir: dir }, health: { battery: { source: 'file', path: path.join(dir, 'level') } } }, 'test');
    const store = new MemoryStore();
    store.open();
    const gap = { start: '2026-01-01T00:00:00.000Z', end: '2026-01-01T00:00:02.000Z', durationMs: 2000, samplesBefore: 100, missingSamples: 64000, reason: 'recorder exited (code 1)' };
    const now = Date.parse('2026-01-01T00:10:00.000Z');
    const s = sampleHealth({
      config,
      store,
      startedAtMs: now - 5000,
      clock: () => now,
      capture: () => ({ source: 'alsa', description: 'arecord', running: true, samples: 1000, gaps: 1, gapMsTotal: 2000, lastGap: gap }),
      pipeline: () => ({ windowsQueued: 10, windowsScored: 8, windowsSkipped: 1, windowsDropped: 2, queueDepth: 0, levelDbfs: -48.5, inferenceMs: 30 }),
      clockSynced: () => false,
      schedule: () => ({ mode: 'inferencePaused', battery: 'inferencePaused', windowsPaused: 4 }),
      sync: () => ({ connected: true }),
    });
    expect(s).toMatchObject({ at: '2026-01-01T00:10:00.000Z', uptimeSec: 5, device: 'h1', batteryPercent: 33, droppedAudio: 2, soundLevelDbfs: -48.5, clockSynced: false, capture: { gaps: 1, lastGap: gap } });
    expect(s).toMatchObject({ schedule: { mode: 'inferencePaused', windowsPaused: 4 }, sync: { connected: true }, queue: { depth: 0 } });
    expect(s.rssBytes).toBeGreaterThan(1e6);
    expect(s.load).toHaveLength(3);
  });
});
