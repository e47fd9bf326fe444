/**
 * Writes the audio around an event as a clip file: FLAC when an encoder is installed (and
 * wanted), otherwise WAV. Written to a temp name, fsync'd, renamed, folder fsync'd, so a power
 * cut leaves either no clip or a whole one; the sha256 recorded is that of the bytes on disk.
 *
 * Clips are the least valuable data on the device, so a clip that cannot be written is logged
 * and counted (`clipWrites`) and `write` resolves to undefined: it never throws into the
 * detection path. On ENOSPC the writer asks for an emergency prune once and retries.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { encodeWavInt16Mono } from '../../dsp/wav-encode.js';
import { fsyncDir } from '../fs/atomic-write.js';
import type { Logger } from '../log.js';
import { silentLogger } from '../silent-logger.js';
import type { KeepClipPolicy } from './clip-policy.js';
import { isNoSpaceError } from './disk-space.js';
import { probeFlacEncoder, type FlacEncoder } from './flac-encoder.js';
import type { LossKind, StoredClip } from './types.js';

export interface ClipRequest {
  eventId: string;
  label: string;
  /** Mono 16-bit PCM: pre-roll, the event, post-roll. */
  samples: Int16Array;
  sampleRateHz: number;
}

export type WrittenClip = Omit<StoredClip, 'uploaded'>;

export interface ClipWriterOptions {
  /** Folder for clips (`<storage.dataDir>/clips`); one sub-folder per UTC day. */
  dir: string;
  /** `storage.clipFormat`: FLAC needs an encoder, else WAV is written. */
  format: 'flac' | 'wav';
  keepClip: KeepClipPolicy;
  clock?: () => number;
  logger?: Logger;
  /** Finds the FLAC encoder (default: probe for `flac`, then `sox`). Called once, in start(). */
  findEncoder?: () => Promise<FlacEncoder | undefined>;
  /** Frees space after ENOSPC (the store's emergency prune); the write is retried once. */
  onNoSpace?: () => void | Promise<void>;
  /** Where lost clips are counted (the store). */
  losses?: { countLoss(kind: LossKind, n?: number): void };
  /** Writes and fsyncs bytes to a new file (tests inject failures). */
  writeFile?: (file: string, data: Uint8Array) => Promise<void>;
}

async function writeAndSync(file: string, data: Uint8Array): Promise<void> {
  // 'w': a temp file left by a crash is simply overwritten.
  const fh = await fs.open(file, 'w', 0o600);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function syncFile(file: string): Promise<void> {
  const fh = await fs.open(file, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export class ClipWriter {
  private encoder: FlacEncoder | undefined;
  private started = false;
  private readonly log: Logger;
  private readonly clock: () => number;

  constructor(private readonly opts: ClipWriterOptions) {
    this.log = (opts.logger ?? silentLogger()).child({ component: 'clips' });
    this.clock = opts.clock ?? Date.now;
  }

  /** Checks for a FLAC encoder once (when FLAC is wanted), creates the clips folder and removes temp files a crash left. */
  async start(): Promise<void> {
    if (this.started) return;
    await fs.mkdir(this.opts.dir, { recursive: true });
    await this.removeStaleTempFiles();
    if (this.opts.format === 'flac') {
      this.encoder = await (this.opts.findEncoder ?? probeFlacEncoder)();
      if (!this.encoder) this.log.warn('storage.clipFormat is flac but neither `flac` nor `sox` (with FLAC) is installed; writing WAV clips');
    }
    this.started = true;
  }

  /** The format clips are written in now. */
  get format(): 'flac' | 'wav' {
    return this.encoder ? 'flac' : 'wav';
  }

  /** Writes the clip of an event; undefined when its label keeps no clips or the write failed (counted). */
  async write(req: ClipRequest): Promise<WrittenClip | undefined> {
    if (!this.opts.keepClip(req.label)) return undefined;
    if (!this.started) await this.start();
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.writeOnce(req);
      } catch (err) {
        if (isNoSpaceError(err) && attempt === 1 && this.opts.onNoSpace) {
          this.log.warn({ eventId: req.eventId }, 'no space for a clip; pruning and retrying');
          try {
            await this.opts.onNoSpace();
          } catch (pruneErr) {
            this.log.error({ err: pruneErr }, 'emergency prune failed');
          }
          continue;
        }
        this.log.error({ err, eventId: req.eventId, label: req.label }, 'clip not kept: write failed');
        this.opts.losses?.countLoss('clipWrites');
        return undefined;
      }
    }
  }

  /** Temp files (`.<name>.tmp`) are only ever half-written clips of a process that died. */
  private async removeStaleTempFiles(): Promise<void> {
    try {
      for (const entry of await fs.readdir(this.opts.dir, { withFileTypes: true, recursive: true })) {
        if (entry.isFile() && entry.name.startsWith('.') && entry.name.endsWith('.tmp')) {
          await fs.rm(path.join(entry.parentPath, entry.name), { force: true });
        }
      }
    } catch (err) {
      this.log.warn({ err, dir: this.opts.dir }, 'could not clean up temp clip files');
    }
  }

  private async writeOnce(req: ClipRequest): Promise<WrittenClip> {
    const day = new Date(this.clock()).toISOString().slice(0, 10);
    const dir = path.join(this.opts.dir, day);
    await fs.mkdir(dir, { recursive: true });
    const wav = encodeWavInt16Mono(req.samples, req.sampleRateHz);
    const base = `${req.eventId}-${req.label.replace(/[^A-Za-z0-9_.-]/g, '_')}`;
    let format: 'flac' | 'wav' = this.encoder ? 'flac' : 'wav';
    let tmp = path.join(dir, `.${base}.${format}.tmp`);
    try {
      if (this.encoder) {
        try {
          await this.encoder.encode(wav, tmp);
          await syncFile(tmp);
        } catch (err) {
          await fs.rm(tmp, { force: true });
          // A full disk surfaces as an encoder failure; let the WAV write below meet it directly.
          this.log.warn({ err: (err as Error).message, encoder: this.encoder.name }, 'FLAC encoding failed; writing WAV');
          format = 'wav';
          tmp = path.join(dir, `.${base}.wav.tmp`);
        }
      }
      if (format === 'wav') await (this.opts.writeFile ?? writeAndSync)(tmp, wav);
      const bytes = format === 'wav' ? wav : await fs.readFile(tmp);
      const file = path.join(dir, `${base}.${format}`);
      await fs.rename(tmp, file);
      fsyncDir(dir);
      return {
        path: file,
        format,
        durationMs: Math.round((req.samples.length / req.sampleRateHz) * 1000),
        sha256: createHash('sha256').update(bytes).digest('hex'),
        bytes: bytes.length,
      };
    } catch (err) {
      await fs.rm(tmp, { force: true });
      throw err;
    }
  }
}
