/**
 * The alert labels a user may name on the command line (`events list --label gunshot`): those of
 * the class map shipped with Earshot (models/classmap.yaml; a site head may only score these). A
 * misspelt one is a usage error with a "did you mean" hint, not an empty result that reads as
 * "nothing happened".
 */
import fs from 'node:fs';
import YAML from 'yaml';
import { closest } from '../../config/keys.js';
import { UsageError } from '../errors.js';
import { defaultClassMapPath } from '../../models/classmap.js';

/** The class map's label names, in its order; [] if it cannot be read (then nothing is refused). */
export function classMapLabels(file = defaultClassMapPath()): string[] {
  try {
    const labels = (YAML.parse(fs.readFileSync(file, 'utf8')) as { labels?: unknown } | null)?.labels;
    return labels && typeof labels === 'object' ? Object.keys(labels) : [];
  } catch {
    return [];
  }
}

/**
 * Throws a UsageError (exit 2) when `label` is not an alert label, unless `stillStored` says
 * events with it exist anyway (a label of an older class map).
 */
export function checkAlertLabel(label: string, opts: { flag: string; component: string; known?: readonly string[]; stillStored?: (label: string) => boolean }): void {
  const known = opts.known ?? classMapLabels();
  if (known.length === 0 || known.includes(label) || opts.stillStored?.(label)) return;
  const hint = closest(label, known);
  throw new UsageError(`${opts.flag} ${label}: not an alert label${hint ? ` (did you mean ${hint}?)` : ''}; known labels: ${known.join(', ')}`, {
    component: opts.component,
    code: 'events.unknown-label',
  });
}
