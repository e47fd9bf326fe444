/**
 * `earshot console export-reviews <folder>`: what rangers reviewed, as an `earshot train` folder
 * (agent/train/corpus.ts): confirmed alerts → `<label>/<device>/<id>.<format>`, false alarms →
 * `background/<device>/<id>.<format>`. The device is the subfolder below the class, which the
 * corpus reader takes as the recording's site (so validation can hold a whole site out).
 * `reviews.jsonl` beside the folders lists what was written (the corpus reader looks only at
 * folders). Exporting again into the same folder updates it: a clip whose verdict changed moves.
 * Only clips the console has cached are written (the others are listed as skipped: open them in
 * the console once their device is online).
 */
import fs from 'node:fs';
import path from 'node:path';
import { BACKGROUND } from '../train/corpus.js';
import { writeFileAtomic } from '../fs/atomic-write.js';
import { makeFolder } from '../store/sqlite-open.js';
import type { ClipCache } from './clip-cache.js';
import type { ConsoleStore } from './console-store.js';
import type { Alert } from './types.js';

export interface ExportedClip {
  id: string;
  device: string;
  label: string;
  verdict: string;
  note: string;
  /** Relative to the export folder. */
  file: string;
}

export interface ExportResult {
  written: ExportedClip[];
  skipped: { id: string; reason: string }[];
}

/** A folder name from broker data: letters, digits, ".", "_" and "-" only, never "." or "..". */
export function safeName(text: string): string {
  const s = text.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_').slice(0, 100);
  return s === '' ? '_' : s;
}

function classFolder(alert: Alert): string {
  return alert.review?.verdict === 'confirmed' ? safeName(alert.label) : BACKGROUND;
}

export function exportReviews(store: Pick<ConsoleStore, 'reviewed'>, cache: Pick<ClipCache, 'get'>, folder: string): ExportResult {
  makeFolder(folder);
  const result: ExportResult = { written: [], skipped: [] };
  for (const alert of store.reviewed()) {
    if (!alert.clip) {
      result.skipped.push({ id: alert.id, reason: 'no clip was kept for this event' });
      continue;
    }
    const cached = cache.get(alert.clip);
    if (!cached) {
      result.skipped.push({ id: alert.id, reason: 'clip not fetched yet (open the alert in the console while its device is online)' });
      continue;
    }
    const cls = classFolder(alert);
    if (cls !== BACKGROUND && alert.label.startsWith(BACKGROUND)) {
      result.skipped.push({ id: alert.id, reason: `label ${alert.label} would read as background` });
      continue;
    }
    const device = safeName(alert.device);
    const name = `${safeName(alert.id)}.${cached.format}`;
    const rel = path.join(cls, device, name);
    // The same id filed under another class by an earlier export (its verdict changed) goes.
    for (const other of [BACKGROUND, safeName(alert.label)]) {
      if (other !== cls) fs.rmSync(path.join(folder, other, device, name), { force: true });
    }
    const target = path.join(folder, rel);
    if (!fs.existsSync(target)) {
      makeFolder(path.dirname(target));
      writeFileAtomic(target, fs.readFileSync(cached.file), { mode: 0o644 });
    }
    result.written.push({ id: alert.id, device: alert.device, label: alert.label, verdict: alert.review!.verdict, note: alert.review!.note, file: rel });
  }
  writeFileAtomic(path.join(folder, 'reviews.jsonl'), result.written.map((w) => `${JSON.stringify(w)}\n`).join(''), { mode: 0o644 });
  return result;
}
