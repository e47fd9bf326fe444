/**
 * The pure parts of fitting a head (agent/train/logistic.ts, agent/train/fit.ts): the logistic
 * regression, false alarms counted the way the event tracker would merge them, the threshold for
 * a false-alarm rate, clip recall and grouped folds. Rows are built by hand; numbers are exact.
 */
import { describe, expect, it } from 'vitest';
import { rng } from '../../dsp/random.js';
import { assignFolds, clipRecall, falseAlarms, thresholdForRate } from '../../agent/train/fit.js';
import { fitLogistic, logisticLogit } from '../../agent/train/logistic.js';
import type { RowMeta } from '../../agent/train/rows.js';
import { gaussian } from '../helpers/train-corpus.js';

/** Rows of one clip: `scores.length` consecutive windows of `seconds` each. */
function clipRows(cls: string, clip: number, scores: number[], seconds: number, augmented = false): { meta: RowMeta[]; scores: number[] } {
  return { meta: scores.map((_, index) => ({ cls, site: 's', clip, index, seconds, augmented, group: clip })), scores };
}

function rowsOf(...clips: { meta: RowMeta[]; scores: number[] }[]): { meta: RowMeta[]; scores: number[] } {
  return { meta: clips.flatMap((c) => c.meta), scores: clips.flatMap((c) => c.scores) };
}

describe('fitLogistic', () => {
  /** Two Gaussian clouds in `dims` dimensions, means ±1.5 in every dimension (Bayes error ≈ 0.1 %). */
  function clouds(seed: number, n: number, dims: number) {
    const random = rng(seed);
    const x = new Float32Array(n * dims);
    const y = new Uint8Array(n);
    for (let r = 0; r < n; r++) {
      y[r] = r % 2;
      for (let j = 0; j < dims; j++) x[r * dims + j] = (y[r] ? 1.5 : -1.5) + gaussian(random);
    }
    return { x, y };
  }

  it('separates two Gaussian clouds, pointing every weight from the negative to the positive mean', () => {
    const dims = 4;
    const { x, y } = clouds(3, 400, dims);
    const model = fitLogistic(x, dims, y, new Float32Array(y.length).fill(1), { l2: 0.01 }); // light decay: the default (10) is for heads that lean on the class map
    let correct = 0;
    for (let r = 0; r < y.length; r++) if (logisticLogit(model, x, r * dims) > 0 === (y[r] === 1)) correct++;
    expect(correct / y.length).toBeGreaterThanOrEqual(0.97);
    for (const w of model.weights) expect(w).toBeGreaterThan(0.2);
    expect(Math.abs(model.bias)).toBeLessThan(0.5); // symmetric clouds: the boundary goes through the middle

    // Fresh points from the same clouds are classified as well (it learned the clouds, not the rows).
    const test = clouds(4, 400, dims);
    let testCorrect = 0;
    for (let r = 0; r < test.y.length; r++) if (logisticLogit(model, test.x, r * dims) > 0 === (test.y[r] === 1)) testCorrect++;
    expect(testCorrect / test.y.length).toBeGreaterThanOrEqual(0.97);
  });

  it('is bit-identical across runs; rows of weight 0 change nothing', () => {
    const dims = 6;
    const { x, y } = clouds(11, 300, dims);
    const w = new Float32Array(y.length).fill(1);
    const a = fitLogistic(x, dims, y, w, { epochs: 200 });
    const b = fitLogistic(x, dims, y, w, { epochs: 200 });
    expect(Array.from(b.weights)).toEqual(Array.from(a.weights));
    expect(Object.is(b.bias, a.bias)).toBe(true);

    // Twenty wildly mislabelled extra rows with weight 0 leave the model bit for bit the same.
    const extra = 20;
    const x2 = new Float32Array((y.length + extra) * dims);
    x2.set(x);
    x2.fill(40, x.length);
    const y2 = new Uint8Array(y.length + extra);
    y2.set(y);
    const w2 = new Float32Array(y.length + extra);
    w2.set(w);
    const c = fitLogistic(x2, dims, y2, w2, { epochs: 200 });
    expect(Array.from(c.weights)).toEqual(Array.from(a.weights));
    expect(Object.is(c.bias, a.bias)).toBe(true);
  });

  it('refuses mismatched shapes and an all-zero weight', () => {
    expect(() => fitLogistic(new Float32Array(5), 2, new Uint8Array(3), new Float32Array(3).fill(1))).toThrow(RangeError);
    expect(() => fitLogistic(new Float32Array(6), 2, new Uint8Array(3), new Float32Array(3))).toThrow(/no sample weight/);
  });
});

