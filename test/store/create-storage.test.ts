import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { validateConfig } from '../../config/load.js';
import { createStorage } from '../../agent/store/create-store.js';
import { storeLimitsFromConfig } from '../../agent/store/limits.js';
import { silentLogger } from '../../agent/silent-logger.js';
import { EVENTS_TOPIC, makeEvent, makeTempDir, removeTempDir } from './helpers.js';

describe('createStorage', () => {
  let dir: string;
  beforeEach(() => (dir = makeTempDir('earshot-storage-')));
  afterEach(() => removeTempDir(dir));

  it('puts the database and clips under storage.dataDir and follows the per-label clip switch', async () => {
    const config = validateConfig({ storage: { dataDir: dir, clipFormat: 'wav' }, detection: { labels: { dog: { keepClips: false } } } }, 'test');
    const { store, clips, retention } = createStorage(config, { logger: silentLogger(), scheduler: { setInterval: () => 1, clearInterval: () => undefined } });
    store.open();
    await clips.start();
    retention.start();
    const e = store.putEvent(makeEvent(), { alert: EVENTS_TOPIC });
    const clip = await clips.write({ eventId: e.id, label: 'gunshot', samples: new Int16Array(800), sampleRateHz: 8000 });
    store.attachClip(e.id, clip!);
    expect(clip!.path.startsWith(path.join(dir, 'clips') + path.sep)).toBe(true);
    expect(await clips.write({ eventId: 'x', label: 'dog', samples: new Int16Array(8), sampleRateHz: 8000 })).toBeUndefined();
    expect(await clips.write({ eventId: 'y', label: 'human_voice', samples: new Int16Array(8), sampleRateHz: 8000 })).toBeUndefined();
    expect(fs.existsSync(path.join(dir, 'events.db'))).toBe(true);
    expect(store.getEvent(e.id)?.clip?.bytes).toBe(44 + 1600);
    retention.stop();
    store.close();
  });

  it('converts the storage limits to bytes and milliseconds', () => {
    const config = validateConfig({ storage: { maxDatabaseMB: 1.5, maxClipMB: 10, minFreeMB: 200, minFreePercent: 5, retentionDays: 2 } }, 'test');
    expect(storeLimitsFromConfig(config.storage)).toEqual({
      maxDatabaseBytes: 1.5 * 1024 * 1024,
      maxClipBytes: 10 * 1024 * 1024,
      minFreeBytes: 200 * 1024 * 1024,
      minFreePercent: 5,
      retentionMs: 2 * 86_400_000,
    });
  });
});
