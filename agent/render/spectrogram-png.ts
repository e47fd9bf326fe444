/**
 * A spectrogram picture of a clip (issue 14 item 4): the project's own log-mel (the model's front
 * end, so the picture shows what the model heard), the magma colour map, time and frequency axes
 * with labels, and the event's span marked. Used by `earshot events spectrogram`, `earshot
 * analyze --spectrograms` and the console's /api/alerts/:id/spectrogram.png.
 *
 * Rates: a rate that divides the model's 32 kHz (8, 16 kHz) is analysed at its own rate (the front
 * end supports it, and it is several times cheaper); any other is resampled to 32 kHz as analyze
 * does. Bands above a recording's Nyquist frequency are empty and show dark.
 */
import { PNG } from 'pngjs';
import { MN04_FRONTEND, type FrontendParams } from '../../dsp/frontend-params.js';
import { createMelFrontend, nativeRateFactor, type MelFrontend, type MelSpectrogram } from '../../dsp/melspec.js';
import { DETECTION_RESAMPLING, resample } from '../../dsp/resample.js';
import {
  colourRange,
  createImage,
  drawSpan,
  levelScale,
  paintSpectrogram,
  spanColumns,
  type Rect,
  type Rgb,
  type RgbaImage,
  type Span,
} from '../../dsp/spectrogram-image.js';
import { UsageError } from '../errors.js';
import { axisMargins, drawAxes, frequencyTicks, timeTicks } from './axes.js';

const COMPONENT = 'render.spectrogram';

export interface SpectrogramPngOptions {
  /** The event inside the clip, seconds from the clip's start. */
  span?: Span;
  /** Picture size in pixels, axes included. Default 800 × 300. */
  width?: number;
  height?: number;
  /** Colours cover this many dB below the loudest point (default 80). */
  dynamicRangeDb?: number;
}

export const DEFAULT_WIDTH = 800;
export const DEFAULT_HEIGHT = 300;
export const SIZE_LIMITS = { minWidth: 160, maxWidth: 4096, minHeight: 100, maxHeight: 2048 } as const;
const DEFAULT_RANGE_DB = 80;

export const COLOURS = {
  background: [17, 19, 24] as Rgb,
  axis: [200, 200, 205] as Rgb,
  /** The span marker: cyan, a hue magma never uses. */
  span: [34, 211, 238] as Rgb,
};

/** Where the parts of a picture are. */
export interface SpectrogramLayout {
  plot: Rect;
  /** Rows above the plot where the span's bar is drawn. */
  bar: { y: number; h: number };
  scale: number;
}

export interface RenderedSpectrogram {
  image: RgbaImage;
  layout: SpectrogramLayout;
  durationSec: number;
}

const frontends = new Map<number, MelFrontend>();

/** The front end for input at `rate` (built once per rate): its own rate when the front end can take it, else undefined. */
function frontendFor(params: Readonly<FrontendParams>, rate: number): MelFrontend | undefined {
  if (nativeRateFactor(params, rate) === undefined) return undefined;
  let fe = frontends.get(rate);
  if (!fe) {
    fe = createMelFrontend(params, { inputRate: rate });
    frontends.set(rate, fe);
  }
  return fe;
}

/** The model's log-mel of `samples` at `sampleRate`, resampling only when the rate needs it. */
export function clipMelspec(samples: Float32Array, sampleRate: number, params: Readonly<FrontendParams> = MN04_FRONTEND): MelSpectrogram {
  const own = frontendFor(params, sampleRate);
  if (own) return own.melspec(samples);
  return frontendFor(params, params.sampleRate)!.melspec(resample(samples, sampleRate, params.sampleRate, DETECTION_RESAMPLING));
}

function checkInteger(name: string, v: number, min: number, max: number): number {
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new UsageError(`spectrogram ${name} ${v}: expected a whole number of pixels from ${min} to ${max}`, { component: COMPONENT, code: 'render.size' });
  }
  return v;
}

