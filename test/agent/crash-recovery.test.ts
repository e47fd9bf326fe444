/**
 * Nothing left open by a crash is lost (issue 13 item 6), with the real agent: the compiled CLI,
 * the real model, a stand-in recorder streaming gunshots and speech in real time, a real
 * Mosquitto and a subscriber. The agent is SIGKILLed again and again just after it logged "event
 * opened" (an event open in the database, a threat's first version maybe queued or in flight),
 * restarted each time, then stopped cleanly; `earshot sync now` drains what the last stop queued.
 *
 * Then every event of the database must be on the broker in its final version: state "closed",
 * the highest `rev` the device gave it, the stored end and confidence; no event stays open or
 * undelivered (`earshot events list --undelivered`). Before the fix an event open at the kill
 * stayed "open, alert pending" forever with no outbox row.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EarshotEvent } from '../../agent/event.js';
import type { StoredEvent } from '../../agent/store/types.js';
import { installModel, modelEnv, startAgent, stop, writeAgentConfig } from '../helpers/agent-process.js';
import { runEarshot } from '../helpers/cli.js';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { devCorpusDir, repoRoot } from '../helpers/paths.js';
import { waitFor } from '../helpers/wait-for.js';

const DEVICE = 'crash-rig';
/** Kills, and how long after the "event opened" line each one comes (ms): varied, not timed. */
const KILL_DELAYS_MS = [0, 300, 100, 700, 50, 1000, 200, 500];
const RECORDINGS = ['gunshot/belize_gunshot_552.wav', 'speech/librispeech_trainclean_32-21625-0000.flac', 'gunshot/us8k_122690-6-0-0.wav'];

let dir: string;
let config: string;
let broker: Mosquitto;

/**
 * The stand-in recorder: the recordings one after another, looped, written as s16le at 32 kHz in
 * real time (like arecord). Each run starts 7 s further into the loop so the kills hit different
 * events (gunshots, speech). It exits when the agent is gone (EPIPE) or when it stops reading.
 */
function writeStandIn(runs: string): string {
  const script = path.join(dir, 'stand-in-recorder.mjs');
  const files = RECORDINGS.map((f) => path.join(devCorpusDir, f));
  fs.writeFileSync(
    script,
    `import fs from 'node:fs';
import { loadModelRateAudio } from ${JSON.stringify(path.join(repoRoot, 'build', 'agent', 'audio', 'load-model-rate.js'))};
import { float32ToInt16 } from ${JSON.stringify(path.join(repoRoot, 'build', 'dsp', 'pcm.js'))};
const RATE = 32000;
const parts = [];
for (const f of ${JSON.stringify(files)}) parts.push(float32ToInt16(await loadModelRateAudio(f, RATE)));
const total = parts.reduce((n, p) => n + p.length, 0);
const all = new Int16Array(total);
let at = 0;
for (const p of parts) { all.set(p, at); at += p.length; }
const previous = fs.existsSync(${JSON.stringify(runs)}) ? fs.readFileSync(${JSON.stringify(runs)}, 'utf8').split('\\n').length - 1 : 0;
fs.appendFileSync(${JSON.stringify(runs)}, 'run\\n');
let pos = (previous * 7 * RATE) % total;
const CHUNK = RATE / 10;
process.stdout.on('error', () => process.exit(0));
const started = Date.now();
let sent = 0;
const tick = () => {
  // Real time: as many samples as the wall clock says, in 100 ms chunks.
  while (sent < ((Date.now() - started) / 1000) * RATE + CHUNK) {
    const chunk = new Int16Array(CHUNK);
    for (let i = 0; i < CHUNK; i++) { chunk[i] = all[pos]; pos = (pos + 1) % total; }
    sent += CHUNK;
    process.stdout.write(Buffer.from(chunk.buffer));
  }
  setTimeout(tick, 50);
};
tick();
`,
  );
  return script;
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'earshot-crash-'));
  broker = await startMosquitto();
  config = path.join(dir, 'config.yaml');
  const standIn = writeStandIn(path.join(dir, 'runs'));
  writeAgentConfig(config, { device: DEVICE, dataDir: path.join(dir, 'data'), audio: { recorderCommand: `${process.execPath} ${standIn}` }, brokerUrl: broker.url });
  installModel(config);
}, 60_000);

afterAll(async () => {
  await broker?.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
});

