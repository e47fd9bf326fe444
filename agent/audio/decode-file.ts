/**
 * Decode an audio file from disk. WAV (PCM 8–32, float 32/64, extensible) is parsed
 * in-process by dsp/wav.ts; everything else (FLAC, MP3, OGG, WAV codecs such as ADPCM or
 * µ-law) is piped through `sox` or, failing that, `ffmpeg`, which are asked for a 32-bit float
 * WAV on stdout — its header carries the original rate and channel count, so one process
 * suffices and the same WAV parser reads the result.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { DataError, EarshotError, InputMissingError, UnavailableError, UsageError, errnoCode } from '../errors.js';
import { decodeWav, type DecodedWav } from '../../dsp/wav.js';

const COMPONENT = 'audio.decode';

export interface DecodedAudio {
  file: string;
  sampleRate: number;
  channels: number;
  frames: number;
  durationSec: number;
  /** One array per channel, in [-1, 1). */
  channelData: Float32Array[];
  /** Mean of the channels (the model path). */
  mono: Float32Array;
  /** Who decoded it. */
  decoder: 'wav' | 'sox' | 'ffmpeg';
  /** The WAV's data chunk was cut short; the samples are those present. */
  truncated: boolean;
  warnings: string[];
}

export interface DecodeFileOptions {
  /** Executables to try for non-WAV input, in order (names on PATH or paths). */
  tools?: { sox?: string; ffmpeg?: string };
  /** A WAV whose data chunk is cut short is an error instead of a warning. */
  strict?: boolean;
  /** Refuse more decoded float32 PCM than this from a subprocess (bytes). Default 1 GiB. */
  maxBytes?: number;
  signal?: AbortSignal;
}

const DEFAULT_MAX_BYTES = 1 << 30;

function isWav(head: Uint8Array): boolean {
  const id = String.fromCharCode(...head.subarray(0, 4));
  return head.length >= 12 && (id === 'RIFF' || id === 'RF64') && String.fromCharCode(...head.subarray(8, 12)) === 'WAVE';
}

function fromWav(file: string, wav: DecodedWav, decoder: DecodedAudio['decoder']): DecodedAudio {
  return {
    file,
    sampleRate: wav.sampleRate,
    channels: wav.channels,
    frames: wav.frames,
    durationSec: wav.frames / wav.sampleRate,
    channelData: wav.channelData,
    mono: wav.mono,
    decoder,
    truncated: wav.truncated,
    warnings: wav.warnings,
  };
}

function readInput(file: string): Buffer {
  try {
    const st = fs.statSync(file);
    if (st.isDirectory()) {
      throw new UsageError(`${file}: is a folder, expected an audio file`, { component: COMPONENT, code: 'audio.is-folder' });
    }
    return fs.readFileSync(file);
  } catch (err) {
    if (err instanceof EarshotError) throw err;
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new InputMissingError(`${file}: no such file`, { component: COMPONENT, code: 'audio.missing', cause: err });
    }
    if (code === 'EACCES' || code === 'EPERM') {
      throw new InputMissingError(`${file}: permission denied`, { component: COMPONENT, code: 'audio.unreadable', cause: err });
    }
    throw err;
  }
}

export async function decodeAudioFile(file: string, options: DecodeFileOptions = {}): Promise<DecodedAudio> {
  const bytes = readInput(file);
  if (isWav(bytes)) {
    try {
      return fromWav(file, decodeWav(bytes, { name: file, strict: options.strict }), 'wav');
    } catch (err) {
      // A WAV container with a codec we do not parse (ADPCM, µ-law...): let sox/ffmpeg try.
      if (!(err instanceof DataError && err.code === 'wav.format')) throw err;
    }
  } else if (bytes.length === 0) {
    throw new DataError(`${file}: empty file (0 bytes)`, { component: COMPONENT, code: 'audio.empty' });
  }
  return decodeWithTools(file, options);
}

