/**
 * `earshot run` with the real recorder program: arecord (alsa-utils) reading ALSA's "null"
 * capture device, which needs no sound card. It is not paced like a microphone (arecord delivers
 * as fast as the agent reads), so this checks the command line, the raw PCM framing, the level
 * and the stop path — arecord exits 1 on SIGTERM, which must not count as a gap or fail the stop —
 * not timing.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databasePath } from '../../agent/store/limits.js';
import { runEarshot } from '../helpers/cli.js';
import { cliPath, sharedModelsDir } from '../helpers/paths.js';

let dir: string;
let config: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'earshot-arecord-'));
  config = path.join(dir, 'config.yaml');
  fs.writeFileSync(
    config,
    [`storage:\n  dataDir: ${path.join(dir, 'data')}`, 'audio:\n  recorder: arecord\n  device: "null"\n  sampleRate: 32000', 'mqtt:\n  enabled: false', 'log:\n  format: json', ''].join('\n'),
  );
  const r = runEarshot(['-c', config, 'models', 'install'], { env: { EARSHOT_MODEL_MIRROR: sharedModelsDir } });
  expect(r.code, r.stderr).toBe(0);
}, 60_000);

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('earshot run with arecord on the ALSA null device', () => {
  it('captures raw PCM through arecord and stops on SIGTERM with exit 0 and no gap', async () => {
    const agent = spawn(process.execPath, [cliPath, '-c', config, 'run'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    agent.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((resolve) => agent.on('exit', (code) => resolve(code)));

    const deadline = Date.now() + 30_000;
    while (!/"msg":"listening"/.test(stderr)) {
      if (Date.now() > deadline || agent.exitCode !== null) throw new Error(`agent did not start listening:\n${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(stderr).toContain('arecord -q -D null -f S16_LE -t raw -c 1 -r 32000');
    await new Promise((r) => setTimeout(r, 2000));

    const t0 = Date.now();
    agent.kill('SIGTERM');
    expect(await exited, stderr).toBe(0);
    expect(Date.now() - t0).toBeLessThan(5000);

    const db = new Database(databasePath({ dataDir: path.join(dir, 'data') }), { readonly: true });
    try {
      const last = JSON.parse((db.prepare('SELECT data FROM health ORDER BY id DESC LIMIT 1').get() as { data: string }).data) as {
        capture: { description: string; samples: number; gaps: number };
        pipeline: { windowsScored: number };
      };
      expect(last.capture.description).toMatch(/^arecord /);
      expect(last.capture.samples).toBeGreaterThan(32000); // more than a second of PCM came through
      expect(last.capture.gaps).toBe(0); // arecord's exit 1 on our SIGTERM is a stop, not a gap
      expect(last.pipeline.windowsScored).toBeGreaterThan(0);
    } finally {
      db.close();
    }
    expect(stderr).not.toMatch(/"level":(50|60)/); // no error or fatal log line
  }, 60_000);
});
