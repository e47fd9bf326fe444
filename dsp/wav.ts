/**
 * WAV (RIFF/RF64) decoder for in-memory bytes: PCM 8/16/24/32-bit, IEEE float 32/64,
 * WAVE_FORMAT_EXTENSIBLE, any channel count and sample rate. Unknown chunks (LIST, fact,
 * cue, bext...) are skipped, honouring the pad byte after odd-sized chunks.
 *
 * Robustness policy: the file's bytes are the truth, never its sizes. Every allocation is
 * bounded by the bytes actually present, so a header claiming 4 GB costs nothing.
 *  - A data chunk claiming more bytes than the file holds is what a recorder that lost power
 *    mid-write leaves behind. By default the samples that are there are returned and
 *    `truncated` is set (with a warning); `strict: true` turns that into a DataError.
 *  - A data chunk claiming 0 bytes with samples after it (a header never finalised) is read to
 *    the end of the file, also flagged `truncated`.
 *  - Anything that makes the samples meaningless (no fmt, zero channels, an unsupported
 *    codec, a header cut short) is a DataError with a stable `code` and the file's name.
 */
import { DataError } from '../agent/errors.js';
import { writeWavHeader } from './wav-encode.js';

export interface DecodedWav {
  sampleRate: number;
  channels: number;
  /** Sample frames (samples per channel). */
  frames: number;
  /** One array per channel, samples scaled to [-1, 1) (int16 / 32768 etc.). */
  channelData: Float32Array[];
  /** Mean of the channels; the same array as channelData[0] for a mono file. */
  mono: Float32Array;
  encoding: 'pcm' | 'float';
  /** Bits per sample in the container (8, 16, 24, 32, 64). */
  containerBits: number;
  /** Significant bits (WAVE_FORMAT_EXTENSIBLE may say fewer than the container). */
  validBits: number;
  extensible: boolean;
  /** The data chunk was cut short (or its size never written); samples are those present. */
  truncated: boolean;
  warnings: string[];
}

export interface DecodeWavOptions {
  /** Used in error messages (a file name). */
  name?: string;
  /** Refuse a data chunk that claims more bytes than present instead of flagging it. */
  strict?: boolean;
  /** A streamed WAV (pipe output of sox/ffmpeg): ignore the data size and read to the end. */
  dataSizeUnknown?: boolean;
}

/** Header facts, available without decoding samples. */
export interface WavInfo {
  formatTag: number;
  encoding: 'pcm' | 'float';
  channels: number;
  sampleRate: number;
  blockAlign: number;
  containerBits: number;
  validBits: number;
  extensible: boolean;
  dataOffset: number;
  /** Bytes of sample data actually used (whole frames, present in the file). */
  dataBytes: number;
  truncated: boolean;
  warnings: string[];
}

const COMPONENT = 'dsp.wav';
const MAX_SAMPLE_RATE = 10_000_000;
/** KSDATAFORMAT_SUBTYPE_* GUIDs share this tail after the 2-byte format tag. */
const GUID_TAIL = [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71];

const FORMAT_NAMES: Record<number, string> = {
  0x0002: 'MS ADPCM',
  0x0006: 'A-law',
  0x0007: 'µ-law',
  0x0011: 'IMA ADPCM',
  0x0031: 'GSM 6.10',
  0x0050: 'MPEG',
  0x0055: 'MP3',
  0x0161: 'WMA',
};

function fourcc(b: Uint8Array, at: number): string {
  return String.fromCharCode(b[at], b[at + 1], b[at + 2], b[at + 3]);
}

function printable(s: string): string {
  return JSON.stringify(s.replace(/[^\x20-\x7e]/g, '?'));
}

