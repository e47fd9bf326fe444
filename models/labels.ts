/**
 * The AudioSet label list (`class_labels_indices.csv`: index,mid,display_name, with quoted
 * display names that may hold commas; read with csv-parse). Indices must run 0..n-1 in order, so that label i is
 * logit i; anything else would silently attach scores to the wrong sound.
 */
import { parse } from 'csv-parse/sync';
import { DataError } from '../agent/errors.js';

export interface ModelLabel {
  index: number;
  /** Freebase machine id, e.g. /m/09x0r. */
  mid: string;
  /** Human-readable name, e.g. "Gunshot, gunfire". */
  name: string;
}

export function parseLabelsCsv(text: string, file: string, expectedCount: number): ModelLabel[] {
  const bad = (line: number, why: string) => new DataError(`${file}:${line}: ${why}`, { component: 'models.labels', code: 'labels.invalid' });
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, { bom: true, skip_empty_lines: true, relax_column_count: true, info: true }) as unknown as typeof records;
  } catch (err) {
    const e = err as Error & { lines?: number };
    throw bad(e.lines ?? 1, e.message);
  }
  const [head, ...rows] = records;
  const header = (head?.record ?? []).map((h) => h.trim());
  if (header.join(',') !== 'index,mid,display_name') throw bad(1, `expected the header "index,mid,display_name", got "${header.join(',')}"`);
  const labels: ModelLabel[] = [];
  for (const { record: cols, info } of rows) {
    if (cols.length !== 3) throw bad(info.lines, `expected 3 columns, got ${cols.length}`);
    const index = Number(cols[0]);
    if (!Number.isInteger(index) || index !== labels.length) throw bad(info.lines, `expected index ${labels.length}, got "${cols[0]}"`);
    labels.push({ index, mid: cols[1]!, name: cols[2]! });
  }
  if (labels.length !== expectedCount) throw new DataError(`${file}: expected ${expectedCount} labels (manifest labelsCount), found ${labels.length}`, { component: 'models.labels', code: 'labels.count' });
  return labels;
}
