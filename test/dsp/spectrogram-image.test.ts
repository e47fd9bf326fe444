/** The pure part of spectrogram pictures: colour map, scaling frames and bands onto pixels, the mel axis, the span marker. */
import { describe, expect, it } from 'vitest';
import { MN04_FRONTEND } from '../../dsp/frontend-params.js';
import { kaldiMel } from '../../dsp/mel.js';
import type { MelSpectrogram } from '../../dsp/melspec.js';
import {
  MAGMA,
  colourRange,
  createImage,
  drawSpan,
  frequencyOfRow,
  levelScale,
  melRowOf,
  paintSpectrogram,
  spanColumns,
  type Rgb,
  type RgbaImage,
} from '../../dsp/spectrogram-image.js';

function pixel(img: RgbaImage, x: number, y: number): number[] {
  const i = (y * img.width + x) * 4;
  return [...img.data.subarray(i, i + 4)];
}

function magma(k: number): number[] {
  return [MAGMA[3 * k]!, MAGMA[3 * k + 1]!, MAGMA[3 * k + 2]!, 255];
}

/** A [mel][frame] spectrogram filled with `value`. */
function flat(nMels: number, nFrames: number, value: number): MelSpectrogram {
  return { data: new Float32Array(nMels * nFrames).fill(value), nMels, nFrames };
}

describe('colour map', () => {
  it("is matplotlib's magma: 256 entries from #000004 to #fcfdbf, getting lighter", () => {
    expect(MAGMA.length).toBe(256 * 3);
    expect(magma(0)).toEqual([0x00, 0x00, 0x04, 255]);
    expect(magma(255)).toEqual([0xfc, 0xfd, 0xbf, 255]);
    // Rec. 709 luma rises through the map (a perceptual map is monotonic in lightness).
    const luma = (k: number) => 0.2126 * MAGMA[3 * k]! + 0.7152 * MAGMA[3 * k + 1]! + 0.0722 * MAGMA[3 * k + 2]!;
    for (let k = 8; k < 256; k += 8) expect(luma(k)).toBeGreaterThan(luma(k - 8));
  });
});

describe('levels', () => {
  const levels = levelScale(MN04_FRONTEND);

  it('silence is the front end value of ln(logOffset); one unit is divide·10/ln 10 dB', () => {
    expect(levels.silence).toBeCloseTo((Math.log(1e-5) + 4.5) / 5, 6);
    expect(levels.dbPerUnit).toBeCloseTo(21.715, 3);
  });

  it('a silent spectrogram paints the darkest colour; a loud one spans the range below its peak', () => {
    const silent = flat(4, 10, levels.silence);
    expect(colourRange(silent, levels, 80).lo).toBeCloseTo(levels.silence, 6);
    const img = createImage(12, 6, [9, 9, 9]);
    paintSpectrogram(img, { x: 1, y: 1, w: 10, h: 4 }, silent, colourRange(silent, levels, 80));
    for (let y = 1; y < 5; y++) for (let x = 1; x < 11; x++) expect(pixel(img, x, y)).toEqual(magma(0));
    expect(pixel(img, 0, 0)).toEqual([9, 9, 9, 255]); // outside the plot: untouched

    const loud = flat(4, 10, 2);
    const r = colourRange(loud, levels, 60);
    expect(r.hi).toBe(2);
    expect((r.hi - r.lo) * levels.dbPerUnit).toBeCloseTo(60, 6);
  });
});

