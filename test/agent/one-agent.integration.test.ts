/**
 * One agent per data folder (issue 13 item 7), with real `earshot run` processes (the compiled CLI,
 * the real model, a file replay): a second agent on the same configuration exits 75 naming the
 * holder's pid and the folder while the first keeps running; the lock of a SIGKILLed agent is
 * recovered by the next one, which says so, and removed when that one stops.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCK_FILE } from '../../agent/system/data-lock.js';
import { runEarshot } from '../helpers/cli.js';
import { cliPath, devCorpusDir, sharedModelsDir } from '../helpers/paths.js';
import { waitFor } from '../helpers/wait-for.js';

let dir: string;
let config: string;
let dataDir: string;
const env = { EARSHOT_MODEL_MIRROR: sharedModelsDir };
const children: ChildProcess[] = [];

interface Agent {
  child: ChildProcess;
  log: () => string;
  exited: Promise<number | null>;
}

function startAgent(): Agent {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('EARSHOT_')));
  const child = spawn(process.execPath, [cliPath, '-c', config, 'run'], { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, log: () => out, exited };
}

const listening = (a: Agent) => waitFor(() => /"msg":"listening"/.test(a.log()), 30_000, `the agent to listen\n${a.log()}`, 50);

beforeAll(() => {
  if (!fs.existsSync(cliPath)) throw new Error(`${cliPath} missing: run \`npm run build\` first`);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'earshot-one-agent-'));
  dataDir = path.join(dir, 'data');
  config = path.join(dir, 'config.yaml');
  fs.writeFileSync(
    config,
    [
      'device:\n  id: lock-rig',
      `storage:\n  dataDir: ${JSON.stringify(dataDir)}`,
      `audio:\n  source: file\n  file: ${JSON.stringify(path.join(devCorpusDir, 'gunshot/belize_gunshot_0.wav'))}\n  loop: true\n  realtime: true`,
      'mqtt:\n  enabled: false',
      'log:\n  format: json\n  level: info',
      '',
    ].join('\n'),
  );
  const r = runEarshot(['-c', config, 'models', 'install'], { env });
  expect(r.code, r.stderr).toBe(0);
}, 60_000);

afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('one agent per data folder (real earshot run processes)', () => {
  it('refuses a second agent with exit 75 naming the holder, and recovers the lock of a SIGKILLed agent', async () => {
    const first = startAgent();
    await listening(first);

    const second = startAgent();
    const code = await Promise.race([second.exited, new Promise<'still running'>((r) => setTimeout(() => r('still running'), 30_000))]);
    expect(code, second.log()).toBe(75);
    expect(second.log()).toContain(`earshot: data folder ${dataDir} is in use by another Earshot agent (pid ${first.child.pid}`);
    // The first one never noticed: still running, still holding the folder.
    expect(first.child.exitCode).toBeNull();
    expect(first.log()).not.toMatch(/"level":(50|60)/);
    expect(JSON.parse(fs.readFileSync(path.join(dataDir, LOCK_FILE), 'utf8'))).toMatchObject({ pid: first.child.pid });

    // A crash: the lock stays behind, naming a pid that is gone.
    first.child.kill('SIGKILL');
    await first.exited;
    expect(JSON.parse(fs.readFileSync(path.join(dataDir, LOCK_FILE), 'utf8'))).toMatchObject({ pid: first.child.pid });

    const third = startAgent();
    await listening(third);
    expect(third.log()).toContain(`recovered a stale lock: pid ${first.child.pid}`);
    third.child.kill('SIGTERM');
    expect(await third.exited, third.log()).toBe(0);
    expect(fs.existsSync(path.join(dataDir, LOCK_FILE))).toBe(false);
  }, 120_000);
});
