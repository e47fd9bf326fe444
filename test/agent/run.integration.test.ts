/**
 * THE integration test of `earshot run`: the compiled CLI, the real model, a stand-in recorder
 * program (streams a dev recording as raw PCM like arecord would, then dies), a real Mosquitto
 * and a subscriber. Events arrive on the broker; the recorder's deaths show as gaps in health and
 * capture resumes; SIGTERM exits 0 (each stop step is bounded: test/agent/component.test.ts); every detection is in the database and on the broker.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EarshotEvent } from '../../agent/event.js';
import { openEventReader } from '../../agent/store/event-reader.js';
import { databasePath } from '../../agent/store/limits.js';
import { installModel, modelEnv, startAgent, stop, writeAgentConfig } from '../helpers/agent-process.js';
import { runEarshot } from '../helpers/cli.js';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { devCorpusDir, repoRoot } from '../helpers/paths.js';
import { waitFor } from '../helpers/wait-for.js';

const DEVICE = 'run-rig';
let dir: string;
let config: string;
let broker: Mosquitto;

/** The stand-in recorder: decodes a dev recording, writes it as s16le at 32 kHz to stdout, exits 3. */
function writeStandIn(file: string, runs: string): string {
  const script = path.join(dir, 'stand-in-recorder.mjs');
  fs.writeFileSync(
    script,
    `import fs from 'node:fs';
import { loadModelRateAudio } from ${JSON.stringify(path.join(repoRoot, 'build', 'agent', 'audio', 'load-model-rate.js'))};
import { float32ToInt16 } from ${JSON.stringify(path.join(repoRoot, 'build', 'dsp', 'pcm.js'))};
fs.appendFileSync(${JSON.stringify(runs)}, 'run\\n');
const pcm = float32ToInt16(await loadModelRateAudio(${JSON.stringify(file)}, 32000));
process.stdout.write(Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength), () => process.exit(3));
`,
  );
  return script;
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'earshot-run-'));
  broker = await startMosquitto();
  config = path.join(dir, 'config.yaml');
  const runs = path.join(dir, 'runs');
  const standIn = writeStandIn(path.join(devCorpusDir, 'gunshot/belize_gunshot_552.wav'), runs);
  writeAgentConfig(config, { device: DEVICE, dataDir: path.join(dir, 'data'), audio: { recorderCommand: `${process.execPath} ${standIn}` }, brokerUrl: broker.url, healthIntervalSec: 10 });
  installModel(config);
}, 60_000);

