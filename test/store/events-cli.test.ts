/** `earshot events list|show|export`, run as a user would: the compiled CLI against a database the test fills. */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EarshotEvent } from '../../agent/event.js';
import { SqliteStore } from '../../agent/store/sqlite-store.js';
import type { StoredEvent } from '../../agent/store/types.js';
import { parseCsv } from '../helpers/parse-csv.js';
import { runEarshotAsync } from '../helpers/cli.js';
import { cliPath } from '../helpers/paths.js';
import { EVENTS_TOPIC, T0, makeEvent, makeTempDir, removeTempDir } from './helpers.js';

/** The header of both `events export --format csv` and `analyze --format csv`. */
const EVENT_CSV_HEADER =
  'id,seq,device,label,category,confidence,start,end,clockSynced,lat,lon,modelName,modelVersion,modelSha256,modelLabels,clipPath,clipFormat,clipDurationMs,clipSha256,file,startSec,endSec,topModelLabel,topModelScore,headName,headSha256';

const CONTRACT_KEYS = new Set(['id', 'seq', 'device', 'label', 'category', 'confidence', 'start', 'end', 'modelLabels', 'model', 'location', 'clip', 'clockSynced', 'file', 'startSec', 'endSec']);

describe('earshot events', () => {
  let dir: string;
  let config: string;
  let dbFile: string;
  const events: EarshotEvent[] = [];

  beforeAll(() => {
    if (!fs.existsSync(cliPath)) throw new Error(`${cliPath} missing: run \`npm run build\` first`);
    dir = makeTempDir('earshot-cli-');
    const dataDir = path.join(dir, 'data');
    config = path.join(dir, 'config.yaml');
    fs.writeFileSync(config, `device:\n  id: guardian-07\nstorage:\n  dataDir: ${JSON.stringify(dataDir)}\n`);
    dbFile = path.join(dataDir, 'events.db');
    const store = new SqliteStore({ file: dbFile, reserveBytes: 0 });
    store.open();
    const labels = ['gunshot', 'dog', 'chainsaw', 'dog', 'human_voice'];
    labels.forEach((label, i) => {
      events.push(store.putEvent(makeEvent({ startMs: T0 + i * 60_000, label, location: { lat: -37.8, lon: -73.1 } }), { alert: EVENTS_TOPIC }));
    });
    store.attachClip(events[0]!.id, { path: path.join(dataDir, 'clips', 'c0.flac'), format: 'flac', durationMs: 6000, sha256: 'ab'.repeat(32), bytes: 4321 });
    events[0] = store.getEvent(events[0]!.id)!.event;
    // The first two alerts (gunshot, chainsaw: threats go first) reach the broker.
    store.ack(store.lease(2).map((m) => m.id));
    // One recent event, open, for --since with a duration.
    events.push(store.openEvent(makeEvent({ startMs: Date.now() - 10 * 60_000, label: 'vehicle' })));
    store.close();
  });
  afterAll(() => removeTempDir(dir));

  it('list --json: newest first, with store state', async () => {
    const r = await runEarshotAsync(['-c', config, 'events', 'list', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const rows = JSON.parse(r.stdout) as StoredEvent[];
    expect(rows.map((s) => s.event.seq)).toEqual([6, 5, 4, 3, 2, 1]);
    expect(rows[5]).toMatchObject({ event: events[0], state: 'closed', alert: 'delivered', clip: { bytes: 4321, uploaded: false } });
    expect(rows[0]).toMatchObject({ state: 'open', alert: 'pending' });
  });

  it('list filters: --label, --undelivered, --limit, --since (time and duration)', async () => {
    const seqs = async (...args: string[]) => {
      const r = await runEarshotAsync(['-c', config, 'events', 'list', '--json', ...args]);
      expect(r.code, r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as StoredEvent[]).map((s) => s.event.seq);
    };
    const results = await Promise.all([
      seqs('--label', 'dog'),
      seqs('--undelivered'),
      seqs('--limit', '2'),
      seqs('--since', new Date(T0 + 3 * 60_000).toISOString()),
      seqs('--since', '1h'),
      seqs('--label', 'dog', '--undelivered', '--since', '2026-03-01'),
    ]);
    expect(results).toEqual([[4, 2], [6, 5, 4, 2], [6, 5], [6, 5, 4], [6], [4, 2]]);
  });

  it('list as a table', async () => {
    const r = await runEarshotAsync(['-c', config, 'events', 'list', '--limit', '3']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^SEQ\s+START \(UTC\)\s+LABEL\s+CATEGORY\s+CONF\s+DUR\s+ALERT\s+CLIP\s+ID$/);
    expect(lines).toHaveLength(4);
    expect(lines[1]).toMatch(/^6\s.*vehicle\s+threat\s+0\.80\s+1\.5s\s+pending \(open\)\s+-\s+[0-9a-f-]{36}$/);
    expect(lines[3]).toContain('2026-03-01 12:03:00');
  });

  it('rejects a bad --since or --limit with exit 2', async () => {
    const cases = [['--since', 'yesterday'], ['--since', '5'], ['--limit', '0'], ['--limit', 'ten']];
    const runs = await Promise.all(cases.map((args) => runEarshotAsync(['-c', config, 'events', 'list', ...args])));
    runs.forEach((r, i) => {
      expect(r.code, cases[i]!.join(' ')).toBe(2);
      expect(r.stderr).toContain(cases[i]![0]);
    });
  });

  it('an unknown --label is exit 2 with a "did you mean"; a known label without events is no error', async () => {
    const [list, exp, unseen] = await Promise.all([
      runEarshotAsync(['-c', config, 'events', 'list', '--label', 'gunshott']),
      runEarshotAsync(['-c', config, 'events', 'export', '--label', 'gunshott']),
      runEarshotAsync(['-c', config, 'events', 'list', '--label', 'frog']),
    ]);
    for (const r of [list, exp]) {
      expect(r.code, r.stdout).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^earshot: --label gunshott: not an alert label \(did you mean gunshot\?\); known labels: gunshot, chainsaw, .*human_voice/);
    }
    expect(unseen.code, unseen.stderr).toBe(0);
    expect(unseen.stdout).toBe('no events match\n');
  });

  it('show by id, id prefix and seq; unknown is exit 66', async () => {
    const gun = events[0]!;
    const byId = await runEarshotAsync(['-c', config, 'events', 'show', gun.id]);
    expect(byId.code, byId.stderr).toBe(0);
    expect(byId.stdout).toContain(`id:           ${gun.id}`);
    expect(byId.stdout).toContain('label:        gunshot (threat)');
    expect(byId.stdout).toMatch(/alert:\s+delivered at /);
    expect(byId.stdout).toMatch(/clip:\s+.*c0\.flac \(flac, 6\.0s, 4321 bytes, FILE MISSING\)/);
    const bySeq = await runEarshotAsync(['-c', config, 'events', 'show', '1', '--json']);
    expect((JSON.parse(bySeq.stdout) as StoredEvent).event).toEqual(gun);
    const last = events[5]!;
    const byPrefix = await runEarshotAsync(['-c', config, 'events', 'show', last.id.slice(0, 20), '--json']);
    expect((JSON.parse(byPrefix.stdout) as StoredEvent).event.id).toBe(last.id);
    const missing = await runEarshotAsync(['-c', config, 'events', 'show', 'ffffffff-0000']);
    expect(missing.code).toBe(66);
    expect(missing.stderr).toMatch(/no such event/);
  });

  it('export --format json: one contract event per line, oldest first', async () => {
    const r = await runEarshotAsync(['-c', config, 'events', 'export', '--format', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines.map((l) => JSON.parse(l))).toEqual(events);
    for (const l of lines) for (const key of Object.keys(JSON.parse(l) as object)) expect(CONTRACT_KEYS.has(key), key).toBe(true);
    // Byte for byte what the alert payload carries.
    expect(lines[1]).toBe(JSON.stringify(events[1]));
    const since = await runEarshotAsync(['-c', config, 'events', 'export', '--since', new Date(T0 + 4 * 60_000).toISOString()]);
    expect(since.stdout.trimEnd().split('\n').map((l) => (JSON.parse(l) as EarshotEvent).seq)).toEqual([5, 6]);
  });

  it('export --format csv: the event CSV header; fields round-trip through an RFC 4180 parse', async () => {
    const r = await runEarshotAsync(['-c', config, 'events', 'export', '--format', 'csv']);
    expect(r.code, r.stderr).toBe(0);
    const { header, rows } = parseCsv(r.stdout);
    expect(header.join(',')).toBe(EVENT_CSV_HEADER);
    expect(rows.map((row) => row.seq)).toEqual(['1', '2', '3', '4', '5', '6']);
    expect(rows[0]).toMatchObject({
      id: events[0]!.id,
      device: 'guardian-07',
      label: 'gunshot',
      category: 'threat',
      confidence: '0.8',
      start: events[0]!.start,
      clockSynced: 'true',
      lat: '-37.8',
      lon: '-73.1',
      clipFormat: 'flac',
      clipDurationMs: '6000',
      topModelLabel: 'Gunshot, gunfire',
      topModelScore: '0.81',
      file: '',
      headName: '',
    });
    expect(JSON.parse(rows[0]!.modelLabels!)).toEqual(events[0]!.modelLabels);
    // modelLabels holds a comma and quotes: quoted, quotes doubled.
    expect(r.stdout.split('\n')[1]).toContain('"[{""label"":""Gunshot, gunfire"",""score"":0.81}]"');
    const bad = await runEarshotAsync(['-c', config, 'events', 'export', '--format', 'xml']);
    expect(bad.code).toBe(2);
  });

  it('export --format csv: a label and a clip path with commas, quotes and a line break come back as they were', async () => {
    const other = makeTempDir('earshot-cli-csv-');
    try {
      const dataDir = path.join(other, 'data');
      const otherConfig = path.join(other, 'config.yaml');
      fs.writeFileSync(otherConfig, `storage:\n  dataDir: ${JSON.stringify(dataDir)}\n`);
      const store = new SqliteStore({ file: path.join(dataDir, 'events.db'), reserveBytes: 0 });
      store.open();
      const label = 'dog, "big"\nbarking';
      const clipPath = path.join(dataDir, 'clips', 'a,"b".flac');
      const e = store.putEvent(makeEvent({ label }));
      store.attachClip(e.id, { path: clipPath, format: 'flac', durationMs: 6000, sha256: 'cd'.repeat(32), bytes: 10 });
      store.close();
      const r = await runEarshotAsync(['-c', otherConfig, 'events', 'export', '--format', 'csv']);
      expect(r.code, r.stderr).toBe(0);
      const { rows } = parseCsv(r.stdout);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ id: e.id, label, clipPath });
    } finally {
      removeTempDir(other);
    }
  });

  it('reads while the agent holds the database open for writing', async () => {
    const store = new SqliteStore({ file: dbFile, reserveBytes: 0 });
    store.open();
    try {
      const added = store.putEvent(makeEvent({ startMs: T0 + 3_600_000, label: 'rain' }));
      const r = await runEarshotAsync(['-c', config, 'events', 'show', String(added.seq), '--json']);
      expect(r.code, r.stderr).toBe(0);
      expect((JSON.parse(r.stdout) as StoredEvent).event.label).toBe('rain');
    } finally {
      store.close();
    }
  });

  it('says plainly when the agent has stored nothing yet (exit 66)', async () => {
    const emptyConfig = path.join(dir, 'empty.yaml');
    const emptyData = path.join(dir, 'nothing-here');
    fs.writeFileSync(emptyConfig, `storage:\n  dataDir: ${JSON.stringify(emptyData)}\n`);
    const subs = [['list'], ['show', '1'], ['export']];
    const runs = await Promise.all(subs.map((sub) => runEarshotAsync(['-c', emptyConfig, 'events', ...sub])));
    runs.forEach((r, i) => {
      expect(r.code, subs[i]!.join(' ')).toBe(66);
      expect(r.stderr).toContain(`the agent has not stored anything yet at ${path.join(emptyData, 'events.db')}`);
    });
    // The configuration can also come from the environment.
    const viaEnv = await runEarshotAsync(['events', 'list'], { env: { EARSHOT_STORAGE_DATA_DIR: emptyData, EARSHOT_CONFIG: emptyConfig } });
    expect(viaEnv.code).toBe(66);
  });
});
