/**
 * When `earshot record` takes its background snippets: the audio asked for, cut into snippets,
 * spread over a span (24 h by default) so the folder covers dawn, day, dusk and night rather
 * than one noisy minute. The span is cut into one slot per snippet (slot widths proportional to
 * the snippets' lengths) and each snippet starts at a random point of its slot, so snippets do
 * not land at the same minute of every hour. Pure: times in, times out; the seed fixes the jitter.
 * Everything is in whole milliseconds so that no rounding can make two snippets overlap.
 */
import { rng } from '../../dsp/random.js';

/** A remainder shorter than this is added to the last full snippet instead of making its own. */
export const MIN_SNIPPET_MS = 1000;

/** Default span in hours: a day, never less than the audio itself. */
export const DEFAULT_SPAN_HOURS = 24;

export interface ScheduleRequest {
  /** Total audio to keep, ms. */
  totalMs: number;
  /** Length of one snippet, ms. */
  snippetMs: number;
  /** Span the snippets are spread over, ms; 0: back-to-back. Otherwise at least totalMs. */
  spanMs: number;
  /** Seed of the jitter. */
  seed: number;
  /** Start of the span (epoch ms, or any clock the caller schedules by). */
  startMs: number;
}

export interface PlannedSnippet {
  index: number;
  /** When the snippet starts. */
  startMs: number;
  durationMs: number;
  /** The slot it was drawn in: [slotStartMs, slotEndMs). */
  slotStartMs: number;
  slotEndMs: number;
}

export interface SnippetSchedule {
  snippets: PlannedSnippet[];
  totalMs: number;
  spanMs: number;
  /** Mean slot width, ms: the spacing of extra slots after the last one (retries). */
  periodMs: number;
}

/** The default span for `totalMs` of audio: 24 h, or the audio itself when that is longer. */
export function defaultSpanMs(totalMs: number): number {
  return Math.max(DEFAULT_SPAN_HOURS * 3_600_000, Math.ceil(totalMs));
}

/**
 * The snippet lengths for `totalMs` of audio in snippets of `snippetMs`: full snippets, then the
 * remainder as a shorter last one (or added to the last full one when under MIN_SNIPPET_MS).
 * They sum to `totalMs` exactly.
 */
export function snippetDurations(totalMs: number, snippetMs: number): number[] {
  const total = Math.round(totalMs);
  const snippet = Math.round(snippetMs);
  if (!(total > 0) || !(snippet > 0)) throw new RangeError(`total and snippet length must be > 0 ms, got ${totalMs} and ${snippetMs}`);
  const full = Math.floor(total / snippet);
  const rest = total - full * snippet;
  const out = new Array<number>(full).fill(snippet);
  if (rest > 0) {
    if (full > 0 && rest < MIN_SNIPPET_MS) out[full - 1] += rest;
    else out.push(rest);
  }
  return out;
}

/** Snippets at evenly spread slots with seeded jitter inside each slot (back-to-back when spanMs is 0). */
export function snippetSchedule(req: ScheduleRequest): SnippetSchedule {
  const durations = snippetDurations(req.totalMs, req.snippetMs);
  const totalMs = durations.reduce((a, b) => a + b, 0);
  const spanMs = Math.round(req.spanMs);
  if (spanMs !== 0 && spanMs < totalMs) throw new RangeError(`the span (${spanMs} ms) is shorter than the audio (${totalMs} ms)`);
  const start = Math.round(req.startMs);
  const snippets: PlannedSnippet[] = [];
  if (spanMs === 0) {
    let t = start;
    durations.forEach((d, index) => {
      snippets.push({ index, startMs: t, durationMs: d, slotStartMs: t, slotEndMs: t + d });
      t += d;
    });
    return { snippets, totalMs, spanMs, periodMs: totalMs / durations.length };
  }
  const random = rng(req.seed);
  let cum = 0;
  durations.forEach((d, index) => {
    // Slot edges at floor(span × audio-so-far / total): integers, each slot at least `d` wide.
    const slotStartMs = start + Math.floor((spanMs * cum) / totalMs);
    cum += d;
    const slotEndMs = start + Math.floor((spanMs * cum) / totalMs);
    const free = slotEndMs - slotStartMs - d;
    const offset = Math.min(free, Math.floor(random() * (free + 1)));
    snippets.push({ index, startMs: slotStartMs + offset, durationMs: d, slotStartMs, slotEndMs });
  });
  return { snippets, totalMs, spanMs, periodMs: spanMs / durations.length };
}
