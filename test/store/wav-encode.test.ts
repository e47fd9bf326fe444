import { describe, expect, it } from 'vitest';
import { encodeWavInt16Mono, wavInt16MonoBytes } from '../../dsp/wav-encode.js';

/** Reads the fields of a canonical 44-byte header back, independently of the encoder. */
function parse(bytes: Uint8Array) {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (at: number) => String.fromCharCode(...bytes.subarray(at, at + 4));
  return {
    riff: tag(0),
    riffSize: v.getUint32(4, true),
    wave: tag(8),
    fmt: tag(12),
    fmtSize: v.getUint32(16, true),
    formatTag: v.getUint16(20, true),
    channels: v.getUint16(22, true),
    sampleRate: v.getUint32(24, true),
    byteRate: v.getUint32(28, true),
    blockAlign: v.getUint16(32, true),
    bits: v.getUint16(34, true),
    data: tag(36),
    dataSize: v.getUint32(40, true),
    samples: Array.from({ length: (bytes.length - 44) / 2 }, (_, i) => v.getInt16(44 + 2 * i, true)),
  };
}

describe('encodeWavInt16Mono', () => {
  it('writes a canonical 16-bit mono PCM header and little-endian samples', () => {
    const samples = Int16Array.from([0, 1, -1, 32767, -32768, 1234]);
    const bytes = encodeWavInt16Mono(samples, 32000);
    expect(bytes.length).toBe(wavInt16MonoBytes(6));
    expect(parse(bytes)).toEqual({
      riff: 'RIFF',
      riffSize: bytes.length - 8,
      wave: 'WAVE',
      fmt: 'fmt ',
      fmtSize: 16,
      formatTag: 1,
      channels: 1,
      sampleRate: 32000,
      byteRate: 64000,
      blockAlign: 2,
      bits: 16,
      data: 'data',
      dataSize: 12,
      samples: [0, 1, -1, 32767, -32768, 1234],
    });
    expect([...bytes.subarray(44, 48)]).toEqual([0, 0, 1, 0]);
  });

  it('handles an empty clip and writes into a caller buffer', () => {
    expect(parse(encodeWavInt16Mono(new Int16Array(0), 8000))).toMatchObject({ dataSize: 0, riffSize: 36, samples: [] });
    const out = new Uint8Array(100).fill(0xee);
    const view = encodeWavInt16Mono(Int16Array.from([5, -5]), 16000, out);
    expect(view.buffer).toBe(out.buffer);
    expect(view.length).toBe(48);
    expect(parse(view).samples).toEqual([5, -5]);
    expect(out[48]).toBe(0xee);
    expect(() => encodeWavInt16Mono(Int16Array.from([1, 2, 3]), 16000, new Uint8Array(10))).toThrow(RangeError);
  });

  it('refuses a sample rate that is not a positive integer', () => {
    for (const rate of [0, -8000, 44100.5, Number.NaN]) expect(() => encodeWavInt16Mono(new Int16Array(1), rate)).toThrow(/sample rate/);
  });
});