interface ToolResult {
  stdout: Buffer;
  stderr: string;
  code: number | null;
}

class MissingTool extends Error {}
class TooLarge extends Error {}

function runTool(cmd: string, args: string[], maxBytes: number, signal?: AbortSignal): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], signal });
    const chunks: Buffer[] = [];
    let size = 0;
    let stderr = '';
    let settled = false;
    const settle = (fn: () => void): void => {
      if (!settled) {
        settled = true;
        fn();
      }
    };
    child.stdout.on('data', (c: Buffer) => {
      size += c.length;
      if (size > maxBytes) {
        child.kill('SIGKILL');
        settle(() => reject(new TooLarge()));
        return;
      }
      chunks.push(c);
    });
    child.stderr.on('data', (c: Buffer) => {
      if (stderr.length < 8192) stderr += c.toString('utf8');
    });
    child.on('error', (err) => {
      settle(() => reject(errnoCode(err) === 'ENOENT' ? new MissingTool(cmd) : err));
    });
    child.on('close', (code) => settle(() => resolve({ stdout: Buffer.concat(chunks), stderr, code })));
  });
}

/** The most telling line of a tool's complaint. */
function lastLine(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines[lines.length - 1] ?? 'no message';
}

async function decodeWithTools(file: string, options: DecodeFileOptions): Promise<DecodedAudio> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const tools: { name: 'sox' | 'ffmpeg'; cmd: string; args: string[] }[] = [
    // `-t wav -`: a float WAV on stdout; its header gives rate and channels.
    { name: 'sox', cmd: options.tools?.sox ?? 'sox', args: ['-V1', file, '-t', 'wav', '-e', 'floating-point', '-b', '32', '-'] },
    { name: 'ffmpeg', cmd: options.tools?.ffmpeg ?? 'ffmpeg', args: ['-v', 'error', '-nostdin', '-i', file, '-f', 'wav', '-acodec', 'pcm_f32le', '-'] },
  ];
  const failures: string[] = [];
  let unsupported = false;
  let anyTool = false;
  for (const tool of tools) {
    let res: ToolResult;
    try {
      res = await runTool(tool.cmd, tool.args, maxBytes, options.signal);
    } catch (err) {
      if (err instanceof MissingTool) continue;
      if (err instanceof TooLarge) {
        throw new DataError(`${file}: decodes to more than ${Math.round(maxBytes / 2 ** 20)} MiB of samples; split the recording`, {
          component: COMPONENT,
          code: 'audio.too-large',
        });
      }
      throw err;
    }
    anyTool = true;
    if (res.code === 0 && res.stdout.length > 0) {
      // Piped output cannot seek back to fix the header: ignore its data size.
      return fromWav(file, decodeWav(res.stdout, { name: `${file} (via ${tool.name})`, dataSizeUnknown: true }), tool.name);
    }
    const why = lastLine(res.stderr);
    if (/no handler|unknown (file|format)|not supported|no decoder|unsupported/i.test(why)) unsupported = true;
    failures.push(`${tool.name}: ${why}`);
  }
  if (!anyTool) {
    throw new UnavailableError(
      `${file}: not a WAV file, and decoding other formats (FLAC, MP3, OGG...) needs sox or ffmpeg, neither of which is installed; ` +
        'install one: sudo apt install sox libsox-fmt-all (or: sudo apt install ffmpeg)',
      { component: COMPONENT, code: 'audio.no-decoder' },
    );
  }
  if (unsupported && failures.length === 1) {
    throw new UnavailableError(
      `${file}: ${failures[0]}; install the format handlers (sudo apt install libsox-fmt-all) or ffmpeg (sudo apt install ffmpeg)`,
      { component: COMPONENT, code: 'audio.no-decoder' },
    );
  }
  throw new DataError(`${file}: cannot decode (${failures.join('; ')})`, { component: COMPONENT, code: 'audio.corrupt' });
}
