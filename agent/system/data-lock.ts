/**
 * One agent per data folder (DESIGN.md): `<storage.dataDir>/earshot.lock` names the process that
 * owns the folder. A second `earshot run` on the same folder refuses to start (exit 75,
 * EX_TEMPFAIL: "try again later" — the folder frees when the other agent stops, and systemd's
 * Restart= retries by itself), naming the holder's pid; a lock whose holder is gone (SIGKILL,
 * power cut, OOM) is taken over with a log line.
 *
 * Why a pid file and not flock(2): Node has no flock without a native module, and the holder's
 * pid must be in the refusal message anyway. The file is made atomically with its content
 * (written to a private temp file, then link(2)ed to the lock name, which fails if it exists), so
 * a reader never sees a half-written lock and never mistakes a holder that is still writing for
 * a crashed one.
 *
 * "Is the holder alive" is more than "does that pid exist": after a power cut a Pi boots with
 * small pids again and the stale lock's pid may now belong to another daemon, which would keep
 * the agent out for ever. So the lock records the boot id and the holder's start time
 * (/proc/<pid>/stat, in clock ticks since boot): another boot, or the same pid started at another
 * time, means the holder is gone.
 *
 * A stale lock is removed by renaming it to a private name and checking that what was moved is
 * the stale lock that was read: when two agents start at once over a stale lock, the one that
 * moved a fresh lock by mistake puts it back. (Three agents racing over one stale lock could
 * still both win for an instant; that is not a case worth a kernel lock.)
 *
 * The lock is the first component of the agent (before the store opens) and released on stop,
 * only if it is still ours.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Component } from '../component.js';
import { EarshotError, ExitCode, UnavailableError, errnoCode } from '../errors.js';
import type { Logger } from '../log.js';
import { silentLogger } from '../silent-logger.js';
import { processAlive } from './process-alive.js';

const COMPONENT = 'lock';
export const LOCK_FILE = 'earshot.lock';

/** What the lock file holds (JSON). */
export interface LockHolder {
  pid: number;
  /** ISO time the lock was taken. */
  since: string;
  host: string;
  /** /proc/sys/kernel/random/boot_id, when known. */
  bootId?: string;
  /** Start time of `pid` in clock ticks since boot (/proc/<pid>/stat field 22), when known. */
  pidStart?: string;
  /** Tells this lock from another one of the same pid (a restart in the same process). */
  nonce: string;
}

/** How the lock learns about processes (injected by tests). */
export interface ProcessProbe {
  alive(pid: number): boolean;
  bootId(): string | undefined;
  /** Start time of a live pid, undefined when unknown (not Linux, or gone). */
  startOf(pid: number): string | undefined;
}

