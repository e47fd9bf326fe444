/**
 * `npm start` (build/scripts/start-demo.js) says where its configuration and data are and the
 * exact commands to look at them; the printed `events list` command, run as printed, finds the
 * events the demo stored (a bare `earshot events list` reads /var/lib/earshot instead).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devCorpusDir, repoRoot, sharedModelsDir } from '../helpers/paths.js';
import { waitFor } from '../helpers/wait-for.js';

let dir: string;
let demo: ChildProcess | undefined;
let stderr = '';

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'earshot-demo-'));
  const config = path.join(dir, 'demo.yaml');
  const recording = path.join(devCorpusDir, 'gunshot', 'belize_gunshot_552.wav');
  fs.writeFileSync(config, JSON.stringify({ device: { id: 'demo-test' }, storage: { dataDir: path.join(dir, 'data') }, audio: { source: 'file', file: recording, realtime: false, loop: true }, mqtt: { enabled: false } }));
  // EARSHOT_CONFIG: the demo leaves the checkout's own .earshot/ alone.
  demo = spawn(process.execPath, [path.join(repoRoot, 'build', 'scripts', 'start-demo.js')], {
    cwd: repoRoot,
    env: { ...process.env, EARSHOT_CONFIG: config, EARSHOT_MODEL_MIRROR: sharedModelsDir, EARSHOT_MQTT_URL: '' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  demo.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
});

afterAll(async () => {
  if (demo && demo.exitCode === null && demo.signalCode === null) {
    const exited = new Promise((r) => demo!.once('exit', r));
    demo.kill('SIGTERM');
    await exited;
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('npm start', () => {
  it('prints its configuration, data folder and the commands that look at them; the printed events list finds its events', async () => {
    await waitFor(() => /events list\n/.test(stderr), 30_000, 'the guide on stderr');
    const config = path.join(dir, 'demo.yaml');
    expect(stderr).toContain(`npm start: configuration ${config}; data (database, clips, model) in ${path.join(dir, 'data')}\n`);
    const commands = [...stderr.matchAll(/^ {4}(npx earshot .*)$/gm)].map((m) => m[1]!);
    expect(commands).toEqual([`npx earshot --config ${config} events list`, `npx earshot --config ${config} status`, `npx earshot --config ${config} doctor`]);
    // Printed once, before anything else.
    expect(stderr.startsWith('npm start: configuration')).toBe(true);

    await waitFor(() => /"event (opened|closed)"/.test(stderr), 60_000, 'the demo to store an event');
    const list = spawnSync('sh', ['-c', commands[0]!], { cwd: repoRoot, encoding: 'utf8', timeout: 60_000 });
    expect(list.status, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/gunshot/);
    expect(list.stderr).not.toMatch(/npm warn/);
  }, 120_000);
});
