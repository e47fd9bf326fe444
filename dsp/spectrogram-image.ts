/**
 * Spectrogram pictures, the pure part (issue 14 item 4): log-mel frames in, RGBA pixels out. The
 * colour map, the scaling of frames and mel bands onto a plot rectangle, where a frequency sits
 * on the mel axis, and the overlay that marks an event's span. Drawing text and axes and encoding
 * the PNG live in agent/render/.
 *
 * Levels: the front end's output is (ln(power + logOffset) + add) / divide, so one unit is
 * divide·10/ln 10 dB and digital silence is exactly (ln(logOffset) + add) / divide. The colours
 * span a fixed range in dB below the loudest value of the picture (a quiet clip still shows its
 * structure), but never reach below silence: the range's bottom is at least the silence value, so
 * a silent clip is the darkest colour everywhere instead of a stretched-out noise floor.
 */
import type { FrontendParams } from './frontend-params.js';
import { kaldiMel } from './mel.js';
import type { MelSpectrogram } from './melspec.js';

/**
 * matplotlib's "magma" colour map by Nathaniel J. Smith and Stéfan van der Walt (2015, released
 * under CC0; matplotlib lib/matplotlib/_cm_listed.py, `_magma_data`, https://bids.github.io/colormap/),
 * 256 entries as RRGGBB: the string d3-scale-chromatic 3.1 publishes for `interpolateMagma`
 * (npm d3-scale-chromatic, dist/d3-scale-chromatic.mjs). Perceptually uniform and readable in
 * grey scale; near-black for silence, pale yellow for the loudest.
 */
const MAGMA_HEX =
  '00000401000501010601010802010902020b02020d03030f03031204041405041606051806051a07061c08071e090720' +
  '0a08220b09240c09260d0a290e0b2b100b2d110c2f120d31130d34140e36150e38160f3b180f3d19103f1a10421c1044' +
  '1d11471e114920114b21114e22115024125325125527125829115a2a115c2c115f2d11612f1163311165331067341069' +
  '36106b38106c390f6e3b0f703d0f713f0f72400f74420f75440f764510774710784910784a10794c117a4e117b4f127b' +
  '51127c52137c54137d56147d57157e59157e5a167e5c167f5d177f5f187f601880621980641a80651a80671b80681c81' +
  '6a1c816b1d816d1d816e1e81701f81721f817320817521817621817822817922827b23827c23827e2482802582812581' +
  '8326818426818627818827818928818b29818c29818e2a81902a81912b81932b80942c80962c80982d80992d809b2e7f' +
  '9c2e7f9e2f7fa02f7fa1307ea3307ea5317ea6317da8327daa337dab337cad347cae347bb0357bb2357bb3367ab5367a' +
  'b73779b83779ba3878bc3978bd3977bf3a77c03a76c23b75c43c75c53c74c73d73c83e73ca3e72cc3f71cd4071cf4070' +
  'd0416fd2426fd3436ed5446dd6456cd8456cd9466bdb476adc4869de4968df4a68e04c67e24d66e34e65e44f64e55064' +
  'e75263e85362e95462ea5661eb5760ec5860ed5a5fee5b5eef5d5ef05f5ef1605df2625df2645cf3655cf4675cf4695c' +
  'f56b5cf66c5cf66e5cf7705cf7725cf8745cf8765cf9785df9795df97b5dfa7d5efa7f5efa815ffb835ffb8560fb8761' +
  'fc8961fc8a62fc8c63fc8e64fc9065fd9266fd9467fd9668fd9869fd9a6afd9b6bfe9d6cfe9f6dfea16efea36ffea571' +
  'fea772fea973feaa74feac76feae77feb078feb27afeb47bfeb67cfeb77efeb97ffebb81febd82febf84fec185fec287' +
  'fec488fec68afec88cfeca8dfecc8ffecd90fecf92fed194fed395fed597fed799fed89afdda9cfddc9efddea0fde0a1' +
  'fde2a3fde3a5fde5a7fde7a9fde9aafdebacfcecaefceeb0fcf0b2fcf2b4fcf4b6fcf6b8fcf7b9fcf9bbfcfbbdfcfdbf';

