import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openEventReader } from '../../agent/store/event-reader.js';
import { SqliteStore } from '../../agent/store/sqlite-store.js';
import { Priority } from '../../agent/store/types.js';
import { EVENTS_TOPIC, FakeClock, T0, makeEvent, makeTempDir, removeTempDir } from './helpers.js';
import { enqueueLegacyHealth } from './legacy-health.js';

describe('SyncQueries (read-only, for `earshot sync status`)', () => {
  let dir: string;
  let file: string;
  let clock: FakeClock;
  let store: SqliteStore;

  beforeEach(() => {
    dir = makeTempDir();
    file = path.join(dir, 'events.db');
    clock = new FakeClock();
    store = new SqliteStore({ file, clock: clock.now, reserveBytes: 0 });
    store.open();
  });
  afterEach(() => {
    store.close();
    removeTempDir(dir);
  });

  it('reports depth, oldest and retries per priority, the last ack and state values, beside a writing store', () => {
    const reader0 = openEventReader(file);
    expect(reader0.sync.outboxSummary()).toEqual({
      depth: 0,
      byPriority: { 0: { depth: 0, retried: 0, maxAttempts: 0 }, 1: { depth: 0, retried: 0, maxAttempts: 0 }, 2: { depth: 0, retried: 0, maxAttempts: 0 } },
    });
    reader0.close();

    store.putEvent(makeEvent({ label: 'gunshot' }), { alert: EVENTS_TOPIC });
    clock.advance(1000);
    const saw = store.putEvent(makeEvent({ label: 'chainsaw' }), { alert: EVENTS_TOPIC });
    clock.advance(1000);
    store.putEvent(makeEvent({ label: 'dog' }), { alert: EVENTS_TOPIC });
    enqueueLegacyHealth(file, clock.nowMs, { ok: 1 });
    const [first] = store.lease(1);
    store.ack([first!.id]); // the gunshot
    const [second] = store.lease(1);
    expect(second!.eventId).toBe(saw.id);
    store.nack([second!.id]);
    store.setState('sync.link', '{"connected":true}');

    const reader = openEventReader(file);
    try {
      const s = reader.sync.outboxSummary();
      expect(s.depth).toBe(3);
      expect(s.byPriority[Priority.threatAlert]).toEqual({ depth: 1, oldest: new Date(T0 + 1000).toISOString(), retried: 1, maxAttempts: 1 });
      expect(s.byPriority[Priority.eventAlert]).toEqual({ depth: 1, oldest: new Date(T0 + 2000).toISOString(), retried: 0, maxAttempts: 0 });
      expect(s.byPriority[Priority.health].depth).toBe(1);
      expect(s.oldest).toBe(new Date(T0 + 1000).toISOString());
      expect(s.lastSyncAt).toBe(new Date(T0 + 2000).toISOString());
      expect(reader.sync.state('sync.link')).toBe('{"connected":true}');
      expect(reader.sync.state('no.such.key')).toBeUndefined();
    } finally {
      reader.close();
    }
  });
});
