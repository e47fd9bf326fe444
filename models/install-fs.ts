/**
 * The file operations the installer needs, behind a small interface so tests can inject
 * failures (a disk that fills up midway, a write that throws) without mocking node:fs.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { errnoCode } from '../agent/errors.js';
import { fsyncDir } from '../agent/fs/atomic-write.js';

export interface WriteHandle {
  write(data: Uint8Array): Promise<unknown>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

export interface FileInfo {
  size: number;
  isFile: boolean;
}

export interface InstallFs {
  /** Creates a new file (fails if it exists), mode 0644: weights are not secret. */
  create(file: string): Promise<WriteHandle>;
  read(file: string): AsyncIterable<Uint8Array>;
  /** undefined when nothing is there. */
  stat(file: string): Promise<FileInfo | undefined>;
  rename(from: string, to: string): Promise<void>;
  rm(file: string): Promise<void>;
  /** Removes a folder and what it holds (nothing there is fine). */
  rmTree(dir: string): Promise<void>;
  mkdir(dir: string): Promise<void>;
  readdir(dir: string): Promise<string[]>;
  fsyncDir(dir: string): void;
}

export const nodeInstallFs: InstallFs = {
  async create(file) {
    const fh = await fsp.open(file, 'wx', 0o644);
    return {
      write: (data) => fh.write(data),
      sync: () => fh.sync(),
      close: () => fh.close(),
    };
  },
  read: (file) => fs.createReadStream(file, { highWaterMark: 1 << 20 }),
  async stat(file) {
    try {
      const s = await fsp.stat(file);
      return { size: s.size, isFile: s.isFile() };
    } catch (err) {
      if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return undefined;
      throw err;
    }
  },
  rename: (from, to) => fsp.rename(from, to),
  rm: (file) => fsp.rm(file, { force: true }),
  rmTree: (dir) => fsp.rm(dir, { recursive: true, force: true }),
  mkdir: async (dir) => {
    await fsp.mkdir(dir, { recursive: true });
  },
  readdir: (dir) => fsp.readdir(dir),
  fsyncDir,
};

/** sha256 (hex) and byte count of a stream. */
export async function hashStream(chunks: AsyncIterable<Uint8Array>): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of chunks) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { sha256: hash.digest('hex'), size };
}

/** Synchronous sha256 of a file, read in 1 MiB blocks (startup checks, no event loop needed). */
export function hashFileSync(file: string): string {
  const hash = createHash('sha256');
  const buf = Buffer.allocUnsafe(1 << 20);
  const fd = fs.openSync(file, 'r');
  try {
    let n: number;
    while ((n = fs.readSync(fd, buf, 0, buf.length, null)) > 0) hash.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}

/** `.tar`, `.tar.gz`, `.tgz`: what `--from` unpacks (the model's release asset, an Earshot release tarball). */
export function isTarArchive(file: string): boolean {
  return /\.(tar|tar\.gz|tgz)$/i.test(file);
}

/**
 * Unpacks a tar archive with the system `tar` (GNU tar on Pi OS and Debian: it detects gzip by
 * itself, and refuses members with `..` or absolute paths). Node has no tar reader, and the
 * archives are a few MiB, so unpacking to disk and copying with the usual checks costs little.
 */
export async function extractTar(archive: string, into: string): Promise<void> {
  await fsp.mkdir(into, { recursive: true });
  await new Promise<void>((resolve, reject) => {
    execFile('tar', ['-xf', archive, '-C', into, '--no-same-owner'], { timeout: 120_000 }, (err, _stdout, stderr) => {
      if (err) reject(new Error(stderr.trim().split('\n')[0] || err.message));
      else resolve();
    });
  });
}
