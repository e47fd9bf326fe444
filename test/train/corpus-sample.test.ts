/**
 * `scanCorpus` (agent/train/corpus.ts): folders → classes and sites; `sampleTrainingSet`
 * (agent/train/trainer.ts): the float16 sample of training rows a head keeps for `--base`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanCorpus } from '../../agent/train/corpus.js';
import { RowSet, type RowMeta } from '../../agent/train/rows.js';
import { sampleTrainingSet } from '../../agent/train/trainer.js';
import { decodeTrainingSet } from '../../models/head.js';
import { encodeWav } from '../../dsp/wav.js';

describe('scanCorpus', () => {
  let root: string;
  const wav = (rel: string) => {
    const file = path.join(root, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, encodeWav([new Float32Array(1600)], 16000));
  };

  beforeAll(() => {
    root = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'earshot-corpus-')), 'my-site');
    wav('gunshot/congo-2025/a.wav');
    wav('gunshot/congo-2025/deeper/b.wav');
    wav('gunshot/belize_gunshot_7.wav');
    wav('gunshot/plain.wav');
    fs.writeFileSync(path.join(root, 'gunshot', 'notes.txt'), 'not audio');
    wav('gunshots/alias_1.wav');
    wav('speech/librispeech_0001.wav');
    wav('background_birds/ibmmax_birds1.wav');
    wav('background/night.wav');
    wav('elephant/e.wav');
    wav('chainsaw/c.wav');
    wav('.earshot-cache/hidden.wav');
  });
  afterAll(() => fs.rmSync(path.dirname(root), { recursive: true, force: true }));

  it('maps folders to classes (aliases, background_*), files to sites (subfolder, tag_ prefix, corpus name), ignores the rest', () => {
    const corpus = scanCorpus(root, new Set(['gunshot', 'human_voice']));
    expect(corpus.root).toBe(root);
    const got = corpus.files.map((f) => [path.relative(root, f.file), f.cls, f.folder, f.site]).sort((a, b) => (a[0]! < b[0]! ? -1 : 1));
    expect(got).toEqual([
      ['background/night.wav', 'background', 'background', 'my-site'],
      ['background_birds/ibmmax_birds1.wav', 'background', 'background_birds', 'ibmmax'],
      ['gunshot/belize_gunshot_7.wav', 'gunshot', 'gunshot', 'belize'],
      ['gunshot/congo-2025/a.wav', 'gunshot', 'gunshot', 'congo-2025'],
      ['gunshot/congo-2025/deeper/b.wav', 'gunshot', 'gunshot', 'congo-2025'],
      ['gunshot/plain.wav', 'gunshot', 'gunshot', 'my-site'],
      ['gunshots/alias_1.wav', 'gunshot', 'gunshots', 'alias'],
      ['speech/librispeech_0001.wav', 'human_voice', 'speech', 'librispeech'],
    ]);
    // Not asked for (chainsaw) or not a label (elephant): listed as ignored; hidden folders not even that.
    expect(corpus.ignored).toEqual(['chainsaw', 'elephant']);
  });

  it('a label set without human_voice ignores speech/', () => {
    const corpus = scanCorpus(root, new Set(['chainsaw']));
    expect(corpus.files.map((f) => f.cls).sort()).toEqual(['background', 'background', 'chainsaw']);
    expect(corpus.ignored).toEqual(['elephant', 'gunshot', 'gunshots', 'speech']);
  });
});

describe('sampleTrainingSet', () => {
  /** Rows whose first feature is their row number (exact in float16 up to 2048). */
  function rowSet(positives: { clip: number; windows: number; augmented: boolean }[], backgroundRows: number, bgPerClip: number, hop = 2.5): RowSet {
    const rows = new RowSet(2, 4);
    const add = (m: Omit<RowMeta, 'site' | 'group'>) => rows.add([rows.rows, m.cls === 'background' ? 0 : 1], { ...m, site: m.cls === 'background' ? 'bg-site' : 'shots', group: m.clip });
    for (const p of positives) for (let i = 0; i < p.windows; i++) add({ cls: 'gunshot', clip: p.clip, index: i, seconds: hop, augmented: p.augmented });
    for (let i = 0; i < backgroundRows; i++) add({ cls: 'background', clip: 100 + Math.floor(i / bgPerClip), index: i % bgPerClip, seconds: hop, augmented: false });
    return rows;
  }
  const positives = [
    { clip: 0, windows: 2, augmented: false },
    { clip: 1, windows: 2, augmented: false },
    { clip: 2, windows: 2, augmented: false },
    { clip: 3, windows: 1, augmented: true },
    { clip: 4, windows: 1, augmented: true },
    { clip: 5, windows: 1, augmented: true },
    { clip: 6, windows: 1, augmented: true },
  ]; // 10 positive rows, 4 of them augmented

  const backgroundSeconds = (ts: ReturnType<typeof sampleTrainingSet>) => ts.rowSeconds.reduce((s, v, r) => s + (ts.classes[ts.rowClass[r]!] === 'background' ? v : 0), 0);

  it('keeps every positive, spreads the background over the rest, and scales its seconds so the total stays', () => {
    const rows = rowSet(positives, 97, 10);
    const ts = sampleTrainingSet(rows, 30, 7);
    expect(ts.rows).toBe(30);
    expect(ts.classes).toEqual(['background', 'gunshot']);
    expect(ts.sites).toEqual(['bg-site', 'shots']);
    const data = decodeTrainingSet(ts, 2);
    expect(data.length).toBe(30 * 2);
    const kept = Array.from({ length: ts.rows }, (_, r) => data[r * 2]!);
    const keptPos = kept.filter((_, r) => ts.classes[ts.rowClass[r]!] === 'gunshot');
    const keptBg = kept.filter((_, r) => ts.classes[ts.rowClass[r]!] === 'background');
    expect(keptPos).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]); // every positive, in order
    expect(ts.rowAugmented.reduce((a, b) => a + b, 0)).toBe(4);
    expect(keptBg.length).toBe(20);
    // Spread evenly over the 97 background rows (10 … 106): every ~4.85th, first and near the last.
    expect(keptBg[0]).toBe(10);
    expect(keptBg.at(-1)).toBeGreaterThanOrEqual(10 + 90);
    const gaps = keptBg.slice(1).map((v, i) => v - keptBg[i]!);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(4);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(5);
    // Each kept background row stands for 97/20 rows: 242.5 s in all, as before.
    expect(backgroundSeconds(ts)).toBeCloseTo(97 * 2.5, 2);
    // Positives keep their own seconds; rows of one clip share a clip id.
    ts.rowSeconds.forEach((s, r) => {
      if (ts.classes[ts.rowClass[r]!] === 'gunshot') expect(s).toBe(2.5);
    });
    expect(ts.rowClip[0]).toBe(ts.rowClip[1]);
    expect(ts.rowClip[1]).not.toBe(ts.rowClip[2]);
    expect(new Set(ts.rowClip).size).toBe(7 + new Set(keptBg.map((v) => 100 + Math.floor((v - 10) / 10))).size);
    // Same rows and seed → the same sample.
    expect(sampleTrainingSet(rows, 30, 7)).toEqual(ts);
  });

  it('a budget smaller than the positives: half of it for positives (a seeded choice), half for background', () => {
    const rows = rowSet(positives, 97, 10);
    const ts = sampleTrainingSet(rows, 8, 3);
    expect(ts.rows).toBe(8);
    expect(ts.rowClass.filter((c) => ts.classes[c] === 'gunshot').length).toBe(4);
    expect(backgroundSeconds(ts)).toBeCloseTo(97 * 2.5, 2);
  });

  it('a budget larger than the rows: everything, seconds unchanged', () => {
    const rows = rowSet(positives, 12, 6);
    const ts = sampleTrainingSet(rows, 500, 1);
    expect(ts.rows).toBe(22);
    expect(ts.rowSeconds.every((s) => s === 2.5)).toBe(true);
    expect(Array.from(decodeTrainingSet(ts, 2)).filter((_, i) => i % 2 === 0)).toEqual(Array.from({ length: 22 }, (_, i) => i));
  });
});
