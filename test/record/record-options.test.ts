import { describe, expect, it } from 'vitest';
import { parseRecordOptions } from '../../agent/cli/record-command.js';

const HOUR = 3_600_000;

describe('earshot record options', () => {
  it('the span defaults to a day, never less than the audio; --now and --over 0 are back-to-back; an unseeded run draws a seed', () => {
    const base = { out: 'bg', snippet: '10' };
    expect(parseRecordOptions({ ...base, minutes: '90' }, () => 0.5)).toEqual({ totalMs: 5_400_000, snippetMs: 10_000, spanMs: 24 * HOUR, seed: 0x80000000, seedGiven: false, out: 'bg' });
    expect(parseRecordOptions({ ...base, minutes: '2000' }).spanMs).toBe(120_000_000);
    expect(parseRecordOptions({ ...base, minutes: '1', over: '0' }).spanMs).toBe(0);
    expect(parseRecordOptions({ ...base, minutes: '1', now: true }).spanMs).toBe(0);
    expect(parseRecordOptions({ ...base, minutes: '1', now: true, over: '0' }).spanMs).toBe(0);
    expect(parseRecordOptions({ ...base, minutes: '90', over: '1.5', seed: '12' })).toMatchObject({ spanMs: 1.5 * HOUR, seed: 12, seedGiven: true });
    expect(() => parseRecordOptions({ ...base, minutes: '90', over: '1.4' })).toThrow(/--over: 1.4 h is shorter than the audio itself/);
    expect(() => parseRecordOptions({ ...base, minutes: '' })).toThrow(/--minutes: expected/);
    expect(() => parseRecordOptions({ ...base, minutes: '1', snippet: '1e9' })).toThrow(/--snippet: expected/);
  });
});