afterAll(async () => {
  await broker?.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** waitFor, with the agent's log (and the broker's) in the error. */
const waitOrShow = async (what: string, cond: () => boolean, ms: number, log: () => string) => {
  try {
    await waitFor(cond, ms, what, 100);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${log()}`, { cause: err });
  }
};

describe('earshot run with a stand-in recorder and Mosquitto', () => {
  it('detects, publishes, survives recorder deaths as gaps, and stops on SIGTERM with exit 0', async () => {
    const received = new Map<string, EarshotEvent>();
    const statuses: string[] = [];
    const sub = mqtt.connect(broker.url, { clientId: 'test-subscriber', clean: true });
    await new Promise<void>((resolve, reject) => {
      sub.once('connect', () => sub.subscribe(`earshot/${DEVICE}/#`, { qos: 1 }, (err) => (err ? reject(err) : resolve())));
      sub.once('error', reject);
    });
    sub.on('message', (topic, payload) => {
      if (topic.endsWith('/events')) {
        const e = JSON.parse(payload.toString()) as EarshotEvent;
        received.set(e.id, e);
      } else if (topic.endsWith('/status')) statuses.push((JSON.parse(payload.toString()) as { state: string }).state);
    });

    const agent = startAgent(config);
    const runs = () => (fs.existsSync(path.join(dir, 'runs')) ? fs.readFileSync(path.join(dir, 'runs'), 'utf8').trim().split('\n').length : 0);
    const gunshots = () => [...received.values()].filter((e) => e.label === 'gunshot').length;
    const outboxDrained = () => {
      const reader = openEventReader(databasePath({ dataDir: path.join(dir, 'data') }));
      try {
        return reader.sync.outboxSummary().depth === 0;
      } finally {
        reader.close();
      }
    };
    try {
      // The recorder dies after each pass; it is restarted (1 s, 2 s backoff) and each pass has a shot.
      // A gap is counted when audio is back after a restart, not when the recorder starts again.
      const audioBack = () => (agent.log().match(/"msg":"audio is back"/g) ?? []).length;
      await waitOrShow('three recorder runs, audio back twice and two gunshot events on the broker', () => runs() >= 3 && audioBack() >= 2 && gunshots() >= 2, 40_000, () => agent.log() + broker.log());
      await waitOrShow('the online status', () => statuses.includes('online'), 5_000, agent.log);
    } catch (err) {
      agent.child.kill('SIGKILL');
      throw err;
    }
    // Let every alert enqueued so far reach the broker, then stop.
    await waitOrShow('the outbox to drain', outboxDrained, 10_000, agent.log);
    const { code } = await stop(agent, 60_000);
    await waitOrShow('the offline status', () => statuses.at(-1) === 'offline', 3_000, agent.log);
    sub.end(true);

    expect(code, agent.log()).toBe(0);
    expect(agent.log()).toMatch(/"msg":"audio is back"/);

    const status = runEarshot(['-c', config, 'status'], { env: modelEnv });
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/^agent +not running \(last stopped/m);
    expect(status.stdout).toMatch(/^gaps +[2-9]\d*; last .* recorder exited \(code 3\)/m);
    expect(status.stdout).toMatch(/gunshot 0\.\d\d closed, alert delivered/);
    const list = runEarshot(['-c', config, 'events', 'list', '--json', '--limit', '1000'], { env: modelEnv });
    expect(list.code, list.stderr).toBe(0);
    const stored = (JSON.parse(list.stdout) as { event: EarshotEvent }[]).map((s) => s.event);
    const db = new Database(databasePath({ dataDir: path.join(dir, 'data') }), { readonly: true, fileMustExist: true });
    try {
      expect(stored.filter((e) => e.label === 'gunshot').length).toBeGreaterThanOrEqual(2);
      // Every detection in the database is on the broker, final version included.
      for (const e of stored) {
        expect(received.has(e.id), `event ${e.id} (${e.label}) not on the broker`).toBe(true);
        expect(received.get(e.id)!.end).toBe(e.end);
      }
      for (const e of received.values()) expect(stored.some((s) => s.id === e.id)).toBe(true);
      const gun = stored.find((e) => e.label === 'gunshot')!;
      expect(gun).toMatchObject({ device: DEVICE, category: 'threat', model: { name: 'efficientat-mn04' } });
      expect(gun.confidence).toBeGreaterThanOrEqual(0.5);
      expect(new Date(gun.end).getTime()).toBeGreaterThan(new Date(gun.start).getTime());

      // The recorder's deaths are gaps in the stored health, and capture went on after them.
      const health = (db.prepare('SELECT data FROM health ORDER BY id').all() as { data: string }[]).map((r) => JSON.parse(r.data) as { capture: { gaps: number; samples: number; lastGap?: { reason: string; durationMs: number; samplesBefore: number } } });
      const last = health.at(-1)!;
      expect(last.capture.gaps).toBeGreaterThanOrEqual(2);
      expect(last.capture.lastGap!.reason).toMatch(/recorder exited \(code 3\)/);
      expect(last.capture.lastGap!.durationMs).toBeGreaterThan(500);
      expect(last.capture.samples).toBeGreaterThan(last.capture.lastGap!.samplesBefore);
    } finally {
      db.close();
    }
  }, 90_000);
});
