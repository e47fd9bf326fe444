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
  const ascii = (at: number, s: string): void => {
    for (let i = 0; i < 4; i++) bytes[at + i] = s.charCodeAt(i);
  };
  ascii(0, 'RIFF');
  view.setUint32(4, total - 8, true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  view.setUint32(16, 16, true); // fmt chunk size for plain PCM
  view.setUint16(20, 1, true); // WAVE_FORMAT_PCM
  view.setUint16(22, 1, true); // channels
  view.setUint32(24, sampleRateHz, true);
  view.setUint32(28, sampleRateHz * 2, true); // byte rate
  view.setUint16(32, 2, true); // block align
  view.setUint16(34, 16, true); // bits per sample
  ascii(36, 'data');
  view.setUint32(40, dataBytes, true);
  // Samples are little-endian on disk; copy bytewise so the host's endianness does not matter.
  let p = WAV_HEADER_BYTES;
  for (let i = 0; i < samples.length; i++, p += 2) view.setInt16(p, samples[i], true);
  return bytes;
}

/** Size in bytes of the WAV file `encodeWavInt16Mono` makes for `sampleCount` samples. */
export function wavInt16MonoBytes(sampleCount: number): number {
  return WAV_HEADER_BYTES + sampleCount * 2;
}