describe('paintSpectrogram', () => {
  const range = { lo: 0, hi: 1 };

  it('puts the lowest band at the bottom and time left to right', () => {
    const spec = flat(2, 2, 0);
    spec.data[0 * 2 + 1] = 1; // band 0 (low), frame 1 (late)
    const img = createImage(2, 2, [0, 0, 0]);
    paintSpectrogram(img, { x: 0, y: 0, w: 2, h: 2 }, spec, range);
    expect(pixel(img, 1, 1)).toEqual(magma(255)); // bottom right
    expect(pixel(img, 0, 1)).toEqual(magma(0));
    expect(pixel(img, 1, 0)).toEqual(magma(0));
  });

  it('squeezing many frames into few columns keeps a one-frame click (the loudest frame of a column wins)', () => {
    const spec = flat(8, 3000, 0);
    for (let m = 0; m < 8; m++) spec.data[m * 3000 + 1234] = 1;
    const img = createImage(100, 8, [0, 0, 0]);
    paintSpectrogram(img, { x: 0, y: 0, w: 100, h: 8 }, spec, range);
    const column = Math.floor((1234 * 100) / 3000);
    for (let x = 0; x < 100; x++) expect(pixel(img, x, 4)).toEqual(magma(x === column ? 255 : 0));
  });

  it('stretching few frames over many columns repeats the nearest frame', () => {
    const spec = flat(1, 4, 0);
    spec.data[2] = 1;
    const img = createImage(40, 1, [0, 0, 0]);
    paintSpectrogram(img, { x: 0, y: 0, w: 40, h: 1 }, spec, range);
    const lit = [...Array(40).keys()].filter((x) => pixel(img, x, 0)[0] === magma(255)[0]);
    expect(lit).toEqual([20, 21, 22, 23, 24, 25, 26, 27, 28, 29]);
  });
});

describe('mel axis', () => {
  it('a frequency sits on the row of the band whose centre it is; frequencyOfRow inverts melRowOf', () => {
    const h = 256; // two rows per band
    const melLow = kaldiMel(0);
    const delta = (kaldiMel(15000) - melLow) / 129;
    for (const band of [0, 10, 63, 127]) {
      const centre = 700 * (Math.exp((melLow + (band + 1) * delta) / 1127) - 1);
      const row = melRowOf(centre, MN04_FRONTEND, h);
      expect(row).toBeCloseTo(h - (band + 0.5) * 2, 6);
      expect(frequencyOfRow(row - 0.5, MN04_FRONTEND, h)).toBeCloseTo(centre, 3);
    }
    // Higher frequencies are higher up.
    expect(melRowOf(8000, MN04_FRONTEND, h)).toBeLessThan(melRowOf(1000, MN04_FRONTEND, h));
  });
});

describe('span marker', () => {
  it('maps seconds to columns, at least one column, none when outside the picture', () => {
    expect(spanColumns({ startSec: 2, endSec: 3.5 }, 10, 200)).toEqual({ x0: 40, x1: 70 });
    expect(spanColumns({ startSec: 5, endSec: 5 }, 10, 200)).toEqual({ x0: 100, x1: 101 });
    expect(spanColumns({ startSec: -1, endSec: 20 }, 10, 200)).toEqual({ x0: 0, x1: 200 });
    expect(spanColumns({ startSec: 11, endSec: 12 }, 10, 200)).toEqual({ x0: 0, x1: 0 });
    expect(spanColumns({ startSec: 10, endSec: 12 }, 10, 200)).toEqual({ x0: 199, x1: 200 });
  });

  it('the bar covers exactly the span columns; in the plot only the two edge columns change', () => {
    const bg: Rgb = [1, 2, 3];
    const marker: Rgb = [34, 211, 238];
    const plot = { x: 5, y: 6, w: 50, h: 20 };
    const img = createImage(60, 30, bg);
    const before = Uint8Array.from(img.data);
    drawSpan(img, plot, { x0: 10, x1: 20 }, { y: 2, h: 3 }, marker);
    for (let x = 0; x < 60; x++) {
      const inSpan = x >= plot.x + 10 && x < plot.x + 20;
      for (let y = 2; y < 5; y++) expect(pixel(img, x, y)).toEqual(inSpan ? [...marker, 255] : [...bg, 255]);
      for (let y = plot.y; y < plot.y + plot.h; y++) {
        const i = (y * 60 + x) * 4;
        if (x !== plot.x + 10 && x !== plot.x + 19) expect(img.data[i]).toBe(before[i]);
      }
    }
    // The edges are drawn down the plot (dashed).
    const edgeInk = (x: number) => [...Array(plot.h).keys()].filter((y) => pixel(img, x, plot.y + y)[1] === 211).length;
    expect(edgeInk(plot.x + 10)).toBeGreaterThan(plot.h / 2);
    expect(edgeInk(plot.x + 19)).toBeGreaterThan(plot.h / 2);
  });
});
