/**
 * `earshot analyze --spectrograms <dir>`: one PNG per detected event, showing the audio a device
 * would have kept as its clip (storage.clipPreSec before the event to storage.clipPostSec after
 * it, within the recording) with the event marked.
 *
 * Names: `<recording base name>_<label>_<start in s, 1 decimal>s.png`, e.g.
 * `belize_gunshot_0_gunshot_0.5s.png`. Inputs that share a base name (`a/shot.wav` and
 * `b/shot.wav`, or `shot.wav` and `shot.flac`) would overwrite each other's pictures, so the
 * second and later get `-2`, `-3`, ... after the base name, in input order (as Raven tables do).
 */
import path from 'node:path';
import type { Span } from '../../dsp/spectrogram-image.js';
import { writeFileAtomic } from '../fs/atomic-write.js';
import { renderSpectrogramPng } from './spectrogram-png.js';

/** A unique picture prefix per input file: its base name, `-N` added when an earlier input has it. */
export function pictureBaseNames(files: readonly string[]): Map<string, string> {
  const names = new Map<string, string>();
  const taken = new Set<string>();
  for (const file of files) {
    const base = path.basename(file, path.extname(file));
    let name = base;
    for (let n = 2; taken.has(name); n++) name = `${base}-${n}`;
    taken.add(name);
    names.set(file, name);
  }
  return names;
}

export interface PictureEvent {
  label: string;
  startSec?: number;
  endSec?: number;
}

export interface EventPicturesOptions {
  dir: string;
  /** From pictureBaseNames(). */
  baseName: string;
  /** Seconds of audio shown before and after each event (the clip a device keeps). */
  preSec: number;
  postSec: number;
  /** Called when a picture cannot be written (its path and the error); the caller decides what that means. */
  cannotWrite: (file: string, err: unknown) => Error;
}

/** The window shown for an event and where the event lies in it, in seconds. */
export function pictureWindow(e: PictureEvent, durationSec: number, preSec: number, postSec: number): { fromSec: number; toSec: number; span: Span } {
  const start = Math.max(0, Math.min(durationSec, e.startSec ?? 0));
  const end = Math.max(start, Math.min(durationSec, e.endSec ?? start));
  const fromSec = Math.max(0, start - preSec);
  const toSec = Math.min(durationSec, end + postSec);
  return { fromSec, toSec, span: { startSec: start - fromSec, endSec: end - fromSec } };
}

/** Writes one picture per event of one recording (each atomically); returns the files written. */
export function writeEventPictures(samples: Float32Array, sampleRate: number, events: readonly PictureEvent[], opts: EventPicturesOptions): string[] {
  const written: string[] = [];
  const used = new Set<string>();
  const durationSec = samples.length / sampleRate;
  for (const e of events) {
    const { fromSec, toSec, span } = pictureWindow(e, durationSec, opts.preSec, opts.postSec);
    const stem = `${opts.baseName}_${e.label}_${(e.startSec ?? 0).toFixed(1)}s`;
    let name = `${stem}.png`;
    for (let n = 2; used.has(name); n++) name = `${stem}-${n}.png`; // two events of a label starting within 0.05 s
    used.add(name);
    const file = path.join(opts.dir, name);
    const png = renderSpectrogramPng(samples.subarray(Math.floor(fromSec * sampleRate), Math.ceil(toSec * sampleRate)), sampleRate, { span });
    try {
      writeFileAtomic(file, png, { mode: 0o644 });
    } catch (err) {
      throw opts.cannotWrite(file, err);
    }
    written.push(file);
  }
  return written;
}
