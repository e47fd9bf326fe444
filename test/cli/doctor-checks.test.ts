/** The doctor's parts: time limits, the exit code mapping, the data folder check (injected fs). */
import { constants } from 'node:fs';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.js';
import { doctorExitCode, fail, pass, runCheck, warn, type Check, type CheckResult } from '../../agent/doctor/check.js';
import { dataDirCheck, type DataDirFs } from '../../agent/doctor/data-dir-check.js';
import { audioCheck, type RunProgram } from '../../agent/doctor/audio-check.js';
import { brokerCheck } from '../../agent/doctor/broker-check.js';

const errno = (code: string) => Object.assign(new Error(`${code}: refused`), { code });
const storage = (dataDir: string) => configSchema.parse({ storage: { dataDir } }).storage;

/** A timer the test fires by hand. */
function manualTimer() {
  const pending: { fn: () => void; ms: number; cancelled: boolean }[] = [];
  return {
    pending,
    setTimer: (fn: () => void, ms: number) => {
      const t = { fn, ms, cancelled: false };
      pending.push(t);
      return { cancel: () => (t.cancelled = true) };
    },
  };
}

describe('runCheck', () => {
  it('a check that never finishes fails, named, when its limit fires, and its work is aborted', async () => {
    const timer = manualTimer();
    let signal: AbortSignal | undefined;
    const hung: Check = { name: 'nfs', limitMs: 5000, run: (s) => ((signal = s), new Promise(() => undefined)) };
    const result = runCheck(hung, { setTimer: timer.setTimer, now: () => 0 });
    expect(timer.pending.map((t) => t.ms)).toEqual([5000]);
    timer.pending[0]!.fn();
    await expect(result).resolves.toMatchObject({ name: 'nfs', ok: false, level: 'fail', detail: 'did not finish within 5 s', exitCode: 69 });
    expect(signal?.aborted).toBe(true);
  });

  it('a check that throws fails with the error\'s message and exit code; the timer is cancelled', async () => {
    const timer = manualTimer();
    const { ConfigError } = await import('../../agent/errors.js');
    const throwing: Check = { name: 'x', limitMs: 10, run: () => Promise.reject(new ConfigError('mqtt.tls.ca: bad', { component: 't', code: 't' })) };
    await expect(runCheck(throwing, { setTimer: timer.setTimer })).resolves.toMatchObject({ ok: false, detail: 'mqtt.tls.ca: bad', exitCode: 78 });
    expect(timer.pending[0]!.cancelled).toBe(true);
  });

  it('reports the time a check took', async () => {
    let t = 100;
    const c: Check = { name: 'c', limitMs: 10, run: () => ((t = 142), Promise.resolve(pass('ok'))) };
    await expect(runCheck(c, { now: () => t })).resolves.toMatchObject({ ok: true, ms: 42 });
  });
});

describe('doctorExitCode', () => {
  const r = (level: CheckResult['level'], exitCode?: number): CheckResult => ({ name: 'n', ok: level !== 'fail', level, detail: '', ms: 0, ...(exitCode ? { exitCode } : {}) });
  it('0 with warnings; 78 when any failure is configuration; else the first failure\'s code', () => {
    expect(doctorExitCode([r('pass'), r('warn')])).toBe(0);
    expect(doctorExitCode([r('fail', 69), r('fail', 78)])).toBe(78);
    expect(doctorExitCode([r('pass'), r('fail', 66), r('fail', 69)])).toBe(66);
  });
  it('the helpers make what they say', () => {
    expect(fail('x')).toEqual({ level: 'fail', detail: 'x', exitCode: 69 });
    expect(warn('y').level).toBe('warn');
  });
});

