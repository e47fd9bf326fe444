import fs from 'node:fs';
import path from 'node:path';

export interface AtomicWriteOptions {
  /** File mode of the result (default 0o600: configs and clips may be private). */
  mode?: number;
  /** Owner of the result (set before the rename, so the file never has another): root keeping a file's group. */
  owner?: { uid: number; gid: number };
}

/**
 * Writes a file so that a reader (or a power cut) sees either the old content or the new,
 * never a mix: write a temp file in the same folder, fsync it, rename it over the target,
 * then fsync the folder so the rename itself is durable.
 */
export function writeFileAtomic(file: string, data: string | Uint8Array, opts: AtomicWriteOptions = {}): void {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  const fd = fs.openSync(tmp, 'wx', opts.mode ?? 0o600);
  try {
    fs.writeFileSync(fd, data);
    // The mode given to open is masked by the umask; set it exactly.
    fs.fchmodSync(fd, opts.mode ?? 0o600);
    if (opts.owner) fs.fchownSync(fd, opts.owner.uid, opts.owner.gid);
    fs.fsyncSync(fd);
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  fs.closeSync(fd);
  try {
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  fsyncDir(dir);
}

/** Makes a rename or unlink in `dir` durable. Some filesystems refuse fsync on folders; that is fine. */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // best effort
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
