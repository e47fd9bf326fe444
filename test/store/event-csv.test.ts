import { describe, expect, it } from 'vitest';
import type { EarshotEvent } from '../../agent/event.js';
import { EVENT_CSV_HEADER, eventCsvLine } from '../../agent/store/event-csv.js';
import { parseCsv } from '../helpers/parse-csv.js';
import { makeEvent } from './helpers.js';

const parse = (...events: EarshotEvent[]) => parseCsv(`${EVENT_CSV_HEADER}\n${events.map(eventCsvLine).join('\n')}\n`);

describe('event CSV', () => {
  it('quotes only fields with a comma, a quote or a line break, doubling the quotes', () => {
    const e = { ...makeEvent({ label: 'dog, "big"\r\nbarking' }), seq: 3 };
    const line = eventCsvLine(e);
    expect(line).toContain(',"dog, ""big""\r\nbarking",');
    expect(line.startsWith(`${e.id},3,guardian-07,`)).toBe(true);
    expect(parse(e).rows[0]!.label).toBe(e.label);
  });

  it('absent fields are empty; objects are JSON; nested fields get their own columns', () => {
    const plain = { ...makeEvent(), seq: 1 };
    const full: EarshotEvent = {
      ...plain,
      seq: 2,
      location: { lat: -37.8, lon: -73.1 },
      clip: { path: '/c/1.flac', format: 'flac', durationMs: 6000, sha256: 'ef'.repeat(32) },
      head: { name: 'site-head', sha256: '12'.repeat(32) },
    };
    const { rows } = parse(plain, full);
    expect(rows[0]).toMatchObject({ lat: '', lon: '', clipPath: '', clipDurationMs: '', file: '', startSec: '', headName: '', headSha256: '' });
    expect(rows[1]).toMatchObject({ lat: '-37.8', lon: '-73.1', clipPath: '/c/1.flac', clipFormat: 'flac', clipDurationMs: '6000', headName: 'site-head', headSha256: '12'.repeat(32) });
    expect(JSON.parse(rows[1]!.modelLabels!)).toEqual(full.modelLabels);
    expect(rows[1]).toMatchObject({ topModelLabel: 'Gunshot, gunfire', topModelScore: '0.81', modelName: 'efficientat-mn04', modelVersion: '1' });
  });

  it('an event without model labels has empty top-label columns', () => {
    const { rows } = parse({ ...makeEvent({ modelLabels: [] }), seq: 1 });
    expect(rows[0]).toMatchObject({ modelLabels: '[]', topModelLabel: '', topModelScore: '' });
  });
});