/** Parse the RIFF header and chunk list; throws DataError for anything undecodable. */
export function readWavInfo(bytes: Uint8Array, options: DecodeWavOptions = {}): WavInfo {
  const name = options.name ?? 'WAV data';
  const fail = (code: string, message: string): never => {
    throw new DataError(`${name}: ${message}`, { component: COMPONENT, code });
  };
  const len = bytes.length;
  if (len === 0) fail('wav.empty', 'empty file (0 bytes), not a WAV file');
  if (len < 12) fail('wav.truncated', `truncated header: ${len} bytes, a RIFF/WAVE header needs 12`);
  const riff = fourcc(bytes, 0);
  if (riff === 'RIFX') fail('wav.format', 'big-endian RIFX WAV is not supported (convert with sox)');
  if ((riff !== 'RIFF' && riff !== 'RF64') || fourcc(bytes, 8) !== 'WAVE') {
    fail('wav.not-wav', `not a WAV file (starts with ${printable(fourcc(bytes, 0))}, expected "RIFF"…"WAVE")`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const warnings: string[] = [];

  let fmt: Omit<WavInfo, 'dataOffset' | 'dataBytes' | 'truncated' | 'warnings'> | undefined;
  let dataOffset = -1;
  let claimed = 0;
  let ds64DataSize = -1;
  let pos = 12;
  while (pos + 8 <= len) {
    const id = fourcc(bytes, pos);
    const size = view.getUint32(pos + 4, true);
    const body = pos + 8;
    if (id === 'fmt ') {
      if (size < 16) fail('wav.fmt', `fmt chunk is ${size} bytes, needs at least 16`);
      if (body + Math.min(size, 40) > len) fail('wav.truncated', `truncated header: the fmt chunk runs past the end of the file (${len} bytes)`);
      fmt = parseFmt(view, body, size, fail, warnings);
    } else if (id === 'ds64' && riff === 'RF64' && size >= 24 && body + 24 <= len) {
      // RF64: 64-bit sizes; the data size is at offset 8. Beyond 2^53 it is a lie anyway.
      ds64DataSize = view.getUint32(body + 8, true) + view.getUint32(body + 12, true) * 2 ** 32;
    } else if (id === 'data') {
      dataOffset = body;
      claimed = riff === 'RF64' && size === 0xffffffff && ds64DataSize >= 0 ? ds64DataSize : size;
      if (fmt) break; // nothing after the samples matters
    }
    // Chunks are word-aligned: an odd size is followed by a pad byte.
    pos = body + size + (size & 1);
  }
  // Under 44 bytes there is no room for a minimal header: call that truncation.
  if (!fmt) fail(len < 44 ? 'wav.truncated' : 'wav.no-fmt', `${len < 44 ? 'truncated header: ' : ''}no fmt chunk in ${len} bytes`);
  if (dataOffset < 0) fail('wav.no-data', `no data chunk in ${len} bytes (truncated file?)`);
  const f = fmt as NonNullable<typeof fmt>;

  const available = len - dataOffset;
  let usable = claimed;
  let truncated = false;
  if (options.dataSizeUnknown) {
    usable = available;
  } else if (claimed > available) {
    if (options.strict) {
      fail('wav.truncated', `data chunk claims ${claimed} bytes but only ${available} are in the file (truncated recording?)`);
    }
    truncated = true;
    usable = available;
    warnings.push(`data chunk claims ${claimed} bytes but only ${available} are present; decoded what is there`);
  } else if (claimed === 0 && available >= f.blockAlign) {
    truncated = true;
    usable = available;
    warnings.push(`data chunk size is 0 but ${available} bytes follow (header never finalised); decoded them`);
  }
  const whole = usable - (usable % f.blockAlign);
  if (whole !== usable && !truncated && !options.dataSizeUnknown) {
    warnings.push(`data chunk ends with ${usable - whole} bytes of a partial sample frame; ignored`);
  }
  return { ...f, dataOffset, dataBytes: whole, truncated, warnings };
}

function parseFmt(
  view: DataView,
  at: number,
  size: number,
  fail: (code: string, message: string) => never,
  warnings: string[],
): Omit<WavInfo, 'dataOffset' | 'dataBytes' | 'truncated' | 'warnings'> {
  let formatTag = view.getUint16(at, true);
  const channels = view.getUint16(at + 2, true);
  const sampleRate = view.getUint32(at + 4, true);
  let blockAlign = view.getUint16(at + 12, true);
  const bits = view.getUint16(at + 14, true);
  let validBits = bits;
  let extensible = false;
  if (formatTag === 0xfffe) {
    if (size < 40) fail('wav.fmt', `WAVE_FORMAT_EXTENSIBLE fmt chunk is ${size} bytes, needs 40`);
    extensible = true;
    validBits = view.getUint16(at + 18, true) || bits;
    formatTag = view.getUint16(at + 24, true);
    for (let i = 0; i < GUID_TAIL.length; i++) {
      if (view.getUint8(at + 26 + i) !== GUID_TAIL[i]) fail('wav.format', 'WAVE_FORMAT_EXTENSIBLE with a non-standard sub-format GUID is not supported');
    }
  }
  if (channels === 0) fail('wav.channels', 'fmt chunk says 0 channels');
  if (sampleRate === 0 || sampleRate > MAX_SAMPLE_RATE) fail('wav.rate', `implausible sample rate ${sampleRate} Hz`);
  if (formatTag !== 1 && formatTag !== 3) {
    const known = FORMAT_NAMES[formatTag];
    fail(
      'wav.format',
      `unsupported WAV format code 0x${formatTag.toString(16).padStart(4, '0')}${known ? ` (${known})` : ''}; ` +
        'supported: PCM 8/16/24/32-bit and IEEE float 32/64-bit (convert others with sox)',
    );
  }
  const encoding = formatTag === 3 ? 'float' : 'pcm';
  const needBytes = Math.ceil(bits / 8);
  if (bits === 0) fail('wav.fmt', 'fmt chunk says 0 bits per sample');
  if (blockAlign === 0) {
    blockAlign = needBytes * channels;
    warnings.push(`fmt block align is 0; assumed ${blockAlign}`);
  }
  if (blockAlign % channels !== 0) fail('wav.fmt', `block align ${blockAlign} is not a multiple of ${channels} channels`);
  const containerBytes = blockAlign / channels;
  if (containerBytes < needBytes) fail('wav.fmt', `block align ${blockAlign} is too small for ${channels} × ${bits}-bit samples`);
  const ok = encoding === 'pcm' ? containerBytes >= 1 && containerBytes <= 4 : containerBytes === 4 || containerBytes === 8;
  if (!ok) {
    fail('wav.format', `unsupported ${encoding === 'pcm' ? 'PCM' : 'float'} sample size ${containerBytes * 8} bits; supported: PCM 8/16/24/32, float 32/64`);
  }
  return {
    formatTag,
    encoding,
    channels,
    sampleRate,
    blockAlign,
    containerBits: containerBytes * 8,
    validBits: Math.min(validBits, containerBytes * 8),
    extensible,
  };
}

/** Decode WAV bytes into per-channel float samples and a mono mixdown. */
export function decodeWav(bytes: Uint8Array, options: DecodeWavOptions = {}): DecodedWav {
  const info = readWavInfo(bytes, options);
  const { channels, blockAlign, dataOffset, encoding, containerBits } = info;
  const frames = info.dataBytes / blockAlign;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const channelData: Float32Array[] = [];
  for (let c = 0; c < channels; c++) channelData.push(new Float32Array(frames));
  const step = containerBits / 8;
  for (let c = 0; c < channels; c++) {
    decodeChannel(view, dataOffset + c * step, blockAlign, frames, encoding, containerBits, channelData[c]);
  }
  const mono = channels === 1 ? channelData[0] : mixToMono(channelData, frames);
  return {
    sampleRate: info.sampleRate,
    channels,
    frames,
    channelData,
    mono,
    encoding,
    containerBits,
    validBits: info.validBits,
    extensible: info.extensible,
    truncated: info.truncated,
    warnings: info.warnings,
  };
}

/** One channel, strided by the block alignment. Samples are left-justified in their container. */
function decodeChannel(
  view: DataView,
  at: number,
  stride: number,
  frames: number,
  encoding: 'pcm' | 'float',
  bits: number,
  out: Float32Array,
): void {
  let p = at;
  if (encoding === 'float') {
    if (bits === 32) for (let i = 0; i < frames; i++, p += stride) out[i] = view.getFloat32(p, true);
    else for (let i = 0; i < frames; i++, p += stride) out[i] = view.getFloat64(p, true);
    return;
  }
  switch (bits) {
    case 8: // unsigned, offset 128
      for (let i = 0; i < frames; i++, p += stride) out[i] = (view.getUint8(p) - 128) / 128;
      break;
    case 16:
      for (let i = 0; i < frames; i++, p += stride) out[i] = view.getInt16(p, true) / 32768;
      break;
    case 24:
      for (let i = 0; i < frames; i++, p += stride) {
        const v = view.getUint8(p) | (view.getUint8(p + 1) << 8) | (view.getInt8(p + 2) << 16);
        out[i] = v / 8388608;
      }
      break;
    default:
      for (let i = 0; i < frames; i++, p += stride) out[i] = view.getInt32(p, true) / 2147483648;
  }
}

/** Mean of the channels. */
export function mixToMono(channelData: readonly Float32Array[], frames = channelData[0]?.length ?? 0, out = new Float32Array(frames)): Float32Array {
  const n = channelData.length;
  if (n === 0) return out.fill(0);
  out.set(channelData[0].subarray(0, frames));
  for (let c = 1; c < n; c++) {
    const ch = channelData[c];
    for (let i = 0; i < frames; i++) out[i] += ch[i];
  }
  if (n > 1) {
    const g = 1 / n;
    for (let i = 0; i < frames; i++) out[i] *= g;
  }
  return out;
}

/** Encode mono or multi-channel float samples as a WAV file (tests, benchmarks, clips). */
export function encodeWav(
  channelData: readonly Float32Array[],
  sampleRate: number,
  format: { encoding: 'pcm' | 'float'; bits: 8 | 16 | 24 | 32 | 64 } = { encoding: 'pcm', bits: 16 },
): Uint8Array {
  const channels = channelData.length;
  const frames = channels > 0 ? channelData[0].length : 0;
  const bytesPer = format.bits / 8;
  const blockAlign = bytesPer * channels;
  const dataBytes = frames * blockAlign;
  const out = new Uint8Array(44 + dataBytes + (dataBytes & 1));
  const v = new DataView(out.buffer);
  writeWavHeader(out, { formatTag: format.encoding === 'float' ? 3 : 1, channels, sampleRate, bits: format.bits, dataBytes });
  let p = 44;
  for (let i = 0; i < frames; i++) {
    for (let c = 0; c < channels; c++, p += bytesPer) {
      const x = channelData[c][i];
      if (format.encoding === 'float') {
        if (format.bits === 64) v.setFloat64(p, x, true);
        else v.setFloat32(p, x, true);
        continue;
      }
      const full = 2 ** (format.bits - 1);
      const q = Math.max(-full, Math.min(full - 1, Math.round(x * full)));
      if (format.bits === 8) v.setUint8(p, q + 128);
      else if (format.bits === 16) v.setInt16(p, q, true);
      else if (format.bits === 24) {
        v.setUint8(p, q & 0xff);
        v.setUint8(p + 1, (q >> 8) & 0xff);
        v.setInt8(p + 2, q >> 16);
      } else v.setInt32(p, q, true);
    }
  }
  return out;
}
