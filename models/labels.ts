/**
 * The AudioSet label list (`class_labels_indices.csv`: index,mid,display_name, with quoted
 * display names that may hold commas). Indices must run 0..n-1 in order, so that label i is
 * logit i; anything else would silently attach scores to the wrong sound.
 */
import { DataError } from '../agent/errors.js';

export interface ModelLabel {
  index: number;
  /** Freebase machine id, e.g. /m/09x0r. */
  mid: string;
  /** Human-readable name, e.g. "Gunshot, gunfire". */
  name: string;
}

/** Splits one CSV line (RFC 4180 quoting: "" inside quotes is a quote). */
export function splitCsvLine(line: string): string[] {
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      out.push(field);
      field = '';
    } else field += c;
  }
  out.push(field);
  return out;
}

export function parseLabelsCsv(text: string, file: string, expectedCount: number): ModelLabel[] {
  const bad = (line: number, why: string) => new DataError(`${file}:${line}: ${why}`, { component: 'models.labels', code: 'labels.invalid' });
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const header = splitCsvLine(lines[0] ?? '').map((h) => h.trim());
  if (header.join(',') !== 'index,mid,display_name') throw bad(1, `expected the header "index,mid,display_name", got "${lines[0] ?? ''}"`);
  const labels: ModelLabel[] = [];
  for (let i = 1; i < lines.length; i++) {
    if (lines[i].trim() === '') continue;
    const cols = splitCsvLine(lines[i]);
    if (cols.length !== 3) throw bad(i + 1, `expected 3 columns, got ${cols.length}`);
    const index = Number(cols[0]);
    if (!Number.isInteger(index) || index !== labels.length) throw bad(i + 1, `expected index ${labels.length}, got "${cols[0]}"`);
    labels.push({ index, mid: cols[1], name: cols[2] });
  }
  if (labels.length !== expectedCount) throw new DataError(`${file}: expected ${expectedCount} labels (manifest labelsCount), found ${labels.length}`, { component: 'models.labels', code: 'labels.count' });
  return labels;
}
