/**
 * Training rows of a corpus: every window of every file, plus augmented positives — each positive
 * clip mixed several times into stretches of the corpus's own background at a random SNR, level,
 * moment, distance (low-pass) and device rate (8/16/32 kHz). Seeded: the same corpus, seed and
 * options give the same rows. Streams: positives are held in memory (they are short; capped), the
 * background is decoded one file at a time and the mixes that fall on a file are made while it is
 * in memory.
 */
import fs from 'node:fs';
import { decodeAudioFile } from '../audio/decode-file.js';
import { mixEvent } from '../../dsp/augment.js';
import { DETECTION_RESAMPLING, resample } from '../../dsp/resample.js';
import { rng, seedOf, uniform, type Random } from '../../dsp/random.js';
import { BACKGROUND, type CorpusFile } from './corpus.js';
import type { WindowFeatureExtractor, WindowRows } from './extract.js';
import { RowSet } from './rows.js';

export interface AugmentOptions {
  /** Mixes per positive clip (0: none). */
  perClip: number;
  seed: number;
  /** Event level over the background, dB. */
  snrDb: [number, number];
  gainDb: [number, number];
  /** Share of mixes low-passed (distance), and the cutoff range, Hz. */
  lowPassShare: number;
  lowPassHz: [number, number];
  /** Device rates to simulate (each mix takes one no higher than both recordings' rates). */
  rates: readonly number[];
}

export const DEFAULT_AUGMENT: Readonly<AugmentOptions> = Object.freeze<AugmentOptions>({
  perClip: 8,
  seed: 1,
  snrDb: [-6, 15],
  gainDb: [-12, 3],
  lowPassShare: 0.6,
  lowPassHz: [700, 6000],
  rates: [8000, 16000, 32000],
});

/** Positives are kept as 16-bit samples, at most one window long (a mix uses one window of it). */
const POSITIVE_SCALE = 32767;

export interface CollectProgress {
  (done: number, total: number, file: string): void;
}

export interface CollectOptions {
  extractor: WindowFeatureExtractor;
  hopSec: number;
  windowSec: number;
  augment: AugmentOptions;
  /** Background longer than this is split into CV groups of this many seconds. */
  groupSec?: number;
  progress?: CollectProgress;
  /** A file that cannot be decoded: reported, skipped. */
  onSkip?: (file: string, err: Error) => void;
  /** Peaks of the class map per file (evaluation). */
  onFile?: (file: CorpusFile, rows: WindowRows, clip: number) => void;
}

interface Positive {
  file: CorpusFile;
  audio: Int16Array;
  rate: number;
  group: number;
}

interface PlannedMix {
  positive: number;
  seed: number;
}