function checkInput(samples: Float32Array, sampleRate: number, opts: SpectrogramPngOptions): void {
  if (!(samples instanceof Float32Array)) throw new UsageError('spectrogram: samples must be a Float32Array of mono samples in [-1, 1]', { component: COMPONENT, code: 'render.samples' });
  if (!Number.isInteger(sampleRate) || sampleRate < 1000 || sampleRate > 384_000) {
    throw new UsageError(`spectrogram sample rate ${sampleRate}: expected a whole number of Hz from 1000 to 384000`, { component: COMPONENT, code: 'render.rate' });
  }
  const s = opts.span;
  if (s && !(Number.isFinite(s.startSec) && Number.isFinite(s.endSec) && s.endSec >= s.startSec)) {
    throw new UsageError(`spectrogram span ${JSON.stringify(s)}: expected finite seconds with startSec ≤ endSec`, { component: COMPONENT, code: 'render.span' });
  }
  const r = opts.dynamicRangeDb;
  if (r !== undefined && !(Number.isFinite(r) && r >= 10 && r <= 200)) {
    throw new UsageError(`spectrogram dynamic range ${r} dB: expected 10 to 200`, { component: COMPONENT, code: 'render.range' });
  }
}

/** The picture as RGBA pixels (what the PNG holds), with where its parts are. */
export function renderSpectrogramImage(samples: Float32Array, sampleRate: number, opts: SpectrogramPngOptions = {}): RenderedSpectrogram {
  checkInput(samples, sampleRate, opts);
  const width = checkInteger('width', opts.width ?? DEFAULT_WIDTH, SIZE_LIMITS.minWidth, SIZE_LIMITS.maxWidth);
  const height = checkInteger('height', opts.height ?? DEFAULT_HEIGHT, SIZE_LIMITS.minHeight, SIZE_LIMITS.maxHeight);
  const params = MN04_FRONTEND;
  const durationSec = samples.length / sampleRate;
  const spec = clipMelspec(samples, sampleRate, params);

  // Larger pictures get larger labels, so they stay readable when shown scaled down.
  const scale = height >= 480 && width >= 960 ? 2 : 1;
  // The frequency labels depend on the plot's height and the margins on the labels: two passes settle it.
  let margins = axisMargins(frequencyTicks(params, height, scale), scale);
  const plotH = height - margins.top - margins.bottom;
  const freq = frequencyTicks(params, plotH, scale);
  margins = axisMargins(freq, scale);
  const right = 8 * scale;
  const plot: Rect = { x: margins.left, y: margins.top, w: width - margins.left - right, h: height - margins.top - margins.bottom };
  const bar = { y: plot.y - 4, h: 3 };

  const image = createImage(width, height, COLOURS.background);
  paintSpectrogram(image, plot, spec, colourRange(spec, levelScale(params), opts.dynamicRangeDb ?? DEFAULT_RANGE_DB));
  drawAxes(image, plot, timeTicks(durationSec, plot.w, scale), freq, { colour: COLOURS.axis, scale });
  if (opts.span) drawSpan(image, plot, spanColumns(opts.span, durationSec, plot.w), bar, COLOURS.span);
  return { image, layout: { plot, bar, scale }, durationSec };
}

/** Encodes RGBA pixels (all opaque) as an RGB PNG. */
export function encodePng(image: RgbaImage): Buffer {
  const data = Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength);
  // colorType 2 (RGB): the picture has no transparency, so a quarter less to deflate and send.
  return PNG.sync.write({ width: image.width, height: image.height, data } as PNG, { colorType: 2, inputColorType: 6, inputHasAlpha: true });
}

/** A PNG spectrogram of mono `samples` (floats in [-1, 1]) at `sampleRate`. */
export function renderSpectrogramPng(samples: Float32Array, sampleRate: number, opts: SpectrogramPngOptions = {}): Buffer {
  return encodePng(renderSpectrogramImage(samples, sampleRate, opts).image);
}