function readTrimmed(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

export const linuxProbe: ProcessProbe = {
  alive: processAlive,
  bootId: () => readTrimmed('/proc/sys/kernel/random/boot_id'),
  startOf: (pid) => {
    const stat = readTrimmed(`/proc/${pid}/stat`);
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    const fields = stat?.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields?.[19];
  },
};

/** Another agent holds the data folder: exit 75 (EX_TEMPFAIL), the folder frees when it stops. */
export class DataFolderLockedError extends EarshotError {
  override readonly kind = 'unavailable' as const;
  constructor(
    message: string,
    readonly holder: LockHolder,
  ) {
    super(message, { component: COMPONENT, code: 'lock.held' });
  }
  override get exitCode(): ExitCode {
    return ExitCode.tempFail;
  }
}

/** Whether the process that wrote `h` is still running (see the file comment). */
export function holderAlive(h: LockHolder, probe: ProcessProbe): boolean {
  const boot = probe.bootId();
  if (h.bootId && boot && h.bootId !== boot) return false;
  if (!probe.alive(h.pid)) return false;
  const start = h.pidStart && probe.startOf(h.pid);
  return !(start && start !== h.pidStart);
}

function parseHolder(text: string | undefined): LockHolder | undefined {
  if (!text) return undefined;
  try {
    const h = JSON.parse(text) as Partial<LockHolder>;
    return Number.isSafeInteger(h.pid) && (h.pid as number) > 0 && typeof h.nonce === 'string' ? (h as LockHolder) : undefined;
  } catch {
    return undefined;
  }
}

/** Creates `dir` one level at a time (a recursive mkdir spins for ever under /proc). */
function ensureDir(dir: string): void {
  try {
    if (fs.statSync(dir).isDirectory()) return;
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
    const parent = path.dirname(dir);
    if (parent !== dir) ensureDir(parent);
    try {
      fs.mkdirSync(dir);
    } catch (e) {
      if (errnoCode(e) !== 'EEXIST') throw e;
    }
  }
}

export interface DataLockOptions {
  dataDir: string;
  logger?: Logger;
  probe?: ProcessProbe;
  clock?: () => number;
}

export class DataLock implements Component {
  readonly name = COMPONENT;
  readonly stopLimitMs = 500;
  private mine?: LockHolder;
  private readonly log: Logger;
  private readonly probe: ProcessProbe;

  constructor(private readonly opts: DataLockOptions) {
    this.log = (opts.logger ?? silentLogger()).child({ component: COMPONENT });
    this.probe = opts.probe ?? linuxProbe;
  }

  get file(): string {
    return path.join(this.opts.dataDir, LOCK_FILE);
  }

  start(): void {
    if (this.mine) return;
    const dir = this.opts.dataDir;
    try {
      ensureDir(dir);
    } catch (err) {
      throw this.folderError(dir, err);
    }
    const me: LockHolder = {
      pid: process.pid,
      since: new Date((this.opts.clock ?? Date.now)()).toISOString(),
      host: os.hostname(),
      nonce: crypto.randomBytes(8).toString('hex'),
    };
    const boot = this.probe.bootId();
    if (boot) me.bootId = boot;
    const start = this.probe.startOf(process.pid);
    if (start) me.pidStart = start;
    // A few rounds: each either takes the lock, finds a live holder, or removes a stale one.
    for (let round = 0; round < 5; round++) {
      if (this.tryCreate(me)) {
        this.mine = me;
        this.log.debug({ file: this.file }, 'data folder locked');
        return;
      }
      const text = readTrimmed(this.file);
      if (text === undefined) continue; // removed meanwhile: try again
      const holder = parseHolder(text);
      if (holder && holderAlive(holder, this.probe)) throw this.lockedError(holder);
      this.removeStale(text, holder);
    }
    throw new UnavailableError(`${this.file}: could not take the lock of ${dir} (other agents keep starting at the same time?)`, { component: COMPONENT, code: 'lock.contended' });
  }

  /** Releases the lock if the file is still ours. */
  stop(): void {
    const mine = this.mine;
    if (!mine) return;
    this.mine = undefined;
    const holder = parseHolder(readTrimmed(this.file));
    if (holder?.nonce !== mine.nonce) {
      this.log.warn({ file: this.file, holder: holder?.pid }, 'the lock file is no longer ours; left as it is');
      return;
    }
    try {
      fs.rmSync(this.file, { force: true });
    } catch (err) {
      this.log.warn({ file: this.file, err: (err as Error).message }, 'could not remove the lock file');
    }
  }

  /** Creates the lock file with its content in one step; false when it exists. */
  private tryCreate(me: LockHolder): boolean {
    const tmp = path.join(this.opts.dataDir, `.${LOCK_FILE}.${process.pid}.${me.nonce}`);
    try {
      fs.writeFileSync(tmp, `${JSON.stringify(me)}\n`, { mode: 0o644, flag: 'wx' });
      fs.linkSync(tmp, this.file);
      return true;
    } catch (err) {
      if (errnoCode(err) === 'EEXIST') return false;
      throw this.folderError(this.opts.dataDir, err);
    } finally {
      fs.rmSync(tmp, { force: true });
    }
  }

  /** Removes the lock file if it still holds `staleText` (see the file comment). */
  private removeStale(staleText: string, holder: LockHolder | undefined): void {
    const moved = path.join(this.opts.dataDir, `.${LOCK_FILE}.stale.${process.pid}.${crypto.randomBytes(4).toString('hex')}`);
    try {
      fs.renameSync(this.file, moved);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return; // someone else removed it
      throw this.folderError(this.opts.dataDir, err);
    }
    try {
      if (readTrimmed(moved) !== staleText) {
        // A racing agent had just replaced the stale lock with its own: give it back.
        try {
          fs.linkSync(moved, this.file);
        } catch {
          // a third one took the name meanwhile; nothing better to do
        }
        return;
      }
      this.log.warn(
        { file: this.file, pid: holder?.pid, since: holder?.since },
        holder ? `recovered a stale lock: pid ${holder.pid} (locked since ${holder.since}) is not running any more` : 'recovered an unreadable lock file',
      );
    } finally {
      fs.rmSync(moved, { force: true });
    }
  }

  private lockedError(h: LockHolder): DataFolderLockedError {
    const dir = this.opts.dataDir;
    return new DataFolderLockedError(
      `data folder ${dir} is in use by another Earshot agent (pid ${h.pid}${h.host && h.host !== os.hostname() ? ` on ${h.host}` : ''}, since ${h.since}); ` +
        `only one agent may run per data folder: stop that one first (\`sudo systemctl stop earshot\` if it is the service), or give this one another storage.dataDir (lock: ${this.file})`,
      h,
    );
  }

  private folderError(dir: string, err: unknown): Error {
    const code = errnoCode(err);
    const why =
      code === 'EACCES' || code === 'EPERM'
        ? `not writable by this user: run earshot as the user that owns it (the service runs as earshot), or \`sudo chown -R earshot: ${dir}\``
        : code === 'EROFS'
          ? 'on a read-only file system: remount it read-write or set storage.dataDir'
          : code === 'ENOENT' || code === 'ENOTDIR'
            ? 'cannot be created (a parent is missing or not a folder): is its disk mounted? set storage.dataDir to a folder'
            : (err as Error).message;
    return new UnavailableError(`storage.dataDir ${dir}: ${why}`, { component: COMPONENT, code: 'lock.folder', cause: err });
  }
}
