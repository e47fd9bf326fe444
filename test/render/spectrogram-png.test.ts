/**
 * renderSpectrogramPng: a tone lands on its frequency, silence is the darkest colour, the span
 * marker covers the span's columns, the PNG decodes to the very pixels, bad input is refused.
 */
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { MN04_FRONTEND } from '../../dsp/frontend-params.js';
import { kaldiMel } from '../../dsp/mel.js';
import { MAGMA, spanColumns, type RgbaImage } from '../../dsp/spectrogram-image.js';
import { eventSpanInClip } from '../../agent/render/clip-span.js';
import { COLOURS, renderSpectrogramImage, renderSpectrogramPng } from '../../agent/render/spectrogram-png.js';
import { UsageError } from '../../agent/errors.js';

/** Colour map index of each RGB (magma's 256 colours are distinct). */
const INDEX = new Map<number, number>();
for (let k = 0; k < 256; k++) INDEX.set((MAGMA[3 * k]! << 16) | (MAGMA[3 * k + 1]! << 8) | MAGMA[3 * k + 2]!, k);

function rgbAt(img: RgbaImage, x: number, y: number): number {
  const i = (y * img.width + x) * 4;
  return (img.data[i]! << 16) | (img.data[i + 1]! << 8) | img.data[i + 2]!;
}

function tone(hz: number, rate: number, sec: number, amplitude = 0.5): Float32Array {
  return Float32Array.from({ length: Math.round(rate * sec) }, (_, i) => amplitude * Math.sin((2 * Math.PI * hz * i) / rate));
}

/** Kaldi mel band coordinate (band index whose centre it is) of a frequency. */
function bandOf(hz: number): number {
  const melLow = kaldiMel(MN04_FRONTEND.fMin);
  const delta = (kaldiMel(MN04_FRONTEND.fMax) - melLow) / (MN04_FRONTEND.nMels + 1);
  return (kaldiMel(hz) - melLow) / delta - 1;
}