/** The colour map as 256 RGB triples (index 0 darkest). */
export const MAGMA: Uint8Array = Uint8Array.from({ length: 256 * 3 }, (_, i) => parseInt(MAGMA_HEX.slice(2 * i, 2 * i + 2), 16));

export type Rgb = readonly [number, number, number];

export interface RgbaImage {
  readonly width: number;
  readonly height: number;
  /** width·height·4 bytes, row-major from the top left, opaque. */
  readonly data: Uint8Array;
}

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

export function createImage(width: number, height: number, fill: Rgb): RgbaImage {
  const data = new Uint8Array(width * height * 4);
  const img = { width, height, data };
  fillRect(img, { x: 0, y: 0, w: width, h: height }, fill);
  return img;
}

/** Fills the part of `r` inside the image. */
export function fillRect(img: RgbaImage, r: Rect, c: Rgb): void {
  const x0 = Math.max(0, Math.floor(r.x)), x1 = Math.min(img.width, Math.floor(r.x + r.w));
  const y0 = Math.max(0, Math.floor(r.y)), y1 = Math.min(img.height, Math.floor(r.y + r.h));
  const d = img.data;
  for (let y = y0; y < y1; y++) {
    for (let x = x0, i = (y * img.width + x0) * 4; x < x1; x++, i += 4) {
      d[i] = c[0];
      d[i + 1] = c[1];
      d[i + 2] = c[2];
      d[i + 3] = 255;
    }
  }
}

export function setPixel(img: RgbaImage, x: number, y: number, c: Rgb): void {
  if (x < 0 || y < 0 || x >= img.width || y >= img.height) return;
  const i = (y * img.width + x) * 4;
  img.data[i] = c[0];
  img.data[i + 1] = c[1];
  img.data[i + 2] = c[2];
  img.data[i + 3] = 255;
}

/** What the numbers of a front end mean in sound level. */
export interface LevelScale {
  /** The value of digital silence (every band at ln(logOffset)). */
  silence: number;
  /** dB of power per unit of the front end's output. */
  dbPerUnit: number;
}

export function levelScale(params: Readonly<FrontendParams>): LevelScale {
  const { add, divide } = params.normalize;
  return { silence: (Math.log(params.logOffset) + add) / divide, dbPerUnit: (Math.abs(divide) * 10) / Math.LN10 };
}

/** Values mapped to the first and the last colour. */
export interface ColourRange {
  lo: number;
  hi: number;
}

/** `rangeDb` below the loudest value, the bottom never below silence (see the file comment). */
export function colourRange(spec: MelSpectrogram, levels: LevelScale, rangeDb: number): ColourRange {
  const n = spec.nMels * spec.nFrames;
  let max = -Infinity;
  for (let i = 0; i < n; i++) if (spec.data[i]! > max) max = spec.data[i]!;
  const span = rangeDb / levels.dbPerUnit;
  const hi = Math.max(max, levels.silence + span);
  return { lo: hi - span, hi };
}

/**
 * Paints the spectrogram into `plot`: time left to right, the lowest mel band at the bottom. When
 * there are more frames (or bands) than pixels, a pixel shows the loudest of those it covers, so a
 * gunshot of two frames survives a 30 s clip squeezed into 800 columns; when fewer, the nearest.
 */
