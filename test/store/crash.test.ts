/**
 * Power-loss style crash test: a child process writes events through the compiled store as fast
 * as it can and is SIGKILLed at random moments, many times over the same database. After every
 * kill the database must pass integrity_check, every write the child logged (after commit) must
 * be there, and seq must be unique and strictly increasing in the order events were written.
 *
 * SIGKILL tests process death (no chance to flush or close); an OS crash or power cut also
 * loses the page cache, which synchronous=FULL covers by syncing the WAL on every commit.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/paths.js';
import { makeTempDir, removeTempDir } from './helpers.js';

const CHILD = path.join(repoRoot, 'test', 'store', 'fixtures', 'crash-writer.mjs');
const COMPILED_STORE = path.join(repoRoot, 'build', 'agent', 'store', 'sqlite-store.js');
const KILLS = 60;

interface RunLog {
  opened: { id: string; seq: number }[];
  queued: string[];
  closed: string[];
  acked: number[];
  ready: boolean;
  stderr: string;
}

/** Starts the writer, kills it after `delayMs` (from spawn, or from 'ready' when `afterReady`), returns its complete log lines. */
function runAndKill(file: string, delayMs: number, afterReady: boolean): Promise<RunLog> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    const kill = () => child.kill('SIGKILL');
    if (!afterReady) timer = setTimeout(kill, delayMs);
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (afterReady && timer === undefined && out.includes('ready\n')) timer = setTimeout(kill, delayMs);
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (signal !== 'SIGKILL') {
        reject(new Error(`writer exited by itself (code ${String(code)}): ${stderr}`));
        return;
      }
      const log: RunLog = { opened: [], queued: [], closed: [], acked: [], ready: false, stderr };
      // Only complete lines count: a line cut by the kill was not fully written.
      for (const line of out.split('\n').slice(0, -1)) {
        const [kind, a, b] = line.split(' ');
        if (kind === 'ready') log.ready = true;
        else if (kind === 'open') log.opened.push({ id: a!, seq: Number(b) });
        else if (kind === 'queued') log.queued.push(a!);
        else if (kind === 'closed') log.closed.push(a!);
        else if (kind === 'acked') log.acked.push(Number(a));
      }
      resolve(log);
    });
  });
}

describe('store survives SIGKILL at random moments', () => {
  let dir: string;
  beforeAll(() => {
    if (!fs.existsSync(COMPILED_STORE)) throw new Error(`${COMPILED_STORE} missing: run \`npm run build\` (or npx tsc -p tsconfig.build.json) first`);
    dir = makeTempDir('earshot-crash-');
  });
  afterAll(() => removeTempDir(dir));

  it(`keeps every committed write across ${KILLS} kills`, async () => {
    const file = path.join(dir, 'events.db');
    const loggedSeqs: number[] = [];
    const allOpened = new Map<string, number>();
    const allClosed = new Set<string>();
    const allQueued = new Set<string>();
    const allAcked = new Set<number>();
    let killsWhileWriting = 0;
    const started = Date.now();

    for (let run = 0; run < KILLS; run++) {
      // Mostly kill mid-writing; one run in five at a random moment of start-up (open, migrate, check).
      const afterReady = run % 5 !== 0;
      const delay = afterReady ? Math.floor(Math.random() * 80) : Math.floor(Math.random() * 200);
      const log = await runAndKill(file, delay, afterReady);
      if (log.opened.length > 0) killsWhileWriting++;
      for (const o of log.opened) {
        allOpened.set(o.id, o.seq);
        loggedSeqs.push(o.seq);
      }
      log.closed.forEach((id) => allClosed.add(id));
      log.queued.forEach((id) => allQueued.add(id));
      log.acked.forEach((id) => allAcked.add(id));

      // Check with a plain connection (not the store, which would repair): WAL recovery happens on open.
      if (!fs.existsSync(file)) continue;
      const db = new Database(file);
      try {
        expect(db.pragma('integrity_check', { simple: true }), `run ${run}`).toBe('ok');
        if ((db.pragma('user_version', { simple: true }) as number) === 0) continue;
        const rows = db.prepare('SELECT id, seq, state, alert FROM events ORDER BY rowid').all() as { id: string; seq: number; state: string; alert: string }[];
        const byId = new Map(rows.map((r) => [r.id, r]));
        for (const [id, seq] of allOpened) expect(byId.get(id)?.seq, `run ${run}: event ${id} (seq ${seq}) was logged but is missing`).toBe(seq);
        for (const id of allClosed) expect(byId.get(id)?.state, `run ${run}: event ${id} was closed`).toBe('closed');
        const outboxEvents = new Set(db.prepare('SELECT event_id FROM outbox WHERE event_id IS NOT NULL').pluck().all() as string[]);
        for (const id of new Set([...allQueued, ...allClosed])) {
          const r = byId.get(id)!;
          expect(['queued', 'delivered'], `run ${run}: alert of ${id}`).toContain(r.alert);
          if (r.alert === 'queued') expect(outboxEvents.has(id), `run ${run}: outbox row of ${id}`).toBe(true);
        }
        const outboxIds = new Set(db.prepare('SELECT id FROM outbox').pluck().all() as number[]);
        for (const id of allAcked) expect(outboxIds.has(id), `run ${run}: acked message ${id} still in the outbox`).toBe(false);
        const seqs = rows.map((r) => r.seq);
        for (let i = 1; i < seqs.length; i++) expect(seqs[i]!, `run ${run}: seq order at row ${i}`).toBeGreaterThan(seqs[i - 1]!);
        const counter = Number(db.prepare("SELECT value FROM state WHERE key = 'seq'").pluck().get() ?? 0);
        expect(counter).toBeGreaterThanOrEqual(seqs.at(-1) ?? 0);
      } finally {
        db.close();
      }
    }

    // Seq as the child saw it, across all runs: strictly increasing, hence no duplicates.
    for (let i = 1; i < loggedSeqs.length; i++) expect(loggedSeqs[i]!).toBeGreaterThan(loggedSeqs[i - 1]!);
    expect(killsWhileWriting).toBeGreaterThanOrEqual(KILLS / 2);
    expect(allOpened.size).toBeGreaterThanOrEqual(KILLS / 2);
    // The agent never saw damage: nothing was moved aside.
    expect(fs.readdirSync(dir).filter((f) => f.includes('.corrupt-'))).toEqual([]);
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    console.log(`crash test: ${KILLS} kills (${killsWhileWriting} while writing), ${allOpened.size} events logged, ${seconds}s`);
  });
});
