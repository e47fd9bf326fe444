import { describe, expect, it } from 'vitest';
import { createLevelMeter, SILENCE_DBFS } from '../../dsp/level.js';
import { advice, meterLine } from '../../agent/mic/report.js';

const RATE = 16000;

/** A 1 kHz sine whose peak is `peakDbfs`, plus `dc` (share of full scale), clamped to int16 as a converter would. */
function sine(peakDbfs: number, seconds = 1, dc = 0): Int16Array {
  const amp = 10 ** (peakDbfs / 20) * 32768;
  const out = new Int16Array(RATE * seconds);
  for (let i = 0; i < out.length; i++) out[i] = Math.max(-32768, Math.min(32767, Math.round(amp * Math.sin((2 * Math.PI * 1000 * i) / RATE) + dc * 32768)));
  return out;
}

describe('level meter (dsp/level.ts)', () => {
  it('a sine at -6 dBFS peak reads -6 dBFS peak and -9.03 dBFS RMS, no clipping, no DC', () => {
    const m = createLevelMeter({ sampleRate: RATE });
    m.push(sine(-6));
    const s = m.summary();
    expect(s.peakDbfs).toBeCloseTo(-6, 1);
    expect(s.rmsDbfs).toBeCloseTo(-6 - 3.01, 1);
    expect(s.clipped).toBe(0);
    expect(Math.abs(s.dcOffset)).toBeLessThan(1e-4);
    expect(s.samples).toBe(RATE);
    expect(advice(s).some((a) => a.startsWith('clipping'))).toBe(false);
  });
  it('a sine driven 6 dB past full scale is clipped: the flattened samples are counted', () => {
    const x = sine(6);
    const expected = x.filter((v) => v === 32767 || v === -32768).length;
    const m = createLevelMeter({ sampleRate: RATE });
    m.push(x);
    const s = m.summary();
    expect(expected).toBeGreaterThan(RATE / 4);
    expect(s.clipped).toBe(expected);
    expect(s.peakDbfs).toBeCloseTo(0, 2);
    expect(advice(s).find((a) => a.startsWith('clipping'))).toContain(`${expected} samples`);
  });
  it('a DC offset of 10 % of full scale reads 0.1, and is flagged', () => {
    const m = createLevelMeter({ sampleRate: RATE });
    m.push(sine(-20, 1, 0.1));
    expect(m.summary().dcOffset).toBeCloseTo(0.1, 3);
    expect(advice(m.summary()).some((a) => a.startsWith('DC offset 10.0 %'))).toBe(true);
  });
  it('the noise floor is the quiet part, not moved by a loud burst; silence reads the floor of the scale', () => {
    const quiet = sine(-60, 2);
    const loud = sine(-3, 0.5 as number);
    const m = createLevelMeter({ sampleRate: RATE });
    m.push(quiet);
    m.push(loud.subarray(0, RATE / 2));
    const s = m.summary();
    expect(s.noiseFloorDbfs).toBeGreaterThanOrEqual(-63.5);
    expect(s.noiseFloorDbfs).toBeLessThanOrEqual(-62.5);
    expect(s.rmsDbfs).toBeGreaterThan(-20);
    const z = createLevelMeter({ sampleRate: RATE });
    z.push(new Int16Array(RATE));
    expect(z.summary()).toMatchObject({ rmsDbfs: SILENCE_DBFS, peakDbfs: SILENCE_DBFS, noiseFloorDbfs: SILENCE_DBFS });
    expect(advice(z.summary())[0]).toMatch(/^silent/);
  });
  it('the latest 100 ms block feeds the live meter line', () => {
    const m = createLevelMeter({ sampleRate: RATE });
    m.push(sine(-6, 1));
    expect(m.block!.peakDbfs).toBeCloseTo(-6, 1);
    const line = meterLine(m.block!, m.summary(), 1, 10);
    expect(line).toContain('-9.0 dBFS');
    expect(line).toMatch(/\[#+\.+\]/);
  });
});