export async function collectRows(files: readonly CorpusFile[], opts: CollectOptions): Promise<RowSet> {
  const { extractor, hopSec } = opts;
  const groupSec = opts.groupSec ?? 600;
  const rows = new RowSet(extractor.dims);
  const positives: Positive[] = [];
  let nextGroup = 0;
  let done = 0;
  const total = files.length;

  const addFileRows = (file: CorpusFile, r: WindowRows, group: (index: number) => number) => {
    const clip = rows.newClip();
    for (let i = 0; i < r.windows; i++) {
      rows.add(r.features.subarray(i * extractor.dims, (i + 1) * extractor.dims), {
        cls: file.cls,
        site: file.site,
        clip,
        index: i,
        seconds: r.windows === 1 ? r.durationSec : hopSec,
        augmented: false,
        group: group(i),
      });
    }
    opts.onFile?.(file, r, clip);
  };

  // Positives first: their rows, and their audio for mixing.
  for (const file of files.filter((f) => f.cls !== BACKGROUND)) {
    opts.progress?.(done++, total, file.file);
    try {
      // Decoded once when its audio is needed for mixing (the features may come from the cache).
      const audio = opts.augment.perClip > 0 ? await decodeAudioFile(file.file) : undefined;
      const r = await extractor.fileRows(file.file, audio);
      const group = nextGroup++;
      addFileRows(file, r, () => group);
      if (audio) {
        const kept = audio.mono.subarray(0, Math.round(opts.windowSec * audio.sampleRate));
        positives.push({ file, audio: Int16Array.from(kept, (v) => Math.round(Math.max(-1, Math.min(1, v)) * POSITIVE_SCALE)), rate: audio.sampleRate, group });
      }
    } catch (err) {
      opts.onSkip?.(file.file, err as Error);
    }
  }

  // Each mix goes to a background file drawn in proportion to its size (a stand-in for its length).
  const background = files.filter((f) => f.cls === BACKGROUND);
  const sizes = background.map((f) => safeSize(f.file));
  const totalSize = sizes.reduce((a, b) => a + b, 0);
  const plan = new Map<number, PlannedMix[]>();
  if (totalSize > 0) {
    const random = rng(opts.augment.seed);
    positives.forEach((p, pi) => {
      for (let k = 0; k < opts.augment.perClip; k++) {
        let at = random() * totalSize;
        let b = 0;
        while (b < sizes.length - 1 && at >= sizes[b]!) at -= sizes[b++]!;
        const list = plan.get(b) ?? [];
        list.push({ positive: pi, seed: seedOf(`${p.file.rel}#${k}`, opts.augment.seed) });
        plan.set(b, list);
      }
    });
  }

  for (const [b, file] of background.entries()) {
    opts.progress?.(done++, total, file.file);
    try {
      const mixes = plan.get(b);
      const audio = mixes?.length ? await decodeAudioFile(file.file) : undefined;
      const r = await extractor.fileRows(file.file, audio);
      const first = nextGroup;
      const windowsPerGroup = Math.max(1, Math.round(groupSec / hopSec));
      addFileRows(file, r, (i) => first + Math.floor(i / windowsPerGroup));
      nextGroup = first + Math.max(1, Math.ceil(r.windows / windowsPerGroup));
      if (audio && mixes) {
        for (const mix of mixes) await addMix(rows, opts, positives[mix.positive]!, audio.mono, audio.sampleRate, file.site, rng(mix.seed));
      }
    } catch (err) {
      opts.onSkip?.(file.file, err as Error);
    }
  }
  return rows;
}

function safeSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

/** One augmented window: a stretch of background with the positive mixed in. */
async function addMix(rows: RowSet, opts: CollectOptions, p: Positive, bg: Float32Array, bgRate: number, bgSite: string, random: Random): Promise<void> {
  const a = opts.augment;
  const usable = a.rates.filter((r) => r <= bgRate && r <= Math.max(p.rate, Math.min(...a.rates)));
  if (!usable.length) return;
  const rate = usable[Math.floor(random() * usable.length)]!;
  const windowBg = Math.min(bg.length, Math.round(opts.windowSec * bgRate));
  const bgStart = Math.floor(random() * Math.max(1, bg.length - windowBg));
  const bgSeg = rate === bgRate ? bg.slice(bgStart, bgStart + windowBg) : resample(bg.subarray(bgStart, bgStart + windowBg), bgRate, rate, DETECTION_RESAMPLING);
  const posFloat = Float32Array.from(p.audio, (v) => v / POSITIVE_SCALE);
  const posAtRate = p.rate === rate ? posFloat : resample(posFloat, p.rate, rate, DETECTION_RESAMPLING);
  // A positive longer than the window: a random stretch of it; shorter: placed at a random moment.
  const posLen = Math.min(posAtRate.length, bgSeg.length);
  const posStart = Math.floor(random() * Math.max(1, posAtRate.length - posLen));
  const pos = posAtRate.subarray(posStart, posStart + posLen);
  const offset = Math.floor(random() * Math.max(1, bgSeg.length - Math.round(0.8 * posLen)));
  const lowPass = random() < a.lowPassShare ? Math.exp(uniform(random, Math.log(a.lowPassHz[0]), Math.log(Math.min(a.lowPassHz[1], rate * 0.45)))) : undefined;
  const mixed = mixEvent(bgSeg, pos, { rate, offset, snrDb: uniform(random, a.snrDb[0], a.snrDb[1]), gainDb: uniform(random, a.gainDb[0], a.gainDb[1]), lowPassHz: lowPass });
  const r = await opts.extractor.audioRows(mixed, rate);
  const clip = rows.newClip();
  for (let i = 0; i < r.windows; i++) {
    rows.add(r.features.subarray(i * rows.dims, (i + 1) * rows.dims), {
      cls: p.file.cls,
      site: p.file.site,
      bgSite,
      clip,
      index: i,
      seconds: opts.hopSec,
      augmented: true,
      group: p.group,
    });
  }
}
