/**
 * Disk space facts for retention: free/total bytes of the data disk (injectable for tests),
 * how much must stay free, whether an error means "out of space", and a small reserve file.
 */
import fs from 'node:fs';
import { errnoCode } from '../errors.js';
import type { Logger } from '../log.js';
import type { StoreLimits } from './types.js';

export interface DiskUsage {
  freeBytes: number;
  totalBytes: number;
}

/** Reads the usage of the filesystem holding `dir`. */
export type StatFs = (dir: string) => DiskUsage;

/** `fs.statfsSync`: space available to an unprivileged user (bavail), like `df`. */
export const statDisk: StatFs = (dir) => {
  const s = fs.statfsSync(dir);
  return { freeBytes: Number(s.bavail) * Number(s.bsize), totalBytes: Number(s.blocks) * Number(s.bsize) };
};

/** Bytes that must stay free: the larger of the byte and percentage floors. */
export function requiredFreeBytes(limits: Pick<StoreLimits, 'minFreeBytes' | 'minFreePercent'>, totalBytes: number): number {
  return Math.max(limits.minFreeBytes, (totalBytes * limits.minFreePercent) / 100);
}

/**
 * True for errors that mean the disk (or the database quota) is full. SQLITE_IOERR_SHMSIZE is
 * what opening a WAL database reports when its -shm file cannot grow on a full disk.
 */
export function isNoSpaceError(err: unknown): boolean {
  const code = errnoCode(err);
  return code === 'ENOSPC' || code === 'EDQUOT' || code === 'SQLITE_FULL' || code === 'SQLITE_IOERR_SHMSIZE' || (code?.startsWith('SQLITE_FULL_') ?? false);
}

/**
 * A reserve file of zeros kept in the data folder. When the disk fills up, deleting rows needs a
 * little room itself (SQLite appends the deletion to its WAL first), so the emergency prune
 * releases the reserve before anything else and the periodic prune puts it back once there is
 * room again.
 */
export class Ballast {
  constructor(
    readonly file: string,
    readonly bytes: number,
    private readonly logger: Logger,
  ) {}

  exists(): boolean {
    return this.bytes > 0 && fs.existsSync(this.file);
  }

  /** Creates the reserve if it is missing and the disk keeps `requiredFree` bytes free afterwards. */
  ensure(disk: DiskUsage, requiredFree: number): boolean {
    if (this.bytes <= 0 || this.exists()) return false;
    if (disk.freeBytes - this.bytes < requiredFree) return false;
    let fd: number | undefined;
    try {
      fd = fs.openSync(this.file, 'w', 0o600);
      // Real zeros, not a sparse file: the blocks must be allocated to be worth anything.
      const chunk = Buffer.alloc(Math.min(this.bytes, 1 << 20));
      for (let written = 0; written < this.bytes; ) {
        written += fs.writeSync(fd, chunk, 0, Math.min(chunk.length, this.bytes - written));
      }
      fs.fsyncSync(fd);
      return true;
    } catch (err) {
      this.logger.warn({ err, file: this.file }, 'could not create the disk reserve file');
      if (fd !== undefined) fs.closeSync(fd);
      fd = undefined;
      fs.rmSync(this.file, { force: true });
      return false;
    } finally {
      if (fd !== undefined) fs.closeSync(fd);
    }
  }

  /** Deletes the reserve; returns the bytes given back. */
  release(): number {
    if (!this.exists()) return 0;
    const size = fs.statSync(this.file).size;
    fs.rmSync(this.file, { force: true });
    this.logger.warn({ file: this.file, bytes: size }, 'released the disk reserve file to make room');
    return size;
  }
}
