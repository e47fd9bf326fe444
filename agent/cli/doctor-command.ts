/**
 * `earshot doctor`: one PASS/FAIL (or WARN) line per check a field technician needs: the
 * configuration, the recorder program and the microphone, the model (installed and verified),
 * disk space, clock sync, the broker. Exit 0 when nothing failed, 69 otherwise.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { loadConfig } from '../../config/load.js';
import type { Config } from '../../config/schema.js';
import { recorderCommand } from '../capture/recorder-source.js';
import { ExitCode } from '../errors.js';
import { checkClockSynced } from '../system/clock-sync.js';
import { ModelInstaller } from '../../models/installer.js';
import { getManifest } from '../../models/registry.js';
import { CommandExit, globalOptions, type RegisterCommand } from './context.js';

type Verdict = 'PASS' | 'WARN' | 'FAIL';
interface Check {
  name: string;
  verdict: Verdict;
  detail: string;
}

function onPath(program: string): boolean {
  if (program.includes('/')) return fs.existsSync(program);
  return spawnSync('/bin/sh', ['-c', `command -v ${JSON.stringify(program)}`]).status === 0;
}

function tcpReachable(url: string, timeoutMs: number): Promise<string | undefined> {
  const u = new URL(url);
  const port = Number(u.port) || ({ 'mqtt:': 1883, 'mqtts:': 8883, 'ws:': 80, 'wss:': 443 } as Record<string, number>)[u.protocol] || 1883;
  return new Promise((resolve) => {
    const s = net.connect({ host: u.hostname, port });
    const t = setTimeout(() => {
      s.destroy();
      resolve(`no answer from ${u.hostname}:${port} in ${timeoutMs} ms`);
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(t);
      s.destroy();
      resolve(undefined);
    });
    s.once('error', (err) => {
      clearTimeout(t);
      resolve(`${u.hostname}:${port}: ${err.message}`);
    });
  });
}

async function checks(config: Config): Promise<Check[]> {
  const out: Check[] = [];
  const a = config.audio;
  if (a.source === 'alsa') {
    const cmd = recorderCommand(a);
    const program = Array.isArray(cmd) ? cmd[0]! : cmd.trim().split(/\s+/)[0]!;
    out.push(onPath(program) ? { name: 'recorder', verdict: 'PASS', detail: `${program} found` } : { name: 'recorder', verdict: 'FAIL', detail: `${program} not found (Debian: sudo apt-get install ${program === 'sox' ? 'sox' : 'alsa-utils'})` });
    if (!a.recorderCommand) {
      const l = spawnSync('arecord', ['-l'], { encoding: 'utf8', timeout: 5000 });
      const cards = (l.stdout ?? '').split('\n').filter((x) => x.startsWith('card ')).length;
      out.push(cards > 0 ? { name: 'microphone', verdict: 'PASS', detail: `${cards} capture device(s); using "${a.device}"` } : { name: 'microphone', verdict: 'FAIL', detail: 'no capture device (arecord -l lists none): is the USB microphone plugged in?' });
    }
  } else if (a.source === 'file') {
    out.push(a.file && fs.existsSync(a.file) ? { name: 'replay file', verdict: 'PASS', detail: a.file } : { name: 'replay file', verdict: 'FAIL', detail: `${a.file ?? '(audio.file unset)'}: no such file` });
  } else out.push({ name: 'audio', verdict: 'PASS', detail: 'raw PCM on stdin' });

  try {
    const r = await new ModelInstaller().verify(getManifest(config.detection.model).manifest, config.storage.dataDir);
    const why = !r.installed ? `not installed in ${r.dir}` : r.files.filter((f) => f.status !== 'ok').map((f) => `${f.name} ${f.status}`).join(', ');
    out.push(r.ok ? { name: 'model', verdict: 'PASS', detail: `${r.name} ${r.version} installed and verified (sha256)` } : { name: 'model', verdict: 'FAIL', detail: `${r.name}: ${why}; run \`earshot models install\`` });
  } catch (err) {
    out.push({ name: 'model', verdict: 'FAIL', detail: `${(err as Error).message}` });
  }

  try {
    fs.mkdirSync(config.storage.dataDir, { recursive: true });
    const st = fs.statfsSync(config.storage.dataDir);
    const free = st.bavail * st.bsize;
    const total = st.blocks * st.bsize;
    const need = Math.max(config.storage.minFreeMB * 2 ** 20, (config.storage.minFreePercent / 100) * total);
    out.push({ name: 'disk', verdict: free > need ? 'PASS' : 'FAIL', detail: `${(free / 2 ** 30).toFixed(1)} GiB free of ${(total / 2 ** 30).toFixed(1)} GiB at ${config.storage.dataDir}` });
  } catch (err) {
    out.push({ name: 'disk', verdict: 'FAIL', detail: `${config.storage.dataDir}: ${(err as Error).message}` });
  }

  out.push(checkClockSynced() ? { name: 'clock', verdict: 'PASS', detail: 'synchronised (NTP)' } : { name: 'clock', verdict: 'WARN', detail: 'not known to be synchronised: events carry clockSynced false until it is' });

  if (config.mqtt.enabled) {
    const err = await tcpReachable(config.mqtt.url, 3000);
    out.push(err ? { name: 'broker', verdict: 'FAIL', detail: `${config.mqtt.url}: ${err} (alerts wait in the outbox meanwhile)` } : { name: 'broker', verdict: 'PASS', detail: `${config.mqtt.url} accepts connections` });
  } else out.push({ name: 'broker', verdict: 'WARN', detail: 'mqtt.enabled is false: alerts stay on the device' });
  return out;
}

export const registerDoctorCommand: RegisterCommand = (program, ctx) => {
  program
    .command('doctor')
    .description('check the microphone/recorder, model, configuration, disk, clock and broker; one PASS/WARN/FAIL line each')
    .action(async (_o, cmd) => {
      let config: Config;
      try {
        config = loadConfig({ flag: globalOptions(cmd).config, env: ctx.env }).config;
        ctx.stdout(`PASS config: valid\n`);
      } catch (err) {
        ctx.stdout(`FAIL config: ${(err as Error).message}\n`);
        throw new CommandExit(ExitCode.config);
      }
      const list = await checks(config);
      for (const c of list) ctx.stdout(`${c.verdict} ${c.name}: ${c.detail}\n`);
      if (list.some((c) => c.verdict === 'FAIL')) throw new CommandExit(ExitCode.unavailable);
    });
};
