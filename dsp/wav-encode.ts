/**
 * Minimal WAV writer for event clips: 16-bit signed PCM, one channel, in-memory bytes out.
 * Pure (no I/O). Clips are short (seconds), so a plain RIFF header suffices (no RF64).
 */

/** Bytes of the canonical RIFF/WAVE header written here (RIFF + fmt  + data chunk headers). */
export const WAV_HEADER_BYTES = 44;

/**
 * Encodes Int16 mono PCM as a WAV file. `out`, when given, must hold at least
 * `wavInt16MonoBytes(samples.length)` bytes; the returned array views exactly the file.
 */
export function encodeWavInt16Mono(samples: Int16Array, sampleRateHz: number, out?: Uint8Array): Uint8Array {
  if (!Number.isInteger(sampleRateHz) || sampleRateHz <= 0 || sampleRateHz > 0xffffffff / 2) {
    throw new RangeError(`sample rate must be a positive integer in Hz, got ${sampleRateHz}`);
  }
  const dataBytes = samples.length * 2;
  const total = wavInt16MonoBytes(samples.length);
  if (total - 8 > 0xffffffff) throw new RangeError(`clip too long for a WAV file: ${samples.length} samples`);
  if (out && out.length < total) throw new RangeError(`output buffer holds ${out.length} bytes, need ${total}`);
  const bytes = out ? out.subarray(0, total) : new Uint8Array(total);
  const view = new DataView(bytes.buffer, bytes.byteOffset, total);
  writeWavHeader(bytes, { formatTag: 1, channels: 1, sampleRate: sampleRateHz, bits: 16, dataBytes });
  // Samples are little-endian on disk; copy bytewise so the host's endianness does not matter.
  let p = WAV_HEADER_BYTES;
  for (let i = 0; i < samples.length; i++, p += 2) view.setInt16(p, samples[i], true);
  return bytes;
}

export interface WavHeaderFields {
  /** 1 = integer PCM, 3 = IEEE float. */
  formatTag: 1 | 3;
  channels: number;
  sampleRate: number;
  bits: number;
  dataBytes: number;
}

/**
 * Writes the canonical 44-byte RIFF/WAVE header (RIFF, fmt  and data chunk headers) at the
 * start of `bytes`; the RIFF size covers the whole array (including a pad byte, if any).
 */
export function writeWavHeader(bytes: Uint8Array, h: WavHeaderFields): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, WAV_HEADER_BYTES);
  const blockAlign = (h.bits / 8) * h.channels;
  const ascii = (at: number, s: string): void => {
    for (let i = 0; i < 4; i++) bytes[at + i] = s.charCodeAt(i);
  };
  ascii(0, 'RIFF');
  view.setUint32(4, bytes.length - 8, true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  view.setUint32(16, 16, true); // fmt chunk size for plain PCM/float
  view.setUint16(20, h.formatTag, true);
  view.setUint16(22, h.channels, true);
  view.setUint32(24, h.sampleRate, true);
  view.setUint32(28, h.sampleRate * blockAlign, true); // byte rate
  view.setUint16(32, blockAlign, true);
  view.setUint16(34, h.bits, true);
  ascii(36, 'data');
  view.setUint32(40, h.dataBytes, true);
}

/** Size in bytes of the WAV file `encodeWavInt16Mono` makes for `sampleCount` samples. */
export function wavInt16MonoBytes(sampleCount: number): number {
  return WAV_HEADER_BYTES + sampleCount * 2;
}
