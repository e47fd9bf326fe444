/**
 * Window features for training and evaluation: a recording (or an augmented mix) → one feature
 * row per model window, through the same Analyzer, front end and tagger that detection runs (the
 * rows are what a head sees at run time). Files are decoded one at a time and analysed in
 * stretches of at most ten minutes, so memory stays bounded on long recordings; each file's rows
 * are cached on disk, keyed by the file (path, size, time), the model and the feature layout, so
 * a second run of `earshot train` or the cross-site evaluation skips the tagger.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { decodeAudioFile, type DecodedAudio } from '../audio/decode-file.js';
import { Analyzer, type LabelPeak } from '../offline/analyzer.js';
import { HeadFeatures } from '../detect/head-scorer.js';
import type { DetectionStack } from '../detect/open-detection.js';
import type { HeadFile } from '../../models/head.js';
import { writeFileAtomic } from '../fs/atomic-write.js';

const CACHE_VERSION = 1;
/** Longest stretch analysed at once, seconds (bounds the log-mel held in memory). */
const STRETCH_SEC = 600;

export interface WindowRows {
  /** rows × dims, row-major. */
  features: Float32Array;
  windows: number;
  durationSec: number;
  /** Rate the recording had. */
  sampleRate: number;
  /** Class-map peak per label (only for the labels the extractor was asked to score). */
  peaks: Record<string, number>;
}

export interface ExtractorOptions {
  stack: Pick<DetectionStack, 'frontend' | 'tagger' | 'voice' | 'classMap' | 'modelRef'>;
  spec: HeadFile['features'];
  windowSec: number;
  hopSec: number;
  /** Class-map labels whose peaks are reported too (evaluation); none for training. */
  peakLabels?: readonly string[];
  /** Folder of cached rows; none: no cache. */
  cacheDir?: string;
}

export class WindowFeatureExtractor {
  readonly dims: number;
  private readonly features: HeadFeatures;
  private readonly analyzer: Analyzer;
  private readonly row: Float32Array;
  private collecting: Float32Array[] = [];
  cacheHits = 0;
  cacheMisses = 0;

  constructor(private readonly opts: ExtractorOptions) {
    const { frontend, tagger, classMap, voice } = opts.stack;
    const maxFrames = Math.round((opts.windowSec * frontend.params.sampleRate) / frontend.params.hop) + 2;
    this.features = new HeadFeatures(opts.spec, classMap.modelLabels, frontend.nMels, maxFrames);
    this.dims = this.features.length;
    this.row = new Float32Array(this.dims);
    this.analyzer = new Analyzer({
      frontend,
      tagger,
      voice,
      classMap,
      windowSec: opts.windowSec,
      hopSec: opts.hopSec,
      batchSize: 8,
      minConfidence: 0,
      labels: opts.peakLabels ?? [],
      onWindow: (w) => this.collecting.push(Float32Array.from(this.features.compute(w.tagged, { data: w.mel, frames: w.frames }, this.row))),
    });
  }

  /** Rows of audio already in memory (an augmented mix). */
  async audioRows(samples: Float32Array, rate: number): Promise<WindowRows> {
    this.collecting = [];
    const analysis = await this.analyzer.analyze(samples, rate);
    const peaks: Record<string, number> = {};
    mergePeaks(peaks, analysis.peaks);
    return this.finish(this.collecting, analysis.durationSec, rate, peaks);
  }

  /** Rows of a file, from the cache when it has them; `decoded` saves decoding it again. */
  async fileRows(file: string, decoded?: DecodedAudio): Promise<WindowRows> {
    const cacheFile = this.cacheFile(file);
    if (cacheFile) {
      const cached = readCache(cacheFile, this.dims);
      if (cached) {
        this.cacheHits++;
        return cached;
      }
    }
    this.cacheMisses++;
    const audio = decoded ?? (await decodeAudioFile(file));
    const rate = audio.sampleRate;
    const stretch = Math.round(STRETCH_SEC * rate);
    const overlap = Math.round((this.opts.windowSec - this.opts.hopSec) * rate);
    const rows: Float32Array[] = [];
    const peaks: Record<string, number> = {};
    for (let from = 0; from < audio.mono.length || from === 0; from += stretch) {
      this.collecting = [];
      const analysis = await this.analyzer.analyze(audio.mono.subarray(from, Math.min(audio.mono.length, from + stretch + overlap)), rate);
      rows.push(...this.collecting);
      mergePeaks(peaks, analysis.peaks);
      if (from + stretch + overlap >= audio.mono.length) break;
    }
    const result = this.finish(rows, audio.durationSec, rate, peaks);
    if (cacheFile) writeCache(cacheFile, result, this.dims);
    return result;
  }

  private finish(rows: Float32Array[], durationSec: number, sampleRate: number, peaks: Record<string, number>): WindowRows {
    const features = new Float32Array(rows.length * this.dims);
    rows.forEach((r, i) => features.set(r, i * this.dims));
    return { features, windows: rows.length, durationSec, sampleRate, peaks };
  }

  private cacheFile(file: string): string | undefined {
    if (!this.opts.cacheDir) return undefined;
    let stat: fs.Stats;
    try {
      stat = fs.statSync(file);
    } catch {
      return undefined;
    }
    const { modelRef } = this.opts.stack;
    const key = JSON.stringify({
      v: CACHE_VERSION,
      file: path.resolve(file),
      size: stat.size,
      mtimeMs: stat.mtimeMs,
      model: modelRef.sha256,
      windowSec: this.opts.windowSec,
      hopSec: this.opts.hopSec,
      spec: this.opts.spec,
      peakLabels: this.opts.peakLabels ?? [],
      voice: Boolean(this.opts.stack.voice),
    });
    return path.join(this.opts.cacheDir, `${crypto.createHash('sha256').update(key).digest('hex').slice(0, 40)}.json`);
  }
}

function mergePeaks(into: Record<string, number>, peaks: readonly LabelPeak[]): void {
  for (const p of peaks) into[p.label] = Math.max(into[p.label] ?? 0, p.score);
}

function readCache(file: string, dims: number): WindowRows | undefined {
  try {
    const c = JSON.parse(fs.readFileSync(file, 'utf8')) as Omit<WindowRows, 'features'> & { features: string; dims: number };
    if (c.dims !== dims) return undefined;
    const buf = Buffer.from(c.features, 'base64');
    const features = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
    if (features.length !== c.windows * dims) return undefined;
    return { features, windows: c.windows, durationSec: c.durationSec, sampleRate: c.sampleRate, peaks: c.peaks };
  } catch {
    return undefined; // missing or damaged: computed again
  }
}

function writeCache(file: string, rows: WindowRows, dims: number): void {
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const features = Buffer.from(rows.features.buffer, rows.features.byteOffset, rows.features.byteLength).toString('base64');
    writeFileAtomic(file, JSON.stringify({ ...rows, dims, features }));
  } catch {
    // A cache that cannot be written only costs time on the next run.
  }
}
