/** The run state as `earshot run` writes it and `earshot status` reads it, and the pid check beside it. */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { readRunState, RUN_STATE_KEY, RunStateRecorder } from '../../agent/run-state.js';
import { silentLogger } from '../../agent/silent-logger.js';
import { processAlive } from '../../agent/system/process-alive.js';
import { MemoryStore } from '../helpers/memory-store.js';

describe('run state', () => {
  it('is written running at start and stopped at stop, and read back typed', () => {
    const store = new MemoryStore();
    store.open();
    let now = Date.parse('2026-03-01T12:00:00Z');
    const identity = { pid: 4242, startedAt: new Date(now).toISOString(), source: 'alsa', description: 'arecord -D hw:1', version: '1.2.3' };
    const recorder = new RunStateRecorder(store, identity, () => now, silentLogger());
    recorder.start();
    expect(readRunState(store.getState(RUN_STATE_KEY))).toEqual({ ...identity, state: 'running', updatedAt: '2026-03-01T12:00:00.000Z' });
    now += 60_000;
    recorder.stop();
    expect(readRunState(store.getState(RUN_STATE_KEY))).toEqual({ ...identity, state: 'stopped', updatedAt: '2026-03-01T12:01:00.000Z' });
  });

  it('a missing or damaged record reads as none', () => {
    expect(readRunState(undefined)).toBeUndefined();
    expect(readRunState('{"state":"running"')).toBeUndefined();
    expect(readRunState('{"state":"dancing","pid":1,"startedAt":"x"}')).toBeUndefined();
    expect(readRunState('null')).toBeUndefined();
  });

  it('processAlive: this process is, a finished one is not, no pid is not', () => {
    expect(processAlive(process.pid)).toBe(true);
    const child = spawnSync(process.execPath, ['-e', '0']);
    expect(child.pid).toBeGreaterThan(0);
    expect(processAlive(child.pid)).toBe(false);
    expect(processAlive(undefined)).toBe(false);
  });
});
