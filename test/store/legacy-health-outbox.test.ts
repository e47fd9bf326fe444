/**
 * Health rows an older version left in the outbox (it enqueued health samples at priority 2):
 * they drain after every alert, are removed when acknowledged, and their samples are pruned
 * by age once they have left the outbox.
 */
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UNLIMITED } from '../../agent/store/limits.js';
import { SqliteStore } from '../../agent/store/sqlite-store.js';
import { Priority } from '../../agent/store/types.js';
import { EVENTS_TOPIC, FakeClock, HEALTH_TOPIC, T0, makeEvent, makeTempDir, removeTempDir } from './helpers.js';
import { enqueueLegacyHealth } from './legacy-health.js';

const DAY = 86_400_000;

describe('legacy health rows in the outbox', () => {
  let dir: string;
  let store: SqliteStore;
  let clock: FakeClock;
  beforeEach(() => {
    dir = makeTempDir('earshot-legacy-health-');
    clock = new FakeClock();
    store = new SqliteStore({ file: path.join(dir, 'events.db'), clock: clock.now, limits: { ...UNLIMITED, retentionMs: 30 * DAY } });
    store.open();
  });
  afterEach(() => {
    store.close();
    removeTempDir(dir);
  });

  it('drain last, as published before, and leave the outbox when acknowledged', () => {
    enqueueLegacyHealth(path.join(dir, 'events.db'), T0, { cpuTempC: 51 });
    const dog = store.putEvent(makeEvent({ label: 'dog' }), { alert: EVENTS_TOPIC });
    const leased = store.lease(10);
    expect(leased.map((m) => m.eventId ?? m.kind)).toEqual([dog.id, 'health']);
    expect(leased[1]).toMatchObject({ kind: 'health', topic: HEALTH_TOPIC.topic, priority: Priority.health });
    expect(JSON.parse(leased[1]!.payload)).toEqual({ cpuTempC: 51 });
    store.ack(leased.map((m) => m.id));
    expect(store.storeHealth().outbox.depth).toBe(0);
    clock.advance(31 * DAY);
    expect(store.prune('periodic').healthDeleted).toBe(1);
  });
});
