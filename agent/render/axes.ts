/**
 * The axes of a spectrogram picture: time in seconds along the bottom, frequency in kHz up the
 * left at the positions the mel scale gives them (so 1, 2, 4, 8 kHz sit almost evenly spaced, as
 * the bands do), with tick marks and labels in the bitmap font.
 */
import type { FrontendParams } from '../../dsp/frontend-params.js';
import { melRowOf, setPixel, type Rect, type Rgb, type RgbaImage } from '../../dsp/spectrogram-image.js';
import { drawText, GLYPH_HEIGHT, textWidth } from './bitmap-font.js';

export interface Tick {
  /** Pixel offset inside the plot: a column for time, a row from the top for frequency. */
  at: number;
  label: string;
}

/** Steps between time ticks, in seconds; the smallest whose labels do not crowd is used. */
const TIME_STEPS = [0.1, 0.2, 0.25, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600];
/** Frequencies labelled on the mel axis, kHz: roughly an octave apart. */
const FREQ_KHZ = [0.5, 1, 2, 4, 8, 12];
const TICK = 3;

function secLabel(sec: number): string {
  return `${Number(sec.toFixed(2))}s`;
}

/** Ticks for a picture `durationSec` long drawn over `w` columns, labels well apart (about two label widths). */
export function timeTicks(durationSec: number, w: number, scale = 1): Tick[] {
  if (!(durationSec > 0)) return [{ at: 0, label: '0s' }];
  const widest = textWidth(secLabel(durationSec), scale) + textWidth('.00', scale);
  const step = TIME_STEPS.find((s) => (durationSec / s) * (widest + 24 * scale) <= w) ?? TIME_STEPS[TIME_STEPS.length - 1]!;
  const ticks: Tick[] = [];
  for (let k = 0; k * step <= durationSec + 1e-9; k++) {
    const sec = k * step;
    ticks.push({ at: Math.min(w - 1, Math.round((sec / durationSec) * w)), label: secLabel(sec) });
  }
  return ticks;
}

/** Frequency ticks inside a plot `h` rows high; a label that would touch the one above is left out. */
export function frequencyTicks(params: Readonly<FrontendParams>, h: number, scale = 1): Tick[] {
  const ticks: Tick[] = [];
  let lastAt = -Infinity;
  for (const khz of [...FREQ_KHZ].reverse()) {
    const hz = khz * 1000;
    if (hz <= params.fMin || hz >= params.fMax) continue;
    const at = Math.floor(melRowOf(hz, params, h));
    if (at < 0 || at >= h || at - lastAt < GLYPH_HEIGHT * scale + 3) continue;
    ticks.push({ at, label: String(khz) });
    lastAt = at;
  }
  return ticks.reverse();
}

export interface AxisStyle {
  colour: Rgb;
  scale: number;
}

/** Room the labels need around the plot, in pixels. */
export function axisMargins(freqTicks: readonly Tick[], scale: number): { left: number; bottom: number; top: number } {
  const widest = Math.max(textWidth('kHz', scale), ...freqTicks.map((t) => textWidth(t.label, scale)));
  return { left: widest + TICK + 5, bottom: TICK + 3 + GLYPH_HEIGHT * scale + 2, top: GLYPH_HEIGHT * scale + 6 };
}

/** Axis lines just outside the plot, ticks, labels, and the unit "kHz" above the frequency axis. */
export function drawAxes(img: RgbaImage, plot: Rect, time: readonly Tick[], freq: readonly Tick[], style: AxisStyle): void {
  const { colour, scale } = style;
  const left = plot.x - 1;
  const bottom = plot.y + plot.h;
  for (let y = plot.y; y <= bottom; y++) setPixel(img, left, y, colour);
  for (let x = left; x < plot.x + plot.w; x++) setPixel(img, x, bottom, colour);
  for (const t of time) {
    const x = plot.x + t.at;
    for (let d = 1; d <= TICK; d++) setPixel(img, x, bottom + d, colour);
    const w = textWidth(t.label, scale);
    // Centred under the tick, kept inside the picture.
    const lx = Math.max(0, Math.min(img.width - w, x - Math.floor(w / 2)));
    drawText(img, lx, bottom + TICK + 3, t.label, colour, scale);
  }
  for (const t of freq) {
    const y = plot.y + t.at;
    for (let d = 1; d <= TICK; d++) setPixel(img, left - d, y, colour);
    const w = textWidth(t.label, scale);
    const ly = Math.max(0, Math.min(img.height - GLYPH_HEIGHT * scale, y - Math.floor((GLYPH_HEIGHT * scale) / 2)));
    drawText(img, left - TICK - 2 - w, ly, t.label, colour, scale);
  }
  drawText(img, Math.max(0, left - TICK - 2 - textWidth('kHz', scale)), 2, 'kHz', colour, scale);
}
