/**
 * The agent's storage component at start recovers what a dead process left (issue 13 item 6):
 * events it left open are closed as stored and queued on `<prefix>/<device>/events`, its outbox
 * leases are released at once instead of after DEFAULT_LEASE_MS. Opening the store alone (as
 * `earshot sync now` does beside a running agent) changes neither.
 */
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { validateConfig } from '../../config/load.js';
import { createLogger } from '../../agent/log.js';
import { createStorage } from '../../agent/store/create-store.js';
import { SqliteStore } from '../../agent/store/sqlite-store.js';
import { StorageComponent } from '../../agent/store/storage-component.js';
import { makeEvent, makeTempDir, removeTempDir } from './helpers.js';

describe('StorageComponent start after a crash', () => {
  let dir: string;
  beforeEach(() => (dir = makeTempDir('earshot-storage-start-')));
  afterEach(() => removeTempDir(dir));

  it('closes the events a dead process left open, queues their final version and releases its leases', async () => {
    // The dead process: an open voice event (never published), an open threat whose first
    // version it had leased, and a closed event's alert it had leased.
    const file = path.join(dir, 'events.db');
    const before = new SqliteStore({ file, reserveBytes: 0 });
    before.open();
    const voice = before.openEvent(makeEvent({ label: 'human_voice' }));
    before.updateEvent(voice.id, { end: '2026-03-01T12:00:04.000Z', confidence: 0.9 });
    const gun = before.openEvent(makeEvent());
    before.enqueueAlert(gun.id, { topic: 'site/rig/events' });
    const dog = before.putEvent(makeEvent({ label: 'dog' }), { alert: { topic: 'site/rig/events' } });
    expect(before.lease(10)).toHaveLength(2);
    before.close();

    // Opening the store is not recovering: a reader beside a live agent must not take its events.
    const reader = new SqliteStore({ file, reserveBytes: 0 });
    reader.open();
    expect(reader.lease(10)).toEqual([]);
    expect(reader.listEvents({ state: 'open' })).toHaveLength(2);
    reader.close();

    const lines: string[] = [];
    const logger = createLogger({ level: 'info', format: 'json', isTTY: false, destination: new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString()), cb()) }) });
    const config = validateConfig({ device: { id: 'rig' }, mqtt: { topicPrefix: 'site' }, storage: { dataDir: dir } }, 'test');
    const storage = createStorage(config, { logger, scheduler: { setInterval: () => 1, clearInterval: () => undefined } });
    const component = new StorageComponent(storage);
    await component.start();
    try {
      const store = storage.store;
      expect(store.listEvents({ state: 'open' })).toEqual([]);
      expect(store.getEvent(voice.id)!.event).toMatchObject({ end: '2026-03-01T12:00:04.000Z', confidence: 0.9 });
      const leased = store.lease(10);
      expect(leased.map((m) => [m.eventId, m.rev, m.topic])).toEqual([
        [gun.id, 2, 'site/rig/events'],
        [voice.id, 1, 'site/rig/events'], // never queued before: the configured events topic
        [dog.id, 1, 'site/rig/events'],
      ]);
      expect(leased.map((m) => (JSON.parse(m.payload) as { state: string }).state)).toEqual(['closed', 'closed', 'closed']);
      const logged = lines.map((l) => JSON.parse(l) as { msg: string; events?: string[]; messages?: number; component?: string });
      expect(logged).toContainEqual(expect.objectContaining({ msg: 'closed events a dead process left open', events: [voice.id, gun.id], component: 'store' }));
      expect(logged).toContainEqual(expect.objectContaining({ msg: 'released outbox messages a dead process had leased', messages: 2 }));
    } finally {
      component.stop();
    }
  });
});