export function paintSpectrogram(img: RgbaImage, plot: Rect, spec: MelSpectrogram, range: ColourRange): void {
  const { nMels, nFrames, data } = spec;
  const { w, h } = plot;
  if (w <= 0 || h <= 0) return;
  const scale = range.hi > range.lo ? 256 / (range.hi - range.lo) : 0;
  // Band range of each row, from the top: row r shows the bands whose centres fall in it.
  const rowFirst = new Int32Array(h), rowEnd = new Int32Array(h);
  for (let r = 0; r < h; r++) {
    const fromBottom = h - 1 - r;
    const b0 = Math.min(nMels - 1, Math.floor((fromBottom * nMels) / h));
    rowFirst[r] = b0;
    rowEnd[r] = Math.max(b0 + 1, Math.min(nMels, Math.floor(((fromBottom + 1) * nMels) / h)));
  }
  const column = new Float32Array(nMels);
  const d = img.data;
  for (let c = 0; c < w; c++) {
    if (nFrames === 0) column.fill(-Infinity);
    else {
      const t0 = Math.min(nFrames - 1, Math.floor((c * nFrames) / w));
      const t1 = Math.max(t0 + 1, Math.min(nFrames, Math.floor(((c + 1) * nFrames) / w)));
      for (let m = 0; m < nMels; m++) {
        const row = m * nFrames;
        let v = data[row + t0]!;
        for (let t = t0 + 1; t < t1; t++) if (data[row + t]! > v) v = data[row + t]!;
        column[m] = v;
      }
    }
    for (let r = 0; r < h; r++) {
      let v = column[rowFirst[r]!]!;
      for (let m = rowFirst[r]! + 1; m < rowEnd[r]!; m++) if (column[m]! > v) v = column[m]!;
      let k = Math.floor((v - range.lo) * scale);
      k = k < 0 || k !== k ? 0 : k > 255 ? 255 : k; // NaN (no frames) → darkest
      const i = ((plot.y + r) * img.width + plot.x + c) * 4;
      d[i] = MAGMA[3 * k]!;
      d[i + 1] = MAGMA[3 * k + 1]!;
      d[i + 2] = MAGMA[3 * k + 2]!;
      d[i + 3] = 255;
    }
  }
}

/**
 * Where frequency `hz` sits in a plot of height `h` (pixels from its top, fractional): the row
 * whose bands have their centre there, on the front end's Kaldi mel scale.
 */
export function melRowOf(hz: number, params: Readonly<FrontendParams>, h: number): number {
  const melLow = kaldiMel(params.fMin);
  const delta = (kaldiMel(params.fMax) - melLow) / (params.nMels + 1);
  const band = (kaldiMel(hz) - melLow) / delta - 1; // band index whose centre is hz
  return h - ((band + 0.5) * h) / params.nMels;
}

/** The centre frequency of the band(s) shown in row `r` of a plot of height `h` (inverse of melRowOf). */
export function frequencyOfRow(r: number, params: Readonly<FrontendParams>, h: number): number {
  const melLow = kaldiMel(params.fMin);
  const delta = (kaldiMel(params.fMax) - melLow) / (params.nMels + 1);
  const band = ((h - (r + 0.5)) * params.nMels) / h - 0.5;
  return 700 * (Math.exp((melLow + (band + 1) * delta) / 1127) - 1);
}

export interface Span {
  startSec: number;
  endSec: number;
}

/**
 * Plot columns [x0, x1) showing [startSec, endSec) of a picture `durationSec` long, clamped to the
 * plot; at least one column when the span overlaps the picture at all, empty (x0 = x1) otherwise.
 */
export function spanColumns(span: Span, durationSec: number, w: number): { x0: number; x1: number } {
  if (!(durationSec > 0) || !(span.endSec >= span.startSec) || span.endSec < 0 || span.startSec > durationSec) return { x0: 0, x1: 0 };
  const at = (sec: number) => Math.min(w, Math.max(0, Math.round((sec / durationSec) * w)));
  const x0 = Math.min(at(span.startSec), w - 1);
  return { x0, x1: Math.max(x0 + 1, at(span.endSec)) };
}

/**
 * Marks plot columns [x0, x1): a solid bar in the `bar` rectangle's rows above the plot over
 * exactly those columns, and its two edges as dashed lines down the plot (dashed, so the sound
 * under them stays readable; the span's inside is not tinted, so its colours stay true).
 */
export function drawSpan(img: RgbaImage, plot: Rect, cols: { x0: number; x1: number }, bar: { y: number; h: number }, colour: Rgb): void {
  if (cols.x1 <= cols.x0) return;
  fillRect(img, { x: plot.x + cols.x0, y: bar.y, w: cols.x1 - cols.x0, h: bar.h }, colour);
  for (const x of new Set([plot.x + cols.x0, plot.x + cols.x1 - 1])) {
    for (let y = 0; y < plot.h; y++) if (y % 6 < 4) setPixel(img, x, plot.y + y, colour);
  }
}
