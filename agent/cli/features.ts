/**
 * `earshot features <audio> --out FILE [--embeddings]`: the model's log-mel for one
 * recording, for inspection, training custom heads, or checking the front end elsewhere.
 * Writes FILE (float32 little-endian, row-major [mel][frame]) and FILE.json describing it.
 * With --embeddings, also FILE.embeddings.f32: the installed tagger's embedding of every
 * detection window (detection.windowSec every detection.hopSec, as `analyze` cuts them),
 * float32 little-endian, row-major [window][dim] (dim 384 for efficientat-mn04), described by
 * the `embeddings` member of FILE.json (shape, window start times, model).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import { MN04_FRONTEND, type FrontendParams } from '../../dsp/frontend-params.js';
import { createMelFrontend } from '../../dsp/melspec.js';
import { loadAudioAtRate } from '../audio/load-model-rate.js';
import { Analyzer } from '../offline/analyzer.js';
import { openDetection } from '../detect/open-detection.js';
import { EarshotError, UsageError } from '../errors.js';
import { cannotCreate } from '../offline/output-path.js';
import type { ModelRef } from '../event.js';
import { globalOptions, type CliContext, type RegisterCommand } from './context.js';

const COMPONENT = 'cli.features';
export const FEATURES_LAYOUT = 'float32 little-endian, row-major [mel][frame]';
export const EMBEDDINGS_LAYOUT = 'float32 little-endian, row-major [window][dim]';
/** Where --embeddings writes, beside the log-mel file. */
export const EMBEDDINGS_SUFFIX = '.embeddings.f32';

interface FeaturesOptions {
  out?: string;
  embeddings?: boolean;
  /** The global --config (for --embeddings: the installed model and detection.windowSec/hopSec). */
  configFile?: string;
}

/** The `embeddings` member of the sidecar (with --embeddings). */
export interface EmbeddingsSidecar {
  /** Absolute path of the embeddings file (`<out>.embeddings.f32`). */
  file: string;
  /** [windows, dim]. */
  shape: [number, number];
  layout: string;
  dtype: 'float32';
  /** Window length and hop (detection.windowSec, detection.hopSec); a recording shorter than one window is one window of all of it. */
  windowSec: number;
  hopSec: number;
  /** Start of each window, in seconds from the start of the recording (row order). */
  windowStartsSec: number[];
  model: ModelRef;
}

export interface FeaturesSidecar {
  shape: [number, number];
  layout: string;
  dtype: 'float32';
  sampleRate: number;
  hop: number;
  frameRate: number;
  source: {
    file: string;
    sampleRate: number;
    channels: number;
    frames: number;
    durationSec: number;
    decoder: string;
    truncated: boolean;
    warnings: string[];
  };
  frontend: FrontendParams;
  embeddings?: EmbeddingsSidecar;
}

export const registerFeaturesCommand: RegisterCommand = (program, ctx) => {
  program
    .command('features')
    .description('write the model log-mel of a recording (float32 [mel][frame]) and a JSON sidecar')
    .argument('<audio>', 'audio file: WAV, or FLAC/MP3/OGG when sox or ffmpeg is installed')
    .option('-o, --out <file>', 'output file for the log-mel; the sidecar goes to <file>.json')
    .option('--embeddings', `also write the installed model's embedding of every detection window to <file>${EMBEDDINGS_SUFFIX} (float32 [window][dim])`)
    .action(async (audio: string, opts: FeaturesOptions, cmd: Command) => {
      await runFeatures(audio, { ...opts, configFile: globalOptions(cmd).config }, ctx);
    });
};

