import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataError } from '../../agent/errors.js';
import { decodeWav, encodeWav, readWavInfo } from '../../dsp/wav.js';
import { frontendFixturesDir } from '../helpers/paths.js';
import { thrownBy } from '../helpers/errors.js';

/** A RIFF file from chunks; sizes are written as given (lies included). */
function riff(chunks: { id: string; body: Uint8Array; size?: number }[], form = 'RIFF'): Uint8Array {
  const parts: number[] = [];
  const ascii = (s: string): void => {
    for (const c of s) parts.push(c.charCodeAt(0));
  };
  const u32 = (v: number): void => {
    parts.push(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
  };
  ascii(form);
  u32(0); // patched below
  ascii('WAVE');
  for (const c of chunks) {
    ascii(c.id);
    u32(c.size ?? c.body.length);
    parts.push(...c.body);
    if (c.body.length & 1) parts.push(0); // pad byte
  }
  const out = Uint8Array.from(parts);
  new DataView(out.buffer).setUint32(4, out.length - 8, true);
  return out;
}

function fmt(o: { tag?: number; channels?: number; rate?: number; bits?: number; blockAlign?: number; extensible?: { validBits: number; subTag: number } }): Uint8Array {
  const channels = o.channels ?? 1;
  const bits = o.bits ?? 16;
  const blockAlign = o.blockAlign ?? channels * Math.ceil(bits / 8);
  const b = new Uint8Array(o.extensible ? 40 : 16);
  const v = new DataView(b.buffer);
  v.setUint16(0, o.extensible ? 0xfffe : (o.tag ?? 1), true);
  v.setUint16(2, channels, true);
  v.setUint32(4, o.rate ?? 16000, true);
  v.setUint32(8, (o.rate ?? 16000) * blockAlign, true);
  v.setUint16(12, blockAlign, true);
  v.setUint16(14, bits, true);
  if (o.extensible) {
    v.setUint16(16, 22, true);
    v.setUint16(18, o.extensible.validBits, true);
    v.setUint32(20, 0, true);
    v.setUint16(24, o.extensible.subTag, true);
    b.set([0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71], 26);
  }
  return b;
}

function int16(values: number[]): Uint8Array {
  const b = new Uint8Array(values.length * 2);
  values.forEach((x, i) => new DataView(b.buffer).setInt16(i * 2, x, true));
  return b;
}

function expectDataError(fn: () => unknown, code: string, pattern: RegExp): void {
  const caught = thrownBy(fn);
  expect(caught).toBeInstanceOf(DataError);
  const e = caught as DataError;
  expect(e.code).toBe(code);
  expect(e.component).toBe('dsp.wav');
  expect(e.message).toMatch(pattern);
  expect(e.message).toContain('rec.wav');
}

const name = 'rec.wav';

describe('WAV decoding', () => {
  it('decodes a real 16-bit fixture as int16/32768', () => {
    const bytes = readFileSync(path.join(frontendFixturesDir, 'silence_2s_32k.wav'));
    const wav = decodeWav(bytes);
    expect(wav.sampleRate).toBe(32000);
    expect(wav.channels).toBe(1);
    expect(wav.frames).toBe((bytes.length - 44) / 2);
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    for (const i of [0, 1, 1000, wav.frames - 1]) expect(wav.mono[i]).toBe(view.getInt16(44 + 2 * i, true) / 32768);
  });

  it('round-trips PCM 8/16/24/32 and float 32/64 through encodeWav', () => {
    const x = Float32Array.from([0, 0.5, -0.5, 0.999, -1, 0.123456, -0.0001]);
    const cases = [
      { encoding: 'pcm', bits: 8, tol: 1 / 128 },
      { encoding: 'pcm', bits: 16, tol: 1 / 32768 },
      { encoding: 'pcm', bits: 24, tol: 1 / 8388608 },
      { encoding: 'pcm', bits: 32, tol: 1e-7 },
      { encoding: 'float', bits: 32, tol: 0 },
      { encoding: 'float', bits: 64, tol: 0 },
    ] as const;
    for (const c of cases) {
      const wav = decodeWav(encodeWav([x], 22050, c));
      expect(wav.sampleRate).toBe(22050);
      expect(wav.encoding).toBe(c.encoding);
      expect(wav.containerBits).toBe(c.bits);
      for (let i = 0; i < x.length; i++) expect(Math.abs(wav.mono[i] - x[i]), `${c.encoding}${c.bits} #${i}`).toBeLessThanOrEqual(c.tol);
    }
  });

  it('decodes exact integer scales: 8-bit unsigned, 24-bit sign extension', () => {
    const eight = decodeWav(riff([{ id: 'fmt ', body: fmt({ bits: 8 }) }, { id: 'data', body: Uint8Array.from([0, 128, 255]) }]));
    expect([...eight.mono]).toEqual([-1, 0, 127 / 128]);
    const d24 = Uint8Array.from([0xff, 0xff, 0xff, 0x00, 0x00, 0x80, 0xff, 0xff, 0x7f]);
    const w24 = decodeWav(riff([{ id: 'fmt ', body: fmt({ bits: 24 }) }, { id: 'data', body: d24 }]));
    expect([...w24.mono]).toEqual([-1 / 8388608, -1, 8388607 / 8388608]);
  });

  it('keeps every channel and mixes them to mono', () => {
    const l = Float32Array.from([0.5, 0.25, -1]);
    const r = Float32Array.from([-0.5, 0.25, 0]);
    const c = Float32Array.from([0.25, 0.25, 0.25]);
    const wav = decodeWav(encodeWav([l, r, c], 48000, { encoding: 'float', bits: 32 }));
    expect(wav.channels).toBe(3);
    expect([...wav.channelData[0]]).toEqual([...l]);
    expect([...wav.channelData[2]]).toEqual([...c]);
    for (let i = 0; i < 3; i++) expect(wav.mono[i]).toBeCloseTo((l[i] + r[i] + c[i]) / 3, 7);
  });

  it('reads WAVE_FORMAT_EXTENSIBLE (24 valid bits in 32-bit containers, and float)', () => {
    const data = new Uint8Array(8);
    const v = new DataView(data.buffer);
    v.setInt32(0, 0x40000000, true); // 0.5 left-justified
    v.setInt32(4, -0x80000000, true);
    const wav = decodeWav(riff([{ id: 'fmt ', body: fmt({ bits: 32, extensible: { validBits: 24, subTag: 1 } }) }, { id: 'data', body: data }]));
    expect(wav.extensible).toBe(true);
    expect(wav.validBits).toBe(24);
    expect([...wav.mono]).toEqual([0.5, -1]);
    const f = new Uint8Array(4);
    new DataView(f.buffer).setFloat32(0, 0.75, true);
    const fl = decodeWav(riff([{ id: 'fmt ', body: fmt({ bits: 32, extensible: { validBits: 32, subTag: 3 } }) }, { id: 'data', body: f }]));
    expect(fl.encoding).toBe('float');
    expect(fl.mono[0]).toBe(0.75);
  });

  it('skips LIST/fact/odd-sized chunks with their pad byte, before and after fmt', () => {
    const odd = Uint8Array.from([1, 2, 3]); // odd size: a pad byte follows
    const bytes = riff([
      { id: 'LIST', body: odd },
      { id: 'fmt ', body: fmt({ rate: 8000 }) },
      { id: 'fact', body: Uint8Array.from([3, 0, 0, 0]) },
      { id: 'junk', body: Uint8Array.from([9]) },
      { id: 'data', body: int16([16384, -16384, 1]) },
      { id: 'LIST', body: Uint8Array.from([7, 7, 7, 7, 7]) },
    ]);
    const wav = decodeWav(bytes);
    expect(wav.sampleRate).toBe(8000);
    expect([...wav.mono]).toEqual([0.5, -0.5, 1 / 32768]);
    expect(wav.truncated).toBe(false);
  });

  it('accepts a data chunk before the fmt chunk', () => {
    const wav = decodeWav(riff([{ id: 'data', body: int16([8192]) }, { id: 'fmt ', body: fmt({}) }]));
    expect([...wav.mono]).toEqual([0.25]);
  });

  it('ignores a partial trailing sample frame, with a warning', () => {
    const wav = decodeWav(riff([{ id: 'fmt ', body: fmt({ channels: 2 }) }, { id: 'data', body: Uint8Array.from([0, 64, 0, 64, 0, 32, 1]) }]));
    expect(wav.frames).toBe(1);
    expect(wav.warnings.join()).toMatch(/partial/);
  });
});

describe('WAV errors and lying headers', () => {
  const good = riff([{ id: 'fmt ', body: fmt({}) }, { id: 'data', body: int16([1, 2, 3, 4]) }]);

  it('0-byte file', () => {
    expectDataError(() => decodeWav(new Uint8Array(0), { name }), 'wav.empty', /empty file/);
  });

  it('truncated header (cut inside the RIFF header and inside fmt)', () => {
    expectDataError(() => decodeWav(good.subarray(0, 10), { name }), 'wav.truncated', /truncated header/);
    expectDataError(() => decodeWav(good.subarray(0, 30), { name }), 'wav.truncated', /truncated header/);
    expectDataError(() => decodeWav(good.subarray(0, 16), { name }), 'wav.truncated', /truncated header/);
  });

  it('not a WAV at all', () => {
    expectDataError(() => decodeWav(new TextEncoder().encode('fLaC and more bytes here'), { name }), 'wav.not-wav', /not a WAV file.*fLaC/);
  });

  it('zero channels', () => {
    expectDataError(() => decodeWav(riff([{ id: 'fmt ', body: fmt({ channels: 0, blockAlign: 2 }) }, { id: 'data', body: int16([1]) }]), { name }), 'wav.channels', /0 channels/);
  });

  it('unsupported format code names the codec and what is supported', () => {
    expectDataError(
      () => decodeWav(riff([{ id: 'fmt ', body: fmt({ tag: 2, bits: 4 }) }, { id: 'data', body: int16([1]) }]), { name }),
      'wav.format',
      /0x0002 \(MS ADPCM\).*supported: PCM/,
    );
    expectDataError(() => decodeWav(riff([{ id: 'fmt ', body: fmt({ tag: 3, bits: 16 }) }, { id: 'data', body: int16([1]) }]), { name }), 'wav.format', /float/);
  });

  it('zero sample rate, missing data chunk', () => {
    expectDataError(() => decodeWav(riff([{ id: 'fmt ', body: fmt({ rate: 0 }) }, { id: 'data', body: int16([1]) }]), { name }), 'wav.rate', /sample rate 0/);
    expectDataError(() => decodeWav(riff([{ id: 'fmt ', body: fmt({}) }, { id: 'LIST', body: int16([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]) }]), { name }), 'wav.no-data', /no data chunk/);
  });

  it('data chunk longer than the file: the samples present, flagged (strict: an error)', () => {
    const bytes = riff([{ id: 'fmt ', body: fmt({}) }, { id: 'data', body: int16([100, 200, 300]), size: 6000 }]);
    const wav = decodeWav(bytes, { name });
    expect(wav.truncated).toBe(true);
    expect(wav.frames).toBe(3);
    expect(wav.mono[2]).toBe(300 / 32768);
    expect(wav.warnings.join()).toMatch(/claims 6000 bytes but only 6/);
    expectDataError(() => decodeWav(bytes, { name, strict: true }), 'wav.truncated', /claims 6000 bytes/);
  });

  it('a header claiming 4 GB allocates only what is present', () => {
    const bytes = riff([{ id: 'fmt ', body: fmt({ channels: 2 }) }, { id: 'data', body: int16([1, 2, 3, 4]), size: 0xffffffff }]);
    new DataView(bytes.buffer).setUint32(4, 0xffffffff, true); // RIFF size lies too
    const info = readWavInfo(bytes);
    expect(info.dataBytes).toBe(8);
    const wav = decodeWav(bytes, { name });
    expect(wav.frames).toBe(2);
    expect(wav.channelData.every((c) => c.length === 2)).toBe(true);
    expect(wav.truncated).toBe(true);
    expectDataError(() => decodeWav(bytes, { name, strict: true }), 'wav.truncated', /4294967295/);
  });

  it('a chunk size of 4 GB in the middle ends the walk without hanging', () => {
    const bytes = riff([{ id: 'fmt ', body: fmt({}) }, { id: 'LIST', body: Uint8Array.from([1, 2]), size: 0xfffffff0 }, { id: 'data', body: int16([1]) }]);
    expectDataError(() => decodeWav(bytes, { name }), 'wav.no-data', /no data chunk/);
  });

  it('a never-finalised header (data size 0) is read to the end of the file, flagged', () => {
    const wav = decodeWav(riff([{ id: 'fmt ', body: fmt({}) }, { id: 'data', body: int16([5, 6]), size: 0 }]), { name });
    expect(wav.frames).toBe(2);
    expect(wav.truncated).toBe(true);
  });

  it('streamed WAV (size unknown) reads to the end', () => {
    const wav = decodeWav(riff([{ id: 'fmt ', body: fmt({}) }, { id: 'data', body: int16([5, 6, 7]), size: 2 }]), { dataSizeUnknown: true });
    expect(wav.frames).toBe(3);
    expect(wav.truncated).toBe(false);
  });

  it('random corruption never crashes with anything but a DataError', () => {
    let s = 7;
    const rand = (): number => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
    for (let trial = 0; trial < 2000; trial++) {
      const b = good.slice(0, Math.floor(rand() * (good.length + 1)));
      for (let k = 0; k < 3; k++) if (b.length) b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
      try {
        const wav = decodeWav(b, { name });
        expect(wav.frames).toBeLessThanOrEqual(b.length);
      } catch (err) {
        expect(err).toBeInstanceOf(DataError);
      }
    }
  });
});
