/**
 * Whether `run` can keep its data in storage.dataDir: the folder exists (it is never created
 * here: a disk that did not mount must show up as missing, not be papered over by a fresh
 * folder on the SD card), it and the database are writable by this user (an access(2) test that
 * leaves nothing behind), and how much space is free.
 *
 * Only asynchronous calls, so the time limit can fire even when the file system does not answer.
 * (Node's recursive mkdir spins for ever on a path under /proc, which is what hung the old doctor
 * with `storage.dataDir: /proc/nope`; nothing here creates folders.)
 */
import { constants } from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import type { Config } from '../../config/schema.js';
import { errnoCode } from '../errors.js';
import { requiredFreeBytes } from '../store/disk-space.js';
import { databasePath } from '../store/limits.js';
import { fail, pass, warn, type Check, type Outcome } from './check.js';

export interface DataDirFs {
  stat(file: string): Promise<{ isDirectory(): boolean }>;
  /** Rejects when `file` is not accessible in `mode` (fs.constants.W_OK | X_OK). */
  access(file: string, mode: number): Promise<void>;
  statfs(dir: string): Promise<{ bavail: number; bsize: number; blocks: number }>;
}

export const nodeDataDirFs: DataDirFs = {
  stat: (f) => fsp.stat(f),
  access: (f, mode) => fsp.access(f, mode),
  statfs: async (d) => {
    const s = await fsp.statfs(d);
    return { bavail: Number(s.bavail), bsize: Number(s.bsize), blocks: Number(s.blocks) };
  },
};

const GiB = 2 ** 30;

/** "uid 1000 (pi)": who the access test speaks for. */
export function currentUser(): string {
  const uid = process.getuid?.();
  let name: string | undefined;
  try {
    name = os.userInfo().username;
  } catch {
    /* a uid without a passwd entry */
  }
  return uid === undefined ? (name ?? 'this user') : `uid ${uid}${name ? ` (${name})` : ''}`;
}

function notWritable(file: string, err: unknown, user: string): Outcome {
  const code = errnoCode(err);
  if (code === 'EROFS') return fail(`${file} is on a read-only file system: remount it read-write (\`sudo mount -o remount,rw\` on its mount point) or set storage.dataDir`);
  if (code === 'EACCES' || code === 'EPERM') {
    return fail(`${file} is not writable by ${user}: run earshot as the user that owns it (the service runs as earshot), or give it that user: \`sudo chown -R earshot: ${file}\``);
  }
  return fail(`${file}: ${(err as Error).message}`);
}

export function dataDirCheck(storage: Config['storage'], deps: { fs?: DataDirFs; user?: string; limitMs?: number } = {}): Check {
  const fs = deps.fs ?? nodeDataDirFs;
  const dir = storage.dataDir;
  return {
    name: 'data folder',
    limitMs: deps.limitMs ?? 5000,
    async run() {
      const user = deps.user ?? currentUser();
      try {
        if (!(await fs.stat(dir)).isDirectory()) return fail(`storage.dataDir ${dir} is not a folder: set storage.dataDir to a folder`);
      } catch (err) {
        const code = errnoCode(err);
        if (code === 'ENOENT' || code === 'ENOTDIR') {
          return fail(
            `storage.dataDir ${dir} does not exist (not created by doctor: is its disk mounted?); mount the disk, or create the folder: \`sudo install -d -o earshot -g earshot ${dir}\``,
          );
        }
        if (code === 'EACCES') return fail(`storage.dataDir ${dir} cannot be reached by ${user} (a parent folder is closed to it): \`sudo chmod o+x\` on the parents, or run as earshot`);
        return fail(`storage.dataDir ${dir}: ${(err as Error).message}`);
      }
      // The database needs the folder writable (WAL, -shm) and the file itself if it exists.
      try {
        await fs.access(dir, constants.W_OK | constants.X_OK);
      } catch (err) {
        return notWritable(dir, err, user);
      }
      const db = databasePath(storage);
      try {
        await fs.access(db, constants.W_OK);
      } catch (err) {
        if (errnoCode(err) !== 'ENOENT') return notWritable(db, err, user);
      }
      const s = await fs.statfs(dir);
      const free = s.bavail * s.bsize;
      const total = s.blocks * s.bsize;
      const need = requiredFreeBytes({ minFreeBytes: storage.minFreeMB * 2 ** 20, minFreePercent: storage.minFreePercent }, total);
      const space = `${(free / GiB).toFixed(1)} GiB free of ${(total / GiB).toFixed(1)} GiB`;
      // Low space does not stop run: retention prunes the oldest clips and events to keep it free.
      if (free <= need) return warn(`${dir} writable, but only ${space} (storage.minFreeMB/minFreePercent ask for ${(need / GiB).toFixed(1)} GiB): run will prune old clips and events`);
      return pass(`${dir} writable by ${user}, ${space}`);
    },
  };
}
