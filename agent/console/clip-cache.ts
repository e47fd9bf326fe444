/**
 * Clip files the console has fetched, in `<data>/clips/<sha256>.<format>`: named by content, so a
 * file is right or absent (it is written atomically after its sha256 was checked), and two revs of
 * one event that carry the same clip share it.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../fs/atomic-write.js';
import { makeFolder } from '../store/sqlite-open.js';
import type { ConsoleStore } from './console-store.js';
import type { AlertClip } from './types.js';

export interface ClipFile {
  file: string;
  format: 'flac' | 'wav';
  bytes: number;
}

export class ClipCache {
  constructor(
    private readonly dir: string,
    private readonly store: Pick<ConsoleStore, 'cachedClip' | 'putCachedClip' | 'forgetCachedClip'>,
    private readonly clock: () => number = Date.now,
  ) {}

  private fileOf(clip: Pick<AlertClip, 'sha256' | 'format'>): string {
    return path.join(this.dir, `${clip.sha256}.${clip.format}`);
  }

  /** The cached file of a clip, or undefined (also when the row is there but the file was removed). */
  get(clip: AlertClip): ClipFile | undefined {
    const row = this.store.cachedClip(clip.sha256);
    if (!row) return undefined;
    const file = this.fileOf(row);
    if (!fs.existsSync(file)) {
      this.store.forgetCachedClip(clip.sha256);
      return undefined;
    }
    return { file, format: row.format, bytes: row.bytes };
  }

  /** Keeps fetched bytes; refuses bytes whose sha256 is not the alert's (a different clip). */
  put(clip: AlertClip, data: Buffer): ClipFile {
    const sha256 = crypto.createHash('sha256').update(data).digest('hex');
    if (sha256 !== clip.sha256) throw new Error(`clip bytes have sha256 ${sha256}, the event says ${clip.sha256}`);
    makeFolder(this.dir);
    const file = this.fileOf(clip);
    writeFileAtomic(file, data, { mode: 0o640 });
    this.store.putCachedClip({ sha256, format: clip.format, bytes: data.length }, this.clock());
    return { file, format: clip.format, bytes: data.length };
  }
}