describe('renderSpectrogramPng', () => {
  it.each([
    [1000, 32000],
    [3000, 32000],
    [6000, 32000],
    [2500, 16000], // the front end at the input's own rate
    [440, 8000],
    [5000, 44100], // resampled to 32 kHz
  ])('a %d Hz tone at %d Hz: the brightest row is that frequency (±1 mel band)', (hz, rate) => {
    const { image, layout } = renderSpectrogramImage(tone(hz, rate, 3), rate, { width: 400, height: 300 });
    const { plot } = layout;
    let best = -1;
    let bestRow = -1;
    let foreign = 0; // plot pixels that are not a colour of the map
    for (let r = 0; r < plot.h; r++) {
      let sum = 0;
      for (let c = 0; c < plot.w; c++) {
        const k = INDEX.get(rgbAt(image, plot.x + c, plot.y + r));
        if (k === undefined) foreign++;
        sum += k ?? 0;
      }
      if (sum > best) [best, bestRow] = [sum, r];
    }
    expect(foreign).toBe(0);
    // Row r shows the band coordinate (h - r - 0.5)·nMels/h - 0.5 at its centre.
    const rowBand = ((plot.h - bestRow - 0.5) * MN04_FRONTEND.nMels) / plot.h - 0.5;
    expect(Math.abs(rowBand - bandOf(hz))).toBeLessThanOrEqual(1);
  });

  it('has the requested size (default 800 × 300), and the PNG decodes with pngjs to the same pixels', () => {
    const samples = tone(1000, 32000, 2);
    const { image } = renderSpectrogramImage(samples, 32000, { width: 640, height: 240, span: { startSec: 0.5, endSec: 1 } });
    const png = renderSpectrogramPng(samples, 32000, { width: 640, height: 240, span: { startSec: 0.5, endSec: 1 } });
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const decoded = PNG.sync.read(png);
    expect([decoded.width, decoded.height]).toEqual([640, 240]);
    expect(Buffer.compare(decoded.data, Buffer.from(image.data))).toBe(0);
    const byDefault = PNG.sync.read(renderSpectrogramPng(samples, 32000));
    expect([byDefault.width, byDefault.height]).toEqual([800, 300]);
  });

  it('silence is the darkest colour of the map everywhere in the plot', () => {
    const { image, layout } = renderSpectrogramImage(new Float32Array(32000 * 2), 32000, { width: 300, height: 150 });
    const darkest = (MAGMA[0]! << 16) | (MAGMA[1]! << 8) | MAGMA[2]!;
    const { plot } = layout;
    let other = 0;
    for (let y = plot.y; y < plot.y + plot.h; y++) for (let x = plot.x; x < plot.x + plot.w; x++) if (rgbAt(image, x, y) !== darkest) other++;
    expect(plot.w * plot.h).toBeGreaterThan(20_000);
    expect(other).toBe(0);
  });

  it("the span marker covers exactly the span's columns; elsewhere the picture is the same as without it", () => {
    const samples = tone(2000, 32000, 6, 0.2);
    const span = { startSec: 2, endSec: 3.5 };
    const plain = renderSpectrogramImage(samples, 32000, { width: 500, height: 200 });
    const marked = renderSpectrogramImage(samples, 32000, { width: 500, height: 200, span });
    const { plot, bar } = marked.layout;
    const { x0, x1 } = spanColumns(span, 6, plot.w);
    expect([x0, x1]).toEqual([Math.round((2 / 6) * plot.w), Math.round((3.5 / 6) * plot.w)]);
    const span0 = plot.x + x0, span1 = plot.x + x1; // image columns [span0, span1)
    const marker = (COLOURS.span[0] << 16) | (COLOURS.span[1] << 8) | COLOURS.span[2];
    for (let x = 0; x < 500; x++) {
      for (let y = bar.y; y < bar.y + bar.h; y++) expect(rgbAt(marked.image, x, y) === marker, `bar at column ${x}`).toBe(x >= span0 && x < span1);
    }
    let changed = 0;
    for (let y = 0; y < 200; y++) {
      for (let x = 0; x < 500; x++) {
        if (rgbAt(plain.image, x, y) === rgbAt(marked.image, x, y)) continue;
        changed++;
        const inBar = y >= bar.y && y < bar.y + bar.h && x >= span0 && x < span1;
        const onEdge = (x === span0 || x === span1 - 1) && y >= plot.y && y < plot.y + plot.h;
        expect(inBar || onEdge, `pixel (${x}, ${y}) changed`).toBe(true);
      }
    }
    expect(changed).toBeGreaterThan(bar.h * (x1 - x0));
  });

  it('draws axes: ticks and labels left of and under the plot', () => {
    const { image, layout } = renderSpectrogramImage(tone(1000, 32000, 10), 32000);
    const { plot } = layout;
    const axis = (COLOURS.axis[0] << 16) | (COLOURS.axis[1] << 8) | COLOURS.axis[2];
    const inkLeft = [...Array(plot.h).keys()].filter((r) => [...Array(plot.x - 2).keys()].some((x) => rgbAt(image, x, plot.y + r) === axis)).length;
    const inkBelow = [...Array(plot.w).keys()].filter((c) => [...Array(image.height - plot.y - plot.h - 2).keys()].some((d) => rgbAt(image, plot.x + c, plot.y + plot.h + 2 + d) === axis)).length;
    expect(inkLeft).toBeGreaterThan(20); // several frequency labels
    expect(inkBelow).toBeGreaterThan(60); // "0s" ... "10s"
  });

  it('refuses bad sizes, rates and spans with a message naming what is accepted', () => {
    const s = tone(1000, 32000, 1);
    expect(() => renderSpectrogramPng(s, 32000, { width: 10 })).toThrow(UsageError);
    expect(() => renderSpectrogramPng(s, 32000, { width: 10 })).toThrow(/width 10: expected a whole number of pixels from 160 to 4096/);
    expect(() => renderSpectrogramPng(s, 32000, { height: 100.5 })).toThrow(/height 100.5/);
    expect(() => renderSpectrogramPng(s, 0)).toThrow(/sample rate 0: expected a whole number of Hz/);
    expect(() => renderSpectrogramPng(s, 32000, { span: { startSec: 2, endSec: 1 } })).toThrow(/startSec ≤ endSec/);
  });

  it('an empty clip is a dark plot, not a crash', () => {
    const png = PNG.sync.read(renderSpectrogramPng(new Float32Array(0), 32000, { width: 200, height: 120 }));
    expect([png.width, png.height]).toEqual([200, 120]);
  });
});

describe('eventSpanInClip', () => {
  const ev = { start: '2026-03-01T12:00:00.000Z', end: '2026-03-01T12:00:01.500Z' };
  it('takes the configured pre-roll, and puts the event as late as a short clip allows', () => {
    expect(eventSpanInClip(ev, 6.5, 2)).toEqual({ startSec: 2, endSec: 3.5 });
    expect(eventSpanInClip(ev, 2.5, 2)).toEqual({ startSec: 1, endSec: 2.5 });
    expect(eventSpanInClip(ev, 1, 2)).toEqual({ startSec: 0, endSec: 1 });
    expect(eventSpanInClip({ start: ev.start, end: 'garbage' }, 5, 2)).toEqual({ startSec: 2, endSec: 2 });
  });
});
