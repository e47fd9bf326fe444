/**
 * The event contract as CSV, for `earshot events export --format csv` and `earshot analyze
 * --format csv`: one header, one column order, one RFC 4180 quoting. It sits beside
 * event-payload.ts, the same contract as JSON.
 *
 * The order is `events export`'s since its first release; columns are only ever appended, so a
 * reader that picks columns by position or by name keeps working. The offline fields (file,
 * startSec, endSec) are empty for events the device detected.
 */
import type { EarshotEvent } from '../event.js';

const COLUMNS: readonly [string, (e: EarshotEvent) => unknown][] = [
  ['id', (e) => e.id],
  ['seq', (e) => e.seq],
  ['device', (e) => e.device],
  ['label', (e) => e.label],
  ['category', (e) => e.category],
  ['confidence', (e) => e.confidence],
  ['start', (e) => e.start],
  ['end', (e) => e.end],
  ['clockSynced', (e) => e.clockSynced],
  ['lat', (e) => e.location?.lat],
  ['lon', (e) => e.location?.lon],
  ['modelName', (e) => e.model.name],
  ['modelVersion', (e) => e.model.version],
  ['modelSha256', (e) => e.model.sha256],
  ['modelLabels', (e) => e.modelLabels],
  ['clipPath', (e) => e.clip?.path],
  ['clipFormat', (e) => e.clip?.format],
  ['clipDurationMs', (e) => e.clip?.durationMs],
  ['clipSha256', (e) => e.clip?.sha256],
  ['file', (e) => e.file],
  ['startSec', (e) => e.startSec],
  ['endSec', (e) => e.endSec],
  // Added when analyze's CSV joined this one: its own columns, kept.
  ['topModelLabel', (e) => e.modelLabels[0]?.label],
  ['topModelScore', (e) => e.modelLabels[0]?.score],
  ['headName', (e) => e.head?.name],
  ['headSha256', (e) => e.head?.sha256],
];

/** The header line (no line break). */
export const EVENT_CSV_HEADER = COLUMNS.map(([name]) => name).join(',');

/** RFC 4180 field: quoted when it holds a comma, quote or line break; objects as JSON; absent as empty. */
function csvField(value: unknown): string {
  if (value === undefined || value === null) return '';
  const text = typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One event as a CSV line (no line break). */
export function eventCsvLine(event: EarshotEvent): string {
  return COLUMNS.map(([, get]) => csvField(get(event))).join(',');
}
