/**
 * Leave-one-site-out validation of heads against the class map: for each site of a corpus, a head
 * is trained on every other site (their recordings and their augmentations; no mix that used the
 * held-out site's background) and scores the held-out site's recordings. Recordings are scored
 * per clip (the peak over its windows), the way `npm run eval` scores the class map, so the two
 * compare directly.
 */
import { BACKGROUND } from './corpus.js';
import { computeNormalization, fitLabel, normalizedData, type FitOptions } from './fit.js';
import { logisticLogit } from './logistic.js';
import type { RowSet } from './rows.js';

export interface SiteClip {
  file: string;
  cls: string;
  site: string;
  durationSec: number;
  clip: number;
  /** Class-map peak per label. */
  classMap: Record<string, number>;
}

export interface CrossSiteResult {
  /** Every clip with the head's calibrated peak (0.5 = its threshold) from the model that did not see its site. */
  clips: (SiteClip & { head: Record<string, number> })[];
  /** Labels trained for each held-out site (a label no other site has is left to the class map). */
  trained: Record<string, string[]>;
  /** Threshold of each fold's head per label. */
  thresholds: Record<string, Record<string, number>>;
}

const logit = (p: number) => Math.log(p / (1 - p));

export function crossSite(rows: RowSet, clips: readonly SiteClip[], labels: readonly string[], opts: FitOptions & { minClips: number; log?: (line: string) => void }): CrossSiteResult {
  const sites = [...new Set(clips.map((c) => c.site))].sort();
  const out: CrossSiteResult = { clips: [], trained: {}, thresholds: {} };
  const clipById = new Map(clips.map((c) => [c.clip, c]));
  for (const site of sites) {
    const held = clips.filter((c) => c.site === site);
    const train = rows.filter((m) => m.site !== site && m.bgSite !== site);
    const testRows = rows.filter((m) => m.site === site && !m.augmented);
    const norm = computeNormalization(train);
    const x = normalizedData(train, norm);
    const xt = normalizedData(testRows, norm);
    const head: Record<number, Record<string, number>> = {};
    out.trained[site] = [];
    out.thresholds[site] = {};
    for (const label of labels) {
      const clipsOfLabel = new Set(train.meta.filter((m) => m.cls === label && !m.augmented).map((m) => m.clip)).size;
      if (clipsOfLabel < opts.minClips) continue;
      const fitted = fitLabel(x, train, label, opts);
      out.trained[site].push(label);
      out.thresholds[site][label] = fitted.threshold;
      const shift = logit(fitted.threshold);
      testRows.meta.forEach((m, i) => {
        const z = logisticLogit(fitted.model, xt, i * testRows.dims);
        const score = 1 / (1 + Math.exp(-(z - shift)));
        const peaks = (head[m.clip] ??= {});
        peaks[label] = Math.max(peaks[label] ?? 0, score);
      });
    }
    opts.log?.(`held out ${site}: ${held.length} recordings (${held.filter((c) => c.cls === BACKGROUND).length} background); head labels ${out.trained[site].join(', ') || 'none'}`);
    for (const c of held) {
      const h = head[c.clip] ?? {};
      // Labels the head did not learn keep the class map's score.
      const merged = Object.fromEntries(labels.map((l) => [l, out.trained[site]!.includes(l) ? (h[l] ?? 0) : (c.classMap[l] ?? 0)]));
      out.clips.push({ ...clipById.get(c.clip)!, head: merged });
    }
  }
  return out;
}
