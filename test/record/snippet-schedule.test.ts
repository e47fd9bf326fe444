import { describe, expect, it } from 'vitest';
import { defaultSpanMs, MIN_SNIPPET_MS, snippetDurations, snippetSchedule, type SnippetSchedule } from '../../agent/record/snippet-schedule.js';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 10, 29, 6, 0, 0);

function checkNoOverlap(s: SnippetSchedule, start: number) {
  let end = start;
  for (const p of s.snippets) {
    expect(p.startMs).toBeGreaterThanOrEqual(end);
    expect(p.startMs).toBeGreaterThanOrEqual(p.slotStartMs);
    expect(p.startMs + p.durationMs).toBeLessThanOrEqual(p.slotEndMs);
    expect(Number.isInteger(p.startMs)).toBe(true);
    end = p.startMs + p.durationMs;
  }
  if (s.spanMs > 0) expect(end).toBeLessThanOrEqual(start + s.spanMs);
}

describe('snippet schedule', () => {
  it('N minutes of audio in snippets of S seconds: the right count and exactly the right total', () => {
    const s = snippetSchedule({ totalMs: 90 * 60_000, snippetMs: 15_000, spanMs: 24 * HOUR, seed: 1, startMs: T0 });
    expect(s.snippets).toHaveLength(360);
    expect(s.snippets.every((p) => p.durationMs === 15_000)).toBe(true);
    expect(s.totalMs).toBe(90 * 60_000);
    expect(s.periodMs).toBe(4 * 60_000);
    expect(snippetDurations(6000, 2000)).toEqual([2000, 2000, 2000]);
    // A remainder gets its own shorter snippet, or joins the last one when under a second.
    expect(snippetDurations(65_000, 10_000)).toEqual([10_000, 10_000, 10_000, 10_000, 10_000, 10_000, 5000]);
    expect(snippetDurations(60_500, 10_000)).toEqual([10_000, 10_000, 10_000, 10_000, 10_000, 10_500]);
    expect(snippetDurations(600, 10_000)).toEqual([600]);
    for (const [total, snip] of [[123_456, 7000], [60_001, 10_000], [MIN_SNIPPET_MS - 1, 10_000], [1_000_000, 333]]) {
      expect(snippetDurations(total, snip).reduce((a, b) => a + b, 0)).toBe(total);
    }
  });

  it('spreads the snippets over the whole span, one per slot, without overlap', () => {
    const s = snippetSchedule({ totalMs: 6 * 60_000, snippetMs: 10_000, spanMs: 24 * HOUR, seed: 7, startMs: T0 });
    expect(s.snippets).toHaveLength(36);
    checkNoOverlap(s, T0);
    // Slots tile the span: 40 minutes each, first at the start, last ending at the end.
    expect(s.snippets[0]!.slotStartMs).toBe(T0);
    expect(s.snippets.at(-1)!.slotEndMs).toBe(T0 + 24 * HOUR);
    for (const [i, p] of s.snippets.entries()) {
      expect(p.slotStartMs).toBe(T0 + i * 40 * 60_000);
      expect(p.slotEndMs - p.slotStartMs).toBe(40 * 60_000);
    }
    // Every 6-hour quarter of the day (night, dawn, day, dusk) gets its share.
    const quarters = [0, 0, 0, 0];
    for (const p of s.snippets) quarters[Math.floor((p.startMs - T0) / (6 * HOUR))]!++;
    expect(quarters).toEqual([9, 9, 9, 9]);
  });

  it('jitters inside each slot so snippets do not land at the same minute of every slot', () => {
    const s = snippetSchedule({ totalMs: 24 * 10_000, snippetMs: 10_000, spanMs: 24 * HOUR, seed: 3, startMs: T0 });
    const offsets = s.snippets.map((p) => p.startMs - p.slotStartMs);
    expect(new Set(offsets.map((o) => Math.floor(o / 60_000))).size).toBeGreaterThan(12);
    expect(Math.max(...offsets)).toBeGreaterThan(30 * 60_000);
    expect(Math.min(...offsets)).toBeLessThan(30 * 60_000);
  });

  it('is deterministic for a seed, and another seed gives another schedule', () => {
    const req = { totalMs: 90 * 60_000, snippetMs: 15_000, spanMs: 24 * HOUR, startMs: T0 };
    const a = snippetSchedule({ ...req, seed: 42 });
    expect(snippetSchedule({ ...req, seed: 42 })).toEqual(a);
    const b = snippetSchedule({ ...req, seed: 43 });
    expect(b.snippets.map((p) => p.startMs)).not.toEqual(a.snippets.map((p) => p.startMs));
    expect(b.snippets.map((p) => p.slotStartMs)).toEqual(a.snippets.map((p) => p.slotStartMs));
  });

  it('no overlap for awkward numbers, random seeds, spans just above the audio, and unequal last snippets', () => {
    for (let seed = 0; seed < 200; seed++) {
      const totalMs = 1000 + ((seed * 7919) % 500_000);
      const snippetMs = 500 + ((seed * 104_729) % 30_000);
      const spanMs = seed % 3 === 0 ? totalMs : totalMs + ((seed * 15_485_863) % (10 * HOUR));
      const s = snippetSchedule({ totalMs, snippetMs, spanMs, seed, startMs: T0 + seed });
      expect(s.snippets.reduce((a, p) => a + p.durationMs, 0)).toBe(totalMs);
      checkNoOverlap(s, T0 + seed);
    }
  });

  it('a span equal to the audio leaves no room: snippets tile it exactly', () => {
    const s = snippetSchedule({ totalMs: 65_000, snippetMs: 10_000, spanMs: 65_000, seed: 9, startMs: 0 });
    expect(s.snippets.map((p) => p.startMs)).toEqual([0, 10_000, 20_000, 30_000, 40_000, 50_000, 60_000]);
  });

  it('span 0 is back-to-back from the start', () => {
    const s = snippetSchedule({ totalMs: 6000, snippetMs: 2000, spanMs: 0, seed: 1, startMs: 500 });
    expect(s.snippets.map((p) => [p.startMs, p.durationMs])).toEqual([[500, 2000], [2500, 2000], [4500, 2000]]);
    expect(s.periodMs).toBe(2000);
  });

  it('the default span is a day, never less than the audio; a span shorter than the audio is refused', () => {
    expect(defaultSpanMs(90 * 60_000)).toBe(24 * HOUR);
    expect(defaultSpanMs(30 * HOUR)).toBe(30 * HOUR);
    expect(() => snippetSchedule({ totalMs: 2 * HOUR, snippetMs: 10_000, spanMs: HOUR, seed: 1, startMs: 0 })).toThrow(RangeError);
    expect(() => snippetDurations(0, 10_000)).toThrow(RangeError);
  });
});
