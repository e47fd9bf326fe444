/**
 * `earshot features <audio> --out FILE [--embeddings]`: the model's log-mel for one
 * recording, for inspection, training custom heads, or checking the front end elsewhere.
 * Writes FILE (float32 little-endian, row-major [mel][frame]) and FILE.json describing it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MN04_FRONTEND, type FrontendParams } from '../../dsp/frontend-params.js';
import { createMelFrontend } from '../../dsp/melspec.js';
import { loadAudioAtRate } from '../audio/load-model-rate.js';
import { EarshotError, UsageError, errnoCode } from '../errors.js';
import type { CliContext, RegisterCommand } from './context.js';

const COMPONENT = 'cli.features';
export const FEATURES_LAYOUT = 'float32 little-endian, row-major [mel][frame]';

interface FeaturesOptions {
  out?: string;
  embeddings?: boolean;
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
}

export const registerFeaturesCommand: RegisterCommand = (program, ctx) => {
  program
    .command('features')
    .description('write the model log-mel of a recording (float32 [mel][frame]) and a JSON sidecar')
    .argument('<audio>', 'audio file: WAV, or FLAC/MP3/OGG when sox or ffmpeg is installed')
    .option('-o, --out <file>', 'output file for the log-mel; the sidecar goes to <file>.json')
    .option('--embeddings', 'also write the model embeddings (needs the model runner)')
    .action(async (audio: string, opts: FeaturesOptions) => {
      await runFeatures(audio, opts, ctx);
    });
};

export async function runFeatures(audio: string, opts: FeaturesOptions, ctx: CliContext, params: FrontendParams = MN04_FRONTEND): Promise<FeaturesSidecar> {
  if (!opts.out) {
    throw new UsageError('features: --out <file> is required (where to write the log-mel)', { component: COMPONENT, code: 'usage.out' });
  }
  if (opts.embeddings) {
    throw new UsageError('features --embeddings needs the model runner (not installed yet); run without --embeddings for the log-mel', {
      component: COMPONENT,
      code: 'usage.embeddings',
    });
  }
  const input = path.resolve(ctx.cwd, audio);
  const out = path.resolve(ctx.cwd, opts.out);
  const loaded = await loadAudioAtRate(input, params.sampleRate);
  for (const w of loaded.source.warnings) ctx.stderr(`earshot: ${audio}: ${w}\n`);

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
  return sidecar;
}

function littleEndianBytes(data: Float32Array): Uint8Array {
  if (os.endianness() === 'LE') return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const bytes = new Uint8Array(data.byteLength);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i], true);
  return bytes;
}

/** Write beside the target, then rename: a reader never sees half a file. */
function writeAtomic(file: string, content: Uint8Array | string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(tmp, content);
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    const why = errnoCode(err) === 'ENOENT' ? 'its folder does not exist' : (errnoCode(err) ?? (err as Error).message);
    throw new EarshotError(`cannot write ${file}: ${why}`, { component: COMPONENT, code: 'features.write', cause: err });
  }
}