describe('falseAlarms', () => {
  it('a run of consecutive windows of one clip is one alarm; separate clips, gaps and dips are separate alarms', () => {
    const { meta, scores } = rowsOf(
      clipRows('background', 0, [0.9, 0.9, 0.9, 0.1, 0.9, 0.9], 2.5), // two runs → 2
      clipRows('background', 1, [0.9], 2.5), // → 1
      clipRows('background', 2, [0.9], 2.5), // next clip, though "index" would continue → 1
      clipRows('background', 3, [0.2, 0.3], 2.5), // below → 0
      clipRows('gunshot', 4, [0.99, 0.99], 5), // positives never count
      clipRows('background', 5, [0.95], 5, true), // augmented rows never count
    );
    const r = falseAlarms(meta, scores, 0.5);
    expect(r.alarms).toBe(4);
    expect(r.hours).toBeCloseTo((10 * 2.5) / 3600, 12);

    // Windows of one clip with a hole in the index (a skipped window) are two alarms.
    const holed: RowMeta[] = [
      { cls: 'background', site: 's', clip: 7, index: 0, seconds: 2.5, augmented: false, group: 7 },
      { cls: 'background', site: 's', clip: 7, index: 2, seconds: 2.5, augmented: false, group: 7 },
    ];
    expect(falseAlarms(holed, [0.9, 0.9], 0.5).alarms).toBe(2);
    // At or above the threshold counts.
    expect(falseAlarms(meta, scores, 0.9).alarms).toBe(4);
    expect(falseAlarms(meta, scores, 0.91).alarms).toBe(0);
    // `include` leaves rows out entirely (their seconds too): only clip 1 and 2 here.
    const only12 = falseAlarms(meta, scores, 0.5, (i) => meta[i]!.clip === 1 || meta[i]!.clip === 2);
    expect(only12).toEqual({ alarms: 2, hours: 5 / 3600 });
  });
});

describe('thresholdForRate', () => {
  // 6 background windows of 900 s = 1.5 h; a positive clip that must not matter.
  const rows = rowsOf(clipRows('background', 0, [0.1, 0.5, 0.3, 0.7], 900), clipRows('background', 1, [0.2, 0.8], 900), clipRows('gunshot', 2, [0.95, 0.05], 5), clipRows('gunshot', 3, [0.97], 5, true));

  it('returns the lowest threshold (just above a background score) that meets the rate', () => {
    // ≤ 1 per hour over 1.5 h: at most one alarm. Above 0.7 only clip 1's 0.8 alarms; at 0.7 clip 0 alarms too.
    const t = thresholdForRate(rows.meta, rows.scores, 1);
    expect(t).toBe(0.7 + 1e-6);
    expect(falseAlarms(rows.meta, rows.scores, t)).toEqual({ alarms: 1, hours: 1.5 });
    // Every lower candidate (just above each lower background score, and the floor) fails the rate.
    for (const lower of [1e-6, ...[0.1, 0.2, 0.3, 0.5].map((s) => s + 1e-6), 0.7]) {
      const fa = falseAlarms(rows.meta, rows.scores, lower);
      expect(fa.alarms / fa.hours, `threshold ${lower}`).toBeGreaterThan(1);
    }
    // No alarm at all allowed: above the highest background score.
    expect(thresholdForRate(rows.meta, rows.scores, 0)).toBe(0.8 + 1e-6);
  });

  it('a rate high enough for every window: a tiny threshold; no background rows: the same', () => {
    // At 1e-6 the two clips are one alarm each: 2 / 1.5 h ≈ 1.33 per hour.
    expect(thresholdForRate(rows.meta, rows.scores, 4 / 3)).toBe(1e-6);
    expect(thresholdForRate(rows.meta, rows.scores, 1000)).toBe(1e-6);
    const positivesOnly = rowsOf(clipRows('gunshot', 0, [0.9, 0.2], 5));
    expect(thresholdForRate(positivesOnly.meta, positivesOnly.scores, 1)).toBe(1e-6);
  });

  it('counts alarms only on the rows `include` admits', () => {
    // Clip 1 alone: 0.3 h; ≤ 1 per hour means no alarm there → above 0.8.
    expect(thresholdForRate(rows.meta, rows.scores, 1, (i) => rows.meta[i]!.clip === 1)).toBe(0.8 + 1e-6);
  });

  // Raising a threshold can split one run of windows into two alarms, so alarms are not monotone in
  // the threshold: every candidate has to be counted (a bisection would miss the lowest).
  // Rows: clip A [0.9, 0.3, 0.9] (one alarm up to 0.3, two above it), B [0.1], C [0.2], D [0.4];
  // 600 s each = 1 h; ≤ 2 per hour. Alarms just above 0.1 / 0.2 / 0.3 / 0.4 / 0.9: 3 / 2 / 3 / 2 / 0.
  const dip = rowsOf(clipRows('background', 0, [0.9, 0.3, 0.9], 600), clipRows('background', 1, [0.1], 600), clipRows('background', 2, [0.2], 600), clipRows('background', 3, [0.4], 600));

  it('alarms that are not monotone in the threshold: what it returns still meets the rate', () => {
    const t = thresholdForRate(dip.meta, dip.scores, 2);
    const fa = falseAlarms(dip.meta, dip.scores, t);
    expect(fa.alarms / fa.hours).toBeLessThanOrEqual(2);
  });

  // A bisection over the candidates would return 0.400001 although 0.200001 meets the rate too.
  it('alarms that are not monotone in the threshold: the lowest threshold that meets the rate', () => {
    expect(falseAlarms(dip.meta, dip.scores, 0.2 + 1e-6).alarms).toBe(2);
    expect(thresholdForRate(dip.meta, dip.scores, 2)).toBe(0.2 + 1e-6);
  });
});

