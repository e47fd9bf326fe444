/**
 * The real agent as a test runs it: a configuration (a replayed recording or a stand-in recorder,
 * a broker, JSON logs), the model installed from ../shared, and the compiled CLI spawned as a
 * long-running child (`earshot run`, or any other long-running command such as `earshot console`)
 * with its output collected and a bounded stop. Build first (`npm run build`): it spawns
 * build/agent/cli.js.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { runEarshot } from './cli.js';
import { cliPath, sharedModelsDir } from './paths.js';

/** The environment every earshot child gets in these tests: models come from ../shared. */
export const modelEnv = { EARSHOT_MODEL_MIRROR: sharedModelsDir };

export interface AgentConfig {
  device: string;
  location?: { lat: number; lon: number };
  dataDir: string;
  /**
   * Where the audio comes from: a recording replayed as fast as the model goes (`file`), or a
   * recorder command writing s16le at 32 kHz to stdout, like arecord (`recorderCommand`).
   */
  audio: { file: string } | { recorderCommand: string };
  brokerUrl: string;
  healthIntervalSec?: number;
}

/** Writes the agent's configuration file (wav clips, a quick reconnect, JSON logs at info). */
export function writeAgentConfig(file: string, c: AgentConfig): void {
  const location = c.location ? `\n  location:\n    lat: ${c.location.lat}\n    lon: ${c.location.lon}` : '';
  const audio =
    'file' in c.audio
      ? `audio:\n  source: file\n  file: ${JSON.stringify(c.audio.file)}\n  realtime: false\n  loop: false`
      : `audio:\n  source: alsa\n  sampleRate: 32000\n  recorderCommand: ${JSON.stringify(c.audio.recorderCommand)}`;
  fs.writeFileSync(
    file,
    [
      `device:\n  id: ${c.device}${location}`,
      `storage:\n  dataDir: ${c.dataDir}\n  clipFormat: wav`,
      audio,
      `mqtt:\n  url: ${c.brokerUrl}\n  reconnectMinSec: 0.2\n  reconnectMaxSec: 1`,
      ...(c.healthIntervalSec === undefined ? [] : [`health:\n  intervalSec: ${c.healthIntervalSec}`]),
      `log:\n  format: json\n  level: info`,
      '',
    ].join('\n'),
  );
}

/** `earshot models install` for that configuration (from the shared mirror); throws with its stderr if it fails. */
export function installModel(config: string): void {
  const r = runEarshot(['-c', config, 'models', 'install'], { env: modelEnv });
  if (r.code !== 0) throw new Error(`earshot models install exited ${r.code}\n${r.stderr}`);
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface EarshotProcess {
  child: ChildProcess;
  /** Everything it wrote so far (stdout and stderr, in arrival order; the agent logs to stderr). */
  log: () => string;
  exited: Promise<Exit>;
}

/** The compiled CLI as a long-running child, with a clean EARSHOT_* environment (as runEarshot) and no systemd notify socket. */
export function spawnEarshot(args: string[]): EarshotProcess {
  const clean: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('EARSHOT_')) clean[k] = v;
  const child = spawn(process.execPath, [cliPath, ...args], { env: { ...clean, ...modelEnv, NOTIFY_SOCKET: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<Exit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { child, log: () => out, exited };
}

/** `earshot -c <config> run`. */
export function startAgent(config: string): EarshotProcess {
  return spawnEarshot(['-c', config, 'run']);
}

/** SIGTERM, then SIGKILL if it has not exited within `graceMs`; resolves with how it exited. */
export async function stop(p: EarshotProcess, graceMs?: number): Promise<Exit>;
export async function stop(p: EarshotProcess | undefined, graceMs?: number): Promise<Exit | undefined>;
export async function stop(p: EarshotProcess | undefined, graceMs = 5000): Promise<Exit | undefined> {
  if (!p) return undefined;
  if (p.child.exitCode !== null || p.child.signalCode !== null) return p.exited;
  p.child.kill('SIGTERM');
  const t = setTimeout(() => p.child.kill('SIGKILL'), graceMs);
  const result = await p.exited;
  clearTimeout(t);
  return result;
}
