/**
 * `npm run bench:live`: `earshot run` on a 32 kHz replay paced in real time (audio.source: file,
 * realtime, loop; no broker) for 60 s, after a warm-up; prints the mean CPU % of one core, the
 * RSS while listening (sampled every second: median, highest, at the end) and the peak RSS since
 * start-up (VmHWM), and the same for an arecord-style capture alone as the floor: a Node process
 * that only delivers the same PCM in real-time 100 ms blocks (what the agent's capture costs
 * before any DSP or inference). The agent runs as the systemd unit and the `earshot` launcher
 * start it, with the memory settings of agent/node-memory.ts; `--plain` leaves them out, for
 * comparison. Options: --seconds N (default 60), --warmup N (default 10), --file F (default a dev
 * recording), --plain.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadModelRateAudio } from '../agent/audio/load-model-rate.js';
import { NODE_MEMORY_ENV, NODE_MEMORY_FLAGS } from '../agent/node-memory.js';
import { runCli } from '../agent/cli/program.js';
import { processContext } from '../agent/cli/context.js';
import { packageRoot } from '../agent/version.js';
import { encodeWavInt16Mono } from '../dsp/wav-encode.js';
import { float32ToInt16 } from '../dsp/pcm.js';
import { exitOnHelp, flagArg, numberArg, textArg } from './argv.js';

exitOnHelp(`npm run bench:live -- [options]: earshot run on a 32 kHz replay in real time; CPU and RSS beside capture alone

  --seconds N   measured seconds (default 60)
  --warmup N    seconds before measuring (default 10)
  --file F      the recording replayed (default a dev chainsaw recording)
  --plain       without the memory settings of agent/node-memory.ts, for comparison
`);
const seconds = numberArg('seconds', 60);
const warmup = numberArg('warmup', 10);
const plain = flagArg('plain');
const root = packageRoot();
const shared = process.env.EARSHOT_SHARED ?? path.resolve(root, '..', 'shared');
const source = textArg('file') ?? path.join(shared, 'data', 'dev', 'chainsaw', 'altaga_ChainSaw_2022-05-14_02_27_23.wav');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'earshot-bench-live-'));
const cli = path.join(root, 'build', 'agent', 'cli.js');
const clk = 100; // USER_HZ on Linux

// The 32 kHz replay file.
const wav = path.join(dir, 'replay-32k.wav');
const pcm = float32ToInt16(await loadModelRateAudio(source, 32000));
fs.writeFileSync(wav, encodeWavInt16Mono(pcm, 32000));

const config = path.join(dir, 'config.yaml');
fs.writeFileSync(config, `device:\n  id: bench\nstorage:\n  dataDir: ${JSON.stringify(path.join(dir, 'data'))}\naudio:\n  source: file\n  file: ${JSON.stringify(wav)}\n  realtime: true\n  loop: true\nmqtt:\n  enabled: false\nlog:\n  level: warn\n  format: json\n`);
const env = { ...process.env, EARSHOT_MODEL_MIRROR: process.env.EARSHOT_MODEL_MIRROR ?? path.join(shared, 'models') };
const code = await runCli(['-c', config, 'models', 'install'], { ...processContext(), env, stdout: () => undefined });
if (code !== 0) process.exit(code);

function cpuTicks(pid: number): number {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return Number(rest[11]) + Number(rest[12]); // utime + stime
}
function statusBytes(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

interface Measured {
  cpu: number;
  /** VmHWM: the highest RSS since the process started (start-up included). */
  peak: number;
  /** VmRSS sampled every second while measuring: median and highest. */
  median: number;
  max: number;
  end: number;
}

async function measure(name: string, child: ChildProcess): Promise<Measured> {
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  await new Promise((r) => setTimeout(r, warmup * 1000));
  if (child.exitCode !== null) throw new Error(`${name} exited early: ${stderr}`);
  const t0 = process.hrtime.bigint();
  const c0 = cpuTicks(child.pid!);
  const samples: number[] = [];
  for (let i = 0; i < seconds; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    if (child.exitCode !== null) throw new Error(`${name} exited early: ${stderr}`);
    samples.push(statusBytes(child.pid!, 'VmRSS'));
  }
  const c1 = cpuTicks(child.pid!);
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const peak = statusBytes(child.pid!, 'VmHWM');
  const end = statusBytes(child.pid!, 'VmRSS');
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
  samples.sort((a, b) => a - b);
  return { cpu: ((c1 - c0) / clk / wall) * 100, peak, median: samples[samples.length >> 1]!, max: samples.at(-1)!, end };
}

const FLOOR = `
import fs from 'node:fs';
const buf = fs.readFileSync(${JSON.stringify(wav)}).subarray(44);
const block = 3200 * 2; let pos = 0; const t0 = performance.now(); let sent = 0;
const out = fs.openSync('/dev/null', 'w');
setInterval(() => {
  const due = Math.floor(((performance.now() - t0) / 1000) * 32000) * 2 - sent;
  for (let n = due; n > 0; ) { const take = Math.min(n, block, buf.length - pos); fs.writeSync(out, buf, pos, take); pos = (pos + take) % buf.length; sent += take; n -= take; }
}, 100);
process.on('SIGTERM', () => process.exit(0));
`;

const tuning = plain ? 'without the memory settings (--plain)' : `as the service runs it: ${[...Object.entries(NODE_MEMORY_ENV).map(([k, v]) => `${k}=${v}`), 'node', ...NODE_MEMORY_FLAGS].join(' ')}`;
process.stderr.write(`bench:live: ${seconds} s after ${warmup} s warm-up; replay ${path.relative(process.cwd(), source)} at 32 kHz; agent ${tuning}\n`);
const agentArgs = [...(plain ? [] : NODE_MEMORY_FLAGS), cli, '-c', config, 'run'];
const agentEnv = plain ? env : { ...env, ...NODE_MEMORY_ENV };
const agent = await measure('earshot run', spawn(process.execPath, agentArgs, { env: agentEnv, stdio: ['ignore', 'ignore', 'pipe'] }));
const floor = await measure('capture floor', spawn(process.execPath, ['--input-type=module', '-e', FLOOR], { stdio: ['ignore', 'ignore', 'pipe'] }));
const mb = (b: number) => `${(b / 2 ** 20).toFixed(1)} MB`;
const line = (m: Measured) => `CPU ${m.cpu.toFixed(2)} % of one core   RSS while listening: median ${mb(m.median)}, max ${mb(m.max)}, at the end ${mb(m.end)}   peak RSS (start-up included) ${mb(m.peak)}`;
console.log(`earshot run (32 kHz real-time replay)  ${line(agent)}`);
console.log(`capture alone (floor)                  ${line(floor)}`);
console.log(`targets: ≤ 3 % of one core, ≤ 150 MB RSS while listening`);
fs.rmSync(dir, { recursive: true, force: true });
