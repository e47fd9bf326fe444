/**
 * Snippet files of `earshot record`: 16-bit mono WAV named by the UTC start time
 * (`2026-11-29T07-03-05Z.wav`), written atomically and never over an existing file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { encodeWavInt16Mono } from '../../dsp/wav-encode.js';
import { EarshotError, errnoCode } from '../errors.js';
import { fsyncDir } from '../fs/atomic-write.js';

const COMPONENT = 'record';

/** `2026-11-29T07-03-05Z`: the UTC second of `ms`, with no colons (safe on FAT SD cards and Windows). */
export function snippetBaseName(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19).replace(/:/g, '-')}Z`;
}

/**
 * Writes `samples` as a WAV file in `dir` named by `startMs`; when that name is taken (a file
 * from an earlier run, two snippets in one second) `-1`, `-2`, ... is appended. The bytes go to
 * a hidden temp file first (fsynced), which is then hard-linked to the free name (the link fails
 * rather than replace a file that appeared meanwhile), so a reader or a power cut never sees half
 * a snippet and no existing file is ever overwritten. Returns the path written.
 */
export function saveSnippet(dir: string, startMs: number, samples: Int16Array, sampleRate: number): string {
  const base = snippetBaseName(startMs);
  const tmp = path.join(dir, `.${base}.${process.pid}.${Date.now()}.tmp`);
  try {
    const fd = fs.openSync(tmp, 'wx', 0o644);
    try {
      fs.writeFileSync(fd, encodeWavInt16Mono(samples, sampleRate));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    for (let n = 0; ; n++) {
      const file = path.join(dir, `${base}${n === 0 ? '' : `-${n}`}.wav`);
      if (placeNoClobber(tmp, file)) {
        fsyncDir(dir);
        return file;
      }
    }
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    const code = errnoCode(err);
    const why = code === 'ENOSPC' ? 'the disk is full' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : (code ?? (err as Error).message);
    throw new EarshotError(`cannot write a snippet in ${dir}: ${why}`, { component: COMPONENT, code: 'record.write', cause: err });
  }
}

/** Moves `tmp` to `file` unless `file` exists; false when it does. */
function placeNoClobber(tmp: string, file: string): boolean {
  try {
    fs.linkSync(tmp, file);
    fs.rmSync(tmp, { force: true });
    return true;
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'EEXIST') return false;
    // Filesystems without hard links (FAT/exFAT cards): check, then rename.
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'ENOSYS' || code === 'EXDEV') {
      if (fs.existsSync(file)) return false;
      fs.renameSync(tmp, file);
      return true;
    }
    throw err;
  }
}