export async function runFeatures(audio: string, opts: FeaturesOptions, ctx: CliContext, params: FrontendParams = MN04_FRONTEND): Promise<FeaturesSidecar> {
  if (!opts.out) {
    throw new UsageError('features: --out <file> is required (where to write the log-mel)', { component: COMPONENT, code: 'usage.out' });
  }
  const input = path.resolve(ctx.cwd, audio);
  const out = path.resolve(ctx.cwd, opts.out);
  checkOutputFile(out);
  const loaded = await loadAudioAtRate(input, params.sampleRate);
  for (const w of loaded.source.warnings) ctx.stderr(`earshot: ${audio}: ${w}\n`);
  // Before any file is written: a model that is not installed is exit 69 and leaves nothing behind.
  const embeddings = opts.embeddings ? await windowEmbeddings(loaded.samples, params.sampleRate, opts.configFile, ctx) : undefined;

  const mel = createMelFrontend(params).melspec(loaded.samples);
  const sidecar: FeaturesSidecar = {
    shape: [mel.nMels, mel.nFrames],
    layout: FEATURES_LAYOUT,
    dtype: 'float32',
    sampleRate: params.sampleRate,
    hop: params.hop,
    frameRate: params.sampleRate / params.hop,
    source: {
      file: input,
      sampleRate: loaded.source.sampleRate,
      channels: loaded.source.channels,
      frames: loaded.source.frames,
      durationSec: loaded.source.durationSec,
      decoder: loaded.source.decoder,
      truncated: loaded.source.truncated,
      warnings: loaded.source.warnings,
    },
    frontend: { ...params, normalize: { ...params.normalize } },
  };
  if (embeddings) {
    const file = `${out}${EMBEDDINGS_SUFFIX}`;
    writeAtomic(file, littleEndianBytes(embeddings.data));
    sidecar.embeddings = { file, ...embeddings.meta };
  }
  writeAtomic(out, littleEndianBytes(mel.data));
  writeAtomic(`${out}.json`, `${JSON.stringify(sidecar, null, 2)}\n`);

  const from = loaded.source;
  const conversion = [
    from.sampleRate !== params.sampleRate ? `resampled from ${from.sampleRate} Hz` : '',
    from.channels > 1 ? `${from.channels} channels mixed to mono` : '',
  ].filter(Boolean);
  ctx.stdout(
    `wrote ${opts.out}: ${mel.nMels} × ${mel.nFrames} log-mel frames (${from.durationSec.toFixed(2)} s at ${params.sampleRate} Hz` +
      `${conversion.length ? `, ${conversion.join(', ')}` : ''}); sidecar ${opts.out}.json\n`,
  );
  if (sidecar.embeddings) {
    const [windows, dim] = sidecar.embeddings.shape;
    ctx.stdout(`wrote ${opts.out}${EMBEDDINGS_SUFFIX}: ${windows} × ${dim} embeddings (${sidecar.embeddings.model.name}, ${sidecar.embeddings.windowSec} s windows every ${sidecar.embeddings.hopSec} s)\n`);
  }
  return sidecar;
}

/**
 * The installed tagger's embedding of every detection window, cut as `analyze` cuts them
 * (through the analyzer's `onWindow`), from samples at `rate`. Exit 69 when the model is not installed.
 */
async function windowEmbeddings(
  samples: Float32Array,
  rate: number,
  configFile: string | undefined,
  ctx: CliContext,
): Promise<{ data: Float32Array; meta: Omit<EmbeddingsSidecar, 'file'> }> {
  const { config } = loadConfig({ flag: configFile, env: ctx.env });
  const { windowSec, hopSec } = config.detection;
  // Only the tagger is needed: no site head (its file cannot stop this) and no voice detector.
  const stack = await openDetection({ ...config, detection: { ...config.detection, voice: false } }, { head: 'none', mirror: ctx.env.EARSHOT_MODEL_MIRROR, configFile });
  const rows: Float32Array[] = [];
  const starts: number[] = [];
  try {
    const analyzer = new Analyzer({
      frontend: stack.frontend,
      tagger: stack.tagger,
      classMap: stack.classMap,
      windowSec,
      hopSec,
      batchSize: 8,
      labels: [], // no label scoring: only the windows are wanted
      onWindow: (w) => {
        rows.push(Float32Array.from(w.tagged.embedding)); // the analyzer reuses its arrays
        starts.push(Math.round((w.startSample / w.rate) * 1e6) / 1e6);
      },
    });
    await analyzer.analyze(samples, rate);
  } finally {
    await stack.close();
  }
  const dim = rows[0]?.length ?? 0;
  if (rows.length > 0 && dim === 0) {
    throw new EarshotError(`features --embeddings: ${stack.modelRef.name} has no embedding output`, { component: COMPONENT, code: 'features.no-embedding' });
  }
  const data = new Float32Array(rows.length * dim);
  rows.forEach((r, i) => data.set(r, i * dim));
  return {
    data,
    meta: { shape: [rows.length, dim], layout: EMBEDDINGS_LAYOUT, dtype: 'float32', windowSec, hopSec, windowStartsSec: starts, model: stack.modelRef },
  };
}

function littleEndianBytes(data: Float32Array): Uint8Array {
  if (os.endianness() === 'LE') return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const bytes = new Uint8Array(data.byteLength);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i], true);
  return bytes;
}

/** Fails early (exit 73) when `out` cannot be written: its folder is missing, not a folder, or closed. */
function checkOutputFile(out: string): void {
  const dir = path.dirname(out);
  try {
    if (!fs.statSync(dir).isDirectory()) throw Object.assign(new Error(`${dir} is not a folder`), { code: 'ENOTDIR' });
    fs.accessSync(dir, fs.constants.W_OK | fs.constants.X_OK);
    if (fs.statSync(out, { throwIfNoEntry: false })?.isDirectory()) throw Object.assign(new Error(`${out} is a folder`), { code: 'EISDIR' });
  } catch (err) {
    throw cannotCreate('--out', out, err);
  }
}

/** Write beside the target, then rename: a reader never sees half a file. */
function writeAtomic(file: string, content: Uint8Array | string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(tmp, content);
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    // The user's --out, not a bug: one line with the fix, exit 73.
    throw cannotCreate('--out', file, err);
  }
}
