import { describe, expect, it } from 'vitest';
import { createLnBatch } from '../../dsp/fastlog.js';

describe('batched natural log', () => {
  it('is within 1e-14 of Math.log over 600 orders of magnitude', () => {
    const b = createLnBatch(4096);
    let s = 12345;
    const xs: number[] = [];
    for (let i = 0; i < 4096; i++) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      xs.push(Math.exp((s / 2 ** 32 - 0.5) * 1400) * (1 + i / 4096));
    }
    b.values.set(xs);
    b.ln(xs.length);
    for (let i = 0; i < xs.length; i++) expect(Math.abs(b.values[i] - Math.log(xs[i])), `x = ${xs[i]}`).toBeLessThan(1e-14 * Math.max(1, Math.abs(Math.log(xs[i]))));
  });

  it('matches Math.log exactly on the special cases', () => {
    const special = [0, -0, -1, Infinity, -Infinity, NaN, 5e-324, 2.2250738585072014e-308, 1, 2, 1e-5, Number.MAX_VALUE];
    const b = createLnBatch(special.length);
    b.values.set(special);
    b.ln(special.length);
    special.forEach((x, i) => {
      const want = Math.log(x);
      if (Number.isFinite(want)) expect(Math.abs(b.values[i] - want)).toBeLessThan(1e-13);
      else expect(Object.is(b.values[i], want)).toBe(true);
    });
  });
});
