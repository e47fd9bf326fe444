import { describe, expect, it } from 'vitest';
import { offlineEvent, RAVEN_HEADER, ravenTable } from '../../agent/offline/report.js';
import { EVENT_CSV_HEADER, eventCsvLine } from '../../agent/store/event-csv.js';
import { parseCsv } from '../helpers/parse-csv.js';
import type { TrackedEvent } from '../../agent/detect/tracker.js';

const tracked: TrackedEvent = {
  key: 1,
  label: 'gunshot',
  category: 'threat',
  startSample: 32000,
  endSample: 96000,
  confidence: 0.912345,
  modelLabels: [{ label: 'Gunshot, gunfire', score: 0.8765432 }],
  windows: 2,
};
const ctx = {
  device: 'guardian-07',
  model: { name: 'efficientat-mn04', version: '1', sha256: 'abc' },
  file: 'site/a,b.wav',
  sampleRate: 32000,
  recordingStartMs: Date.UTC(2026, 10, 28, 11, 0, 0),
  clockSynced: false,
};

describe('offline events', () => {
  const e = offlineEvent(tracked, 7, ctx);
  it('carry the contract fields plus file, startSec and endSec', () => {
    expect(e).toMatchObject({
      seq: 7,
      device: 'guardian-07',
      label: 'gunshot',
      category: 'threat',
      confidence: 0.9123,
      start: '2026-11-28T11:00:01.000Z',
      end: '2026-11-28T11:00:03.000Z',
      modelLabels: [{ label: 'Gunshot, gunfire', score: 0.8765 }],
      model: ctx.model,
      clockSynced: false,
      file: 'site/a,b.wav',
      startSec: 1,
      endSec: 3,
    });
    expect(e.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(e).not.toHaveProperty('location');
  });
  it('ids are unique', () => {
    expect(offlineEvent(tracked, 8, ctx).id).not.toBe(e.id);
  });
  it('in the event CSV: the offline columns filled, a file name with a comma and quotes round-trips', () => {
    const tricky = offlineEvent(tracked, 9, { ...ctx, file: 'site/a,"b".wav' });
    const { header, rows } = parseCsv(`${EVENT_CSV_HEADER}\n${eventCsvLine(tricky)}\n`);
    expect(header.slice(-7)).toEqual(['file', 'startSec', 'endSec', 'topModelLabel', 'topModelScore', 'headName', 'headSha256']);
    expect(rows[0]).toMatchObject({ seq: '9', label: 'gunshot', confidence: '0.9123', file: 'site/a,"b".wav', startSec: '1', endSec: '3', topModelLabel: 'Gunshot, gunfire', topModelScore: '0.8765' });
  });
  it('Raven selection tables have the header and one tab-separated row per event', () => {
    const table = ravenTable([e, offlineEvent(tracked, 8, ctx)], 15000).trimEnd().split('\n');
    expect(table[0]).toBe(RAVEN_HEADER);
    expect(table).toHaveLength(3);
    expect(table[2]!.split('\t').slice(0, 9)).toEqual(['2', 'Spectrogram 1', '1', '1.000', '3.000', '0', '15000', 'gunshot', 'threat']);
  });
});