describe('clipRecall', () => {
  const rows = rowsOf(
    clipRows('gunshot', 10, [0.2, 0.8], 2.5), // best 0.8
    clipRows('gunshot', 11, [0.3, 0.4], 2.5), // best 0.4
    clipRows('gunshot', 12, [0.95], 2.5, true), // augmented
    clipRows('gunshot', 13, [0.1, 0.6], 2.5, true), // augmented
    clipRows('chainsaw', 14, [0.99], 2.5),
    clipRows('background', 15, [0.99], 2.5),
  );

  it('takes the best window of each clip; real and augmented clips apart; other classes ignored', () => {
    expect(clipRecall(rows.meta, rows.scores, 'gunshot', 0.5, false)).toBe(0.5);
    expect(clipRecall(rows.meta, rows.scores, 'gunshot', 0.8, false)).toBe(0.5); // at the threshold counts
    expect(clipRecall(rows.meta, rows.scores, 'gunshot', 0.35, false)).toBe(1);
    expect(clipRecall(rows.meta, rows.scores, 'gunshot', 0.85, false)).toBe(0);
    expect(clipRecall(rows.meta, rows.scores, 'gunshot', 0.5, true)).toBe(1);
    expect(clipRecall(rows.meta, rows.scores, 'gunshot', 0.7, true)).toBe(0.5);
    expect(clipRecall(rows.meta, rows.scores, 'chainsaw', 0.5, false)).toBe(1);
    expect(clipRecall(rows.meta, rows.scores, 'gunshot', 0.5, false, (i) => rows.meta[i]!.clip === 11)).toBe(0);
    expect(clipRecall(rows.meta, rows.scores, 'dog', 0.5, false)).toBeNaN();
  });
});

describe('assignFolds', () => {
  const groups = [5, 5, 5, 9, 9, 2, 2, 2, 2, 7, 3, 3, 11, 11, 11, 4];
  const meta: RowMeta[] = groups.map((group, i) => ({ cls: i % 3 ? 'background' : 'gunshot', site: 's', clip: i, index: 0, seconds: 1, augmented: false, group }));

  it('keeps every group in one fold, uses every fold, repeats for a seed', () => {
    for (const seed of [1, 2, 3, 7]) {
      const folds = assignFolds(meta, 3, seed);
      expect(folds.length).toBe(meta.length);
      const foldOfGroup = new Map<number, number>();
      meta.forEach((m, i) => {
        expect(folds[i]).toBeGreaterThanOrEqual(0);
        expect(folds[i]).toBeLessThan(3);
        if (foldOfGroup.has(m.group)) expect(folds[i], `group ${m.group}`).toBe(foldOfGroup.get(m.group));
        foldOfGroup.set(m.group, folds[i]!);
      });
      // 7 groups over 3 folds, dealt round-robin after the shuffle: 3, 2 and 2 groups.
      const groupsPerFold = [0, 1, 2].map((f) => [...foldOfGroup.values()].filter((v) => v === f).length).sort();
      expect(groupsPerFold).toEqual([2, 2, 3]);
      expect(Array.from(assignFolds(meta, 3, seed))).toEqual(Array.from(folds));
      // The order of the rows does not matter, only their groups.
      const reversed = assignFolds([...meta].reverse(), 3, seed);
      expect(Array.from(reversed).reverse()).toEqual(Array.from(folds));
    }
    // Some seed deals the groups differently.
    const first = Array.from(assignFolds(meta, 3, 1));
    expect([2, 3, 4, 5, 6, 7, 8].some((s) => Array.from(assignFolds(meta, 3, s)).join() !== first.join())).toBe(true);
  });
});
