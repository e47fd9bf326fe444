/** The data-folder lock (agent/system/data-lock.ts) on real files, with the process probe injected. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ExitCode, exitCodeOf } from '../../agent/errors.js';
import { thrownBy } from '../helpers/errors.js';
import { DataFolderLockedError, DataLock, LOCK_FILE, holderAlive, linuxProbe, type LockHolder, type ProcessProbe } from '../../agent/system/data-lock.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'earshot-lock-'));
  dirs.push(d);
  return d;
}

/** A logger that keeps its lines. */
function memoryLogger() {
  const lines: { level: number; msg: string; pid?: number }[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as (typeof lines)[number]) });
  return { logger, lines };
}

const probe = (over: Partial<ProcessProbe> = {}): ProcessProbe => ({ alive: () => true, bootId: () => 'boot-1', startOf: () => '100', ...over });

function writeLock(dir: string, h: Partial<LockHolder>): void {
  fs.writeFileSync(path.join(dir, LOCK_FILE), JSON.stringify({ pid: 4242, since: '2026-01-01T00:00:00.000Z', host: os.hostname(), nonce: 'n', ...h }));
}

describe('DataLock', () => {
  it('takes the lock (creating the data folder), refuses a second holder with exit 75 naming pid and folder, and frees it on stop', () => {
    const dir = path.join(tempDir(), 'data', 'nested');
    const a = new DataLock({ dataDir: dir, probe: probe() });
    a.start();
    const held = JSON.parse(fs.readFileSync(path.join(dir, LOCK_FILE), 'utf8')) as LockHolder;
    expect(held).toMatchObject({ pid: process.pid, bootId: 'boot-1', pidStart: '100' });

    const b = new DataLock({ dataDir: dir, probe: probe() });
    const err = thrownBy(() => b.start());
    expect(err).toBeInstanceOf(DataFolderLockedError);
    expect(exitCodeOf(err)).toBe(ExitCode.tempFail);
    expect(ExitCode.tempFail).toBe(75);
    expect((err as Error).message).toContain(`pid ${process.pid}`);
    expect((err as Error).message).toContain(`data folder ${dir}`);

    a.stop();
    expect(fs.existsSync(path.join(dir, LOCK_FILE))).toBe(false);
    b.start(); // free now
    expect(fs.readdirSync(dir)).toEqual([LOCK_FILE]); // no temp files left behind
    b.stop();
  });

  it('recovers a lock whose pid is gone, with a log line naming it', () => {
    const dir = tempDir();
    writeLock(dir, { pid: 4242 });
    const { logger, lines } = memoryLogger();
    const lock = new DataLock({ dataDir: dir, probe: probe({ alive: (pid) => pid !== 4242 }), logger });
    lock.start();
    expect((JSON.parse(fs.readFileSync(path.join(dir, LOCK_FILE), 'utf8')) as LockHolder).pid).toBe(process.pid);
    expect(lines.find((l) => l.level === 40)?.msg).toMatch(/stale lock: pid 4242 .* not running/);
    lock.stop();
  });

  it('a reused pid (another boot, or the same pid started at another time) does not hold the folder', () => {
    const h: LockHolder = { pid: 4242, since: 'x', host: 'h', nonce: 'n', bootId: 'boot-1', pidStart: '100' };
    expect(holderAlive(h, probe())).toBe(true);
    expect(holderAlive(h, probe({ bootId: () => 'boot-2' }))).toBe(false);
    expect(holderAlive(h, probe({ startOf: () => '555' }))).toBe(false);
    expect(holderAlive(h, probe({ alive: () => false }))).toBe(false);
    // Unknown identity (not Linux): the pid alone decides.
    expect(holderAlive({ pid: 4242, since: 'x', host: 'h', nonce: 'n' }, probe({ bootId: () => undefined, startOf: () => undefined }))).toBe(true);
  });

  it('treats a garbage lock file as stale', () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, LOCK_FILE), 'not json');
    const lock = new DataLock({ dataDir: dir, probe: probe() });
    lock.start();
    expect((JSON.parse(fs.readFileSync(path.join(dir, LOCK_FILE), 'utf8')) as LockHolder).pid).toBe(process.pid);
  });

  it('stop() leaves a lock that is no longer ours', () => {
    const dir = tempDir();
    const lock = new DataLock({ dataDir: dir, probe: probe() });
    lock.start();
    writeLock(dir, { pid: 4242, nonce: 'someone-else' });
    lock.stop();
    expect(fs.existsSync(path.join(dir, LOCK_FILE))).toBe(true);
  });

  it('says plainly when the data folder cannot be created, without spinning under /proc', () => {
    expect(() => new DataLock({ dataDir: '/proc/nope', probe: probe() }).start()).toThrow(/storage\.dataDir \/proc\/nope: cannot be created/);
  });

  it('reads this process identity on Linux', () => {
    expect(linuxProbe.alive(process.pid)).toBe(true);
    expect(linuxProbe.bootId()).toMatch(/^[0-9a-f-]{36}$/);
    expect(linuxProbe.startOf(process.pid)).toMatch(/^\d+$/);
  });
});
