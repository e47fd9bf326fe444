/**
 * Output formats of `earshot analyze`: event JSON lines (the contract + file, startSec, endSec)
 * and Raven selection tables (the format BirdNET and bioacoustic tools exchange). Its CSV is the
 * event CSV of `events export` (agent/store/event-csv.ts).
 */
import path from 'node:path';
import type { EarshotEvent, ModelRef } from '../event.js';
import { eventHeadField, type ScoringHead } from '../detect/scoring-head.js';
import { newEventId } from '../event.js';
import type { TrackedEvent } from '../detect/tracker.js';

export interface OfflineContext {
  device: string;
  model: ModelRef;
  location?: { lat: number; lon: number };
  file: string;
  sampleRate: number;
  /** Wall-clock time of the recording's first sample (ms since the epoch). */
  recordingStartMs: number;
  /** Whether that time is trustworthy (it is derived from the file's modification time). */
  clockSynced: boolean;
  /** The site head, when one ran. */
  head?: ScoringHead;
}

const round = (x: number, digits: number) => Number(x.toFixed(digits));

/** The contract event for a tracked event in a file. */
export function offlineEvent(ev: TrackedEvent, seq: number, ctx: OfflineContext): EarshotEvent {
  const startSec = ev.startSample / ctx.sampleRate;
  const endSec = ev.endSample / ctx.sampleRate;
  const startMs = ctx.recordingStartMs + startSec * 1000;
  return {
    id: newEventId(Math.round(startMs)),
    seq,
    device: ctx.device,
    label: ev.label,
    category: ev.category,
    confidence: round(ev.confidence, 4),
    start: new Date(startMs).toISOString(),
    end: new Date(ctx.recordingStartMs + endSec * 1000).toISOString(),
    modelLabels: ev.modelLabels.map((m) => ({ label: m.label, score: round(m.score, 4) })),
    model: ctx.model,
    ...(ctx.location ? { location: ctx.location } : {}),
    clockSynced: ctx.clockSynced,
    file: ctx.file,
    startSec: round(startSec, 3),
    endSec: round(endSec, 3),
    ...eventHeadField(ctx.head, ev.label),
  };
}

export const RAVEN_HEADER = ['Selection', 'View', 'Channel', 'Begin Time (s)', 'End Time (s)', 'Low Freq (Hz)', 'High Freq (Hz)', 'Label', 'Category', 'Confidence', 'Begin Path', 'File Offset (s)'].join('\t');

/** A Raven Pro selection table for one input file (tab-separated, one row per event). */
export function ravenTable(events: readonly EarshotEvent[], highFreqHz: number): string {
  const rows = events.map((e, i) =>
    [i + 1, 'Spectrogram 1', 1, (e.startSec ?? 0).toFixed(3), (e.endSec ?? 0).toFixed(3), 0, highFreqHz, e.label, e.category, e.confidence.toFixed(4), e.file ?? '', (e.startSec ?? 0).toFixed(3)].join('\t'),
  );
  return `${[RAVEN_HEADER, ...rows].join('\n')}\n`;
}

export const RAVEN_SUFFIX = '.earshot.selection.table.txt';

/**
 * The Raven table name of each input: `<base name>.earshot.selection.table.txt`. Inputs that share
 * a base name (`a/shot.wav` and `b/shot.wav`, or `shot.wav` and `shot.flac`) would overwrite each
 * other's table, so the second and later get `-2`, `-3`, ... in input order (every table's
 * `Begin Path` column names its recording).
 */
export function ravenTableNames(files: readonly string[]): Map<string, string> {
  const names = new Map<string, string>();
  const taken = new Set<string>();
  for (const file of files) {
    const base = path.basename(file, path.extname(file));
    let name = `${base}${RAVEN_SUFFIX}`;
    for (let n = 2; taken.has(name); n++) name = `${base}-${n}${RAVEN_SUFFIX}`;
    taken.add(name);
    names.set(file, name);
  }
  return names;
}
