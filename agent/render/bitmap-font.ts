/**
 * A 5×7 pixel font for the few glyphs a spectrogram's axes need: digits, '.', '-', ' ', and the
 * letters of "s" and "kHz".
 *
 * Why not a font library: the candidates that fit a Pi (pure JS) were checked. `pureimage` draws
 * text through opentype.js 0.4 (a 2015 release line) and needs a TrueType file shipped with the
 * agent (DejaVu Sans alone is about 700 KB; `dejavu-fonts-ttf` installs every DejaVu face, and
 * `@fontsource/*` ships WOFF/WOFF2, which that opentype.js cannot read); `canvas` and
 * `@napi-rs/canvas` are native (Cairo / Skia), megabytes per platform. Axis labels are a dozen
 * short numbers: 16 glyphs here are about 2 KB, need no file at run time (so they work from
 * build/ and from the release tarball alike), draw in microseconds, and give pixel-exact output
 * that tests can check.
 */
import { setPixel, type Rgb, type RgbaImage } from '../../dsp/spectrogram-image.js';

/** Rows top to bottom; '#' is ink. A glyph's width is its rows' length. */
const GLYPHS: Readonly<Record<string, readonly string[]>> = {
  '0': ['.###.', '#...#', '#..##', '#.#.#', '##..#', '#...#', '.###.'],
  '1': ['..#..', '.##..', '..#..', '..#..', '..#..', '..#..', '.###.'],
  '2': ['.###.', '#...#', '....#', '...#.', '..#..', '.#...', '#####'],
  '3': ['#####', '...#.', '..#..', '...#.', '....#', '#...#', '.###.'],
  '4': ['...#.', '..##.', '.#.#.', '#..#.', '#####', '...#.', '...#.'],
  '5': ['#####', '#....', '####.', '....#', '....#', '#...#', '.###.'],
  '6': ['..##.', '.#...', '#....', '####.', '#...#', '#...#', '.###.'],
  '7': ['#####', '....#', '...#.', '..#..', '.#...', '.#...', '.#...'],
  '8': ['.###.', '#...#', '#...#', '.###.', '#...#', '#...#', '.###.'],
  '9': ['.###.', '#...#', '#...#', '.####', '....#', '...#.', '.##..'],
  '.': ['..', '..', '..', '..', '..', '##', '##'],
  '-': ['....', '....', '....', '####', '....', '....', '....'],
  ' ': ['...', '...', '...', '...', '...', '...', '...'],
  s: ['....', '....', '.###', '#...', '.##.', '...#', '###.'],
  k: ['#...', '#...', '#..#', '#.#.', '##..', '#.#.', '#..#'],
  H: ['#...#', '#...#', '#...#', '#####', '#...#', '#...#', '#...#'],
  z: ['....', '....', '####', '...#', '..#.', '.#..', '####'],
};

export const GLYPH_HEIGHT = 7;
/** Blank columns between glyphs. */
const GAP = 1;

function glyph(ch: string): readonly string[] {
  const g = GLYPHS[ch];
  if (!g) throw new RangeError(`bitmap font: no glyph for ${JSON.stringify(ch)}; it has ${Object.keys(GLYPHS).join('')}`);
  return g;
}

/** Width in pixels of `text` drawn at `scale`. */
export function textWidth(text: string, scale = 1): number {
  let w = 0;
  for (const ch of text) w += glyph(ch)[0]!.length + GAP;
  return Math.max(0, w - GAP) * scale;
}

/** Draws `text` with its top left corner at (x, y), each font pixel a scale×scale square. */
export function drawText(img: RgbaImage, x: number, y: number, text: string, colour: Rgb, scale = 1): void {
  let cx = Math.round(x);
  const top = Math.round(y);
  for (const ch of text) {
    const g = glyph(ch);
    for (let r = 0; r < g.length; r++) {
      const row = g[r]!;
      for (let c = 0; c < row.length; c++) {
        if (row[c] !== '#') continue;
        for (let dy = 0; dy < scale; dy++) for (let dx = 0; dx < scale; dx++) setPixel(img, cx + c * scale + dx, top + r * scale + dy, colour);
      }
    }
    cx += (g[0]!.length + GAP) * scale;
  }
}
