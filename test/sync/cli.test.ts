/** `earshot sync status|now` and `earshot alerts tail`, run as a user would (build first). */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../agent/store/sqlite-store.js';
import { LINK_STATE_KEY, parseLinkState } from '../../agent/sync/link-state.js';
import { SyncService } from '../../agent/sync/sync-service.js';
import { runEarshot } from '../helpers/cli.js';
import { freePort, startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { cliPath } from '../helpers/paths.js';
import { DEVICE, EVENTS_TOPIC, Subscriber, makeEvent, queueEvents, tempDir, testConfig, waitFor } from './helpers.js';

function writeConfig(dir: string, url: string): string {
  const file = path.join(dir, 'config.yaml');
  fs.writeFileSync(file, `device:\n  id: ${DEVICE}\nstorage:\n  dataDir: ${dir}\nmqtt:\n  url: ${url}\n  reconnectMinSec: 0.2\n  reconnectMaxSec: 0.5\n`);
  return file;
}

function withStore<T>(dir: string, fn: (s: SqliteStore) => T): T {
  const store = new SqliteStore({ file: path.join(dir, 'events.db') });
  store.open();
  try {
    return fn(store);
  } finally {
    store.close();
  }
}

describe('earshot sync / alerts CLI', () => {
  let broker: Mosquitto;
  beforeAll(async () => {
    expect(fs.existsSync(cliPath), `${cliPath} missing: build first (npx tsc -p tsconfig.build.json)`).toBe(true);
    broker = await startMosquitto();
  });
  afterAll(() => broker.dispose());

  it('sync now exits 69 naming the URL when the broker is unreachable', async () => {
    const dir = tempDir();
    const port = await freePort();
    const config = writeConfig(dir, `mqtt://127.0.0.1:${port}`);
    withStore(dir, (s) => queueEvents(s, 2));
    const t0 = Date.now();
    const r = runEarshot(['--config', config, 'sync', 'now', '--timeout', '1.5']);
    expect(r.code).toBe(69);
    expect(r.stderr).toContain(`earshot: broker unreachable: mqtt://127.0.0.1:${port}: connection refused`);
    expect(r.stderr).toMatch(/\(retrying\)/);
    expect(Date.now() - t0).toBeLessThan(15_000);
    withStore(dir, (s) => expect(s.storeHealth().outbox).toMatchObject({ depth: 2, leased: 0 }));
  });

  it('sync now drains the outbox over a short-lived connection and says what it did', async () => {
    const dir = tempDir();
    const config = writeConfig(dir, broker.url);
    withStore(dir, (s) => queueEvents(s, 30));
    const sub = await new Subscriber().connect(broker.url, [EVENTS_TOPIC]);
    try {
      const r = runEarshot(['--config', config, 'sync', 'now']);
      expect(r.stderr).toContain('(30 messages in the outbox)');
      expect(r.stdout).toBe(`sent 30 messages to ${broker.url}; the outbox is empty\n`);
      expect(r.code).toBe(0);
      await sub.until(() => sub.on(EVENTS_TOPIC).length >= 30, 5000, '30 events');
      expect(new Set(sub.on(EVENTS_TOPIC).map((m) => m.payload.id)).size).toBe(30);
      const again = runEarshot(['--config', config, 'sync', 'now']);
      expect(again.stdout).toBe(`sent 0 messages to ${broker.url}; the outbox is empty\n`);
    } finally {
      await sub.close();
    }
  });

  it('sync status reports the link, the queue per priority, the oldest message, the last ack and the last error', async () => {
    const dir = tempDir();
    const port = await freePort();
    const config = writeConfig(dir, `mqtt://127.0.0.1:${port}`);
    const store = new SqliteStore({ file: path.join(dir, 'events.db') });
    store.open();
    store.putEvent(makeEvent(0, 0), { alert: { topic: EVENTS_TOPIC } });
    store.putEvent(makeEvent(1, 1), { alert: { topic: EVENTS_TOPIC } });
    store.putEvent(makeEvent(2, 2), { alert: { topic: EVENTS_TOPIC } });
    const sync = new SyncService({ config: testConfig(dir, { url: `mqtt://127.0.0.1:${port}` }), configFile: config, store, version: 't' });
    sync.start();
    try {
      await waitFor(() => (parseLinkState(store.getState(LINK_STATE_KEY))?.failedAttempts ?? 0) >= 1, 5000, 'a failed attempt');
      const json = runEarshot(['--config', config, 'sync', 'status', '--json']);
      expect(json.code).toBe(0);
      const s = JSON.parse(json.stdout) as Record<string, unknown> & { queue: { depth: number; byPriority: Record<string, { depth: number }> } };
      expect(s).toMatchObject({ broker: `mqtt://127.0.0.1:${port}`, connected: false, agentRunning: true, lastAckAt: null });
      expect(s.queue.depth).toBe(3);
      expect(Object.fromEntries(Object.entries(s.queue.byPriority).map(([k, v]) => [k, v.depth]))).toEqual({ threat: 1, events: 2, health: 0 });
      expect(String(s.lastError)).toContain(`mqtt://127.0.0.1:${port}: connection refused`);

      const text = runEarshot(['--config', config, 'sync', 'status']);
      expect(text.stdout).toMatch(new RegExp(`^broker +mqtt://127\\.0\\.0\\.1:${port}: NOT connected since `, 'm'));
      expect(text.stdout).toMatch(/^queue +3 waiting: threat 1, events 2, health 0$/m);
      expect(text.stdout).toMatch(/^oldest +\d{4}-\d\d-\d\dT/m);
      expect(text.stdout).toMatch(/^last ack +never$/m);
      expect(text.stdout).toMatch(/^last error +.*connection refused/m);
    } finally {
      await sync.stop();
    }
    // A record left by an agent that is gone reads as such.
    store.setState(LINK_STATE_KEY, JSON.stringify({ ...parseLinkState(store.getState(LINK_STATE_KEY)), connected: true, pid: 2 ** 22 + 12345 }));
    store.close();
    const gone = runEarshot(['--config', config, 'sync', 'status']);
    expect(gone.stdout).toMatch(/agent not running \(pid \d+ gone; it was connected at /);
  });

  /** Runs `alerts tail` with `args`, publishes `payloads` once it has subscribed, and returns its output when it exits. */
  async function tail(args: string[], payloads: object[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const child = spawn(process.execPath, [cliPath, 'alerts', 'tail', '--url', broker.url, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      await waitFor(() => stderr.includes('subscribed to'), 10_000, 'the tail to subscribe');
      const pub = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
      // One publisher, QoS 1: the tail receives them in this order.
      for (const p of payloads) await pub.publishAsync(`earshot/${DEVICE}/events`, JSON.stringify(p), { qos: 1 });
      await pub.endAsync();
      return { code: await exited, stdout, stderr };
    } finally {
      child.kill();
    }
  }

  it('alerts tail prints each alert once (deduplicated by id) as JSON lines, then exits after --count', async () => {
    const events = [0, 1, 2].map((i) => ({ ...makeEvent(i), seq: i + 1 }));
    const r = await tail(['--device', '+', '--json', '--count', '3'], [events[0], events[0], events[1], { not: 'an event' }, events[0], events[2]]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { id: string });
    expect(lines.map((l) => l.id)).toEqual(events.map((e) => e.id));
    expect(r.stderr).toContain('skipped a message: earshot/guardian-07/events: event without an id');
    expect(r.stderr).toMatch(/3 alerts, 0 updates, 2 duplicates or older revisions skipped/);
  });

  /** An event as the device publishes it when it opens (rev 1) and again when it closes (rev 2). */
  function revisions(i: number) {
    const base = { ...makeEvent(i, 0), seq: 50 + i };
    const rev1 = { ...base, confidence: 0.57, end: base.start, state: 'open', rev: 1 };
    const rev2 = { ...base, confidence: 0.94, end: new Date(Date.parse(base.start) + 30_800).toISOString(), state: 'closed', rev: 2, clip: { path: '/c.flac', format: 'flac', durationMs: 35_800, sha256: 'cd'.repeat(32) } };
    return { rev1, rev2 };
  }

  it('alerts tail shows an update (higher rev) of an earlier alert, and never an older rev after a newer one', async () => {
    const a = revisions(0);
    const b = revisions(1);
    // a: rev 1, its duplicate, rev 2, then rev 1 again (a late resend); b: rev 2 first, then its rev 1; a's rev 2 again.
    const last = { ...makeEvent(9), seq: 99 };
    const r = await tail(['--device', DEVICE, '--count', '4'], [a.rev1, a.rev1, a.rev2, a.rev1, b.rev2, b.rev1, a.rev2, last]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[3]).toContain(`seq 99  id ${last.id}`);
    expect(lines[0]).toMatch(new RegExp(`^2026-03-01 12:00:00Z {2}guardian-07 {2}THREAT {4}gunshot {7}0\\.57 {2}seq 50 {2}id ${a.rev1.id} {2}open$`));
    expect(lines[1]).toMatch(new RegExp(`^2026-03-01 12:00:00Z {2}guardian-07 {2}THREAT {4}gunshot {7}0\\.94 {2}seq 50 {2}id ${a.rev1.id} {2}closed 30\\.8s \\[clip flac 35\\.8s\\] {2}\\(update rev 2; confidence was 0\\.57\\)$`));
    // b was first heard at rev 2: a new alert, already closed; its late rev 1 is not shown.
    expect(lines[2]).toMatch(new RegExp(`id ${b.rev2.id} {2}closed 30\\.8s \\[clip flac 35\\.8s\\]$`));
    expect(r.stderr, r.stdout).toMatch(/3 alerts, 1 update, 4 duplicates or older revisions skipped/);
    expect(r.stderr).not.toContain('retrying');
  });

  it('alerts tail --json passes every revision through once, in the order of rev', async () => {
    const a = revisions(2);
    const r = await tail(['--device', DEVICE, '--json', '--count', '2'], [a.rev1, a.rev2, a.rev1, a.rev2, { ...makeEvent(9), seq: 99 }]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toEqual([a.rev1, a.rev2]);
  });

  it('alerts tail prints readable text by default, and refuses a URL that is not MQTT', async () => {
    const child = spawn(process.execPath, [cliPath, 'alerts', 'tail', '--url', broker.url, '--device', DEVICE, '--count', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    await waitFor(() => stderr.includes('subscribed to'), 10_000, 'the tail to subscribe');
    const pub = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
    await pub.publishAsync(`earshot/${DEVICE}/events`, JSON.stringify({ ...makeEvent(0), seq: 41 }), { qos: 1 });
    await pub.endAsync();
    expect(await exited).toBe(0);
    expect(stdout).toMatch(/^2026-03-01 12:00:00Z {2}guardian-07 {2}THREAT {4}gunshot {7}0\.90 {2}seq 41 {2}id [0-9a-f-]{36}\n$/);

    const bad = runEarshot(['alerts', 'tail', '--url', 'http://broker.example']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--url http://broker.example: expected an mqtt://, mqtts://, ws:// or wss:// URL');
  });
});