const count = (log: string, msg: string) => log.split('\n').filter((l) => l.includes(`"msg":"${msg}"`)).length;

describe('earshot run killed repeatedly mid-stream', () => {
  it('delivers the final (closed) version of every stored event, and leaves nothing open or undelivered', async () => {
    /** The highest rev of every event id the broker delivered. */
    const received = new Map<string, EarshotEvent>();
    const sub = mqtt.connect(broker.url, { clientId: 'crash-subscriber', clean: true });
    await new Promise<void>((resolve, reject) => {
      sub.once('connect', () => sub.subscribe(`earshot/${DEVICE}/events`, { qos: 1 }, (err) => (err ? reject(err) : resolve())));
      sub.once('error', reject);
    });
    sub.on('message', (_topic, payload) => {
      const e = JSON.parse(payload.toString()) as EarshotEvent;
      const had = received.get(e.id);
      if (!had || (e.rev ?? 0) > (had.rev ?? 0)) received.set(e.id, e);
    });

    const logs: string[] = [];
    for (const delay of KILL_DELAYS_MS) {
      const run = startAgent(config);
      try {
        await waitFor(() => count(run.log(), 'event opened') >= 1, 30_000, 'an "event opened" line');
      } catch (err) {
        run.child.kill('SIGKILL');
        throw new Error(`${(err as Error).message}\n${run.log()}`, { cause: err });
      }
      if (delay > 0) await new Promise((r) => setTimeout(r, delay));
      run.child.kill('SIGKILL');
      expect((await run.exited).signal).toBe('SIGKILL');
      logs.push(run.log());
    }

    // A last run, stopped cleanly: it closes what it has open and what the kills left.
    const last = startAgent(config);
    await waitFor(() => count(last.log(), 'event closed') >= 1, 30_000, 'an "event closed" line in the last run').catch((err: Error) => {
      last.child.kill('SIGKILL');
      throw new Error(`${err.message}\n${last.log()}`, { cause: err });
    });
    expect((await stop(last, 60_000)).code, last.log()).toBe(0);
    logs.push(last.log());

    // What the clean stop queued after the link closed goes now.
    const drained = runEarshot(['-c', config, 'sync', 'now', '--timeout', '10'], { env: modelEnv });
    expect(drained.code, drained.stderr).toBe(0);
    expect(drained.stdout).toMatch(/the outbox is empty/);

    const list = runEarshot(['-c', config, 'events', 'list', '--json', '--limit', '10000'], { env: modelEnv });
    expect(list.code, list.stderr).toBe(0);
    const stored = JSON.parse(list.stdout) as StoredEvent[];
    expect(stored.length).toBeGreaterThanOrEqual(KILL_DELAYS_MS.length);
    expect(stored.some((s) => s.event.category === 'threat')).toBe(true);
    expect(stored.some((s) => s.event.category !== 'threat')).toBe(true);
    // The broker gets the last PUBACKed message before the subscriber does: wait for it to arrive.
    await waitFor(() => stored.every((s) => received.get(s.event.id)?.rev === s.rev), 5_000, 'the final rev of every stored event at the subscriber').catch(() => undefined);
    sub.end(true);
    for (const s of stored) {
      const got = received.get(s.event.id);
      expect(got, `event ${s.event.id} (${s.event.label}, ${s.state}, alert ${s.alert}) never reached the broker`).toBeDefined();
      expect(s.state, `event ${s.event.id} left open`).toBe('closed');
      expect(got, `event ${s.event.id}: the broker has an older version`).toMatchObject({ state: 'closed', rev: s.rev, end: s.event.end, confidence: s.event.confidence });
    }
    for (const id of received.keys()) expect(stored.some((s) => s.event.id === id), `event ${id} on the broker, not in the database`).toBe(true);

    // Restarts (not only the clean stop) found what the kills left open and closed it.
    const recovered = logs.flatMap((l) => l.split('\n')).filter((l) => l.includes('"msg":"closed events a dead process left open"'));
    expect(recovered.length, logs.join('\n---\n').slice(-4000)).toBeGreaterThan(0);

    const undelivered = runEarshot(['-c', config, 'events', 'list', '--undelivered', '--json'], { env: modelEnv });
    expect(undelivered.code, undelivered.stderr).toBe(0);
    expect(JSON.parse(undelivered.stdout)).toEqual([]);
  }, 120_000);
});