describe('dataDirCheck', () => {
  const ok: DataDirFs = {
    stat: () => Promise.resolve({ isDirectory: () => true }),
    access: () => Promise.resolve(),
    statfs: () => Promise.resolve({ bavail: 2 ** 20, bsize: 4096, blocks: 2 ** 21 }),
  };
  const run = (fsDeps: DataDirFs, dir = '/var/lib/earshot') => dataDirCheck(storage(dir), { fs: fsDeps, user: 'uid 1000 (pi)' }).run(new AbortController().signal);

  it('an unwritable folder fails naming the path, the user and the fix', async () => {
    const asked: number[] = [];
    const o = await run({ ...ok, access: (_f, mode) => (asked.push(mode), Promise.reject(errno('EACCES'))) });
    expect(o.level).toBe('fail');
    expect(o.detail).toBe('/var/lib/earshot is not writable by uid 1000 (pi): run earshot as the user that owns it (the service runs as earshot), or give it that user: `sudo chown -R earshot: /var/lib/earshot`');
    expect(asked).toEqual([constants.W_OK | constants.X_OK]);
  });

  it('a read-only file system, and a database file the user cannot write, fail too', async () => {
    expect((await run({ ...ok, access: () => Promise.reject(errno('EROFS')) })).detail).toMatch(/read-only file system: remount it read-write/);
    const db = await run({ ...ok, access: (f) => (f.endsWith('events.db') ? Promise.reject(errno('EACCES')) : Promise.resolve()) });
    expect(db.detail).toMatch(/^\/var\/lib\/earshot\/events\.db is not writable/);
  });

  it('not a folder fails; low space only warns (run prunes)', async () => {
    expect((await run({ ...ok, stat: () => Promise.resolve({ isDirectory: () => false }) })).detail).toMatch(/is not a folder/);
    const low = await run({ ...ok, statfs: () => Promise.resolve({ bavail: 10, bsize: 4096, blocks: 2 ** 21 }) });
    expect(low.level).toBe('warn');
    expect(low.detail).toMatch(/run will prune/);
  });

  describe('on the real file system', () => {
    let dir: string | undefined;
    afterEach(() => dir && fs.rmSync(dir, { recursive: true, force: true }));
    it('passes on a writable folder and leaves nothing behind', async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'earshot-datadir-'));
      const o = await dataDirCheck(storage(dir), { user: 'me' }).run(new AbortController().signal);
      expect(o).toMatchObject({ level: 'pass' });
      expect(o.detail).toMatch(/writable by me, [\d.]+ GiB free/);
      expect(fs.readdirSync(dir)).toEqual([]);
    });
  });
});

describe('audioCheck', () => {
  const alsa = configSchema.parse({ audio: { source: 'alsa' } }).audio;
  it('kills what it started when the time limit aborts it', async () => {
    const signals: AbortSignal[] = [];
    const run: RunProgram = (file, _args, signal) => {
      signals.push(signal);
      // `command -v arecord` answers; `arecord -l` hangs until aborted.
      if (file === '/bin/sh') return Promise.resolve({ code: 0, stdout: '/usr/bin/arecord\n' });
      return new Promise((resolve) => signal.addEventListener('abort', () => resolve({ code: null, stdout: '' })));
    };
    const timer = manualTimer();
    const result = runCheck(audioCheck(alsa, { run }), { setTimer: timer.setTimer });
    await new Promise((r) => setImmediate(r));
    timer.pending[0]!.fn();
    await expect(result).resolves.toMatchObject({ name: 'audio', ok: false, detail: 'did not finish within 5 s' });
    expect(signals.at(-1)!.aborted).toBe(true);
  });

  it('no capture device is a failure that says what to plug in', async () => {
    const run: RunProgram = (file) => Promise.resolve(file === '/bin/sh' ? { code: 0, stdout: '' } : { code: 0, stdout: '**** List of CAPTURE Hardware Devices ****\n' });
    const o = await audioCheck(alsa, { run }).run(new AbortController().signal);
    expect(o).toMatchObject({ level: 'fail' });
    expect(o.detail).toMatch(/no capture device .*USB microphone/);
  });
});

describe('brokerCheck', () => {
  it('connects with the configured client id plus -doctor, so a running agent is not kicked off', async () => {
    const config = configSchema.parse({ device: { id: 'g7' }, mqtt: { url: 'mqtt://broker:1883', username: 'u', password: 'p' } });
    const seen: { clientId?: string; username?: string; password?: unknown }[] = [];
    const { EventEmitter } = await import('node:events');
    const check = brokerCheck(config, {
      create: (o) => {
        seen.push(o.connection);
        const e = new EventEmitter();
        return Object.assign(e, { start: () => void setImmediate(() => e.emit('connect')), stop: () => Promise.resolve() }) as never;
      },
    });
    const o = await check.run(new AbortController().signal);
    expect(o).toMatchObject({ level: 'pass' });
    expect(seen).toMatchObject([{ clientId: 'earshot-g7-doctor', username: 'u', password: 'p' }]);
    expect(check.limitMs).toBe(config.mqtt.connectTimeoutSec * 1000 + 1000);
  });
});
