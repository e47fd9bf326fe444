/**
 * `npm start`: runs the Earshot agent on a machine without a microphone. Installs the model from
 * the mirror (EARSHOT_MODEL_MIRROR, default ../shared/models) into ./.earshot/data, then runs
 * `earshot run` replaying a recording from the development corpus in real time, in a loop, through
 * the whole pipeline (capture → detection → store → sync). Ctrl-C stops it.
 *
 *   npm start                                   replay the default recording, no broker
 *   npm start -- path/to/recording.wav          replay another recording
 *   EARSHOT_MQTT_URL=mqtt://host:1883 npm start also send alerts to that broker
 *   EARSHOT_CONFIG=/etc/earshot/config.yaml npm start   your own configuration (e.g. audio.source: alsa)
 *
 * It first says where its configuration and data are, and the `npx earshot --config …` commands
 * that look at them: the CLI's default configuration is /etc/earshot/config.yaml, so a bare
 * `earshot events list` would look in /var/lib/earshot and find nothing of the demo's.
 */
import fs from 'node:fs';
import path from 'node:path';
import { runCli } from '../agent/cli/program.js';
import { processContext } from '../agent/cli/context.js';
import { loadConfig } from '../config/load.js';
import { packageRoot } from '../models/registry.js';

const root = packageRoot();
const shared = process.env.EARSHOT_SHARED ?? path.resolve(root, '..', 'shared');
const env: NodeJS.ProcessEnv = { ...process.env, EARSHOT_MODEL_MIRROR: process.env.EARSHOT_MODEL_MIRROR ?? path.join(shared, 'models') };
// A broker only when one is named.
if (env.EARSHOT_MQTT_URL && env.EARSHOT_MQTT_ENABLED === undefined) env.EARSHOT_MQTT_ENABLED = 'true';
const ctx = { ...processContext(), env };

const recording = process.argv[2] ?? ['gunshot/ibmmax_gunshots.wav', 'gunshot/belize_gunshot_552.wav'].map((p) => path.join(shared, 'data', 'dev', p)).find((p) => fs.existsSync(p));

let config = process.env.EARSHOT_CONFIG;
if (!config) {
  if (!recording) {
    ctx.stderr(`npm start: no recording found under ${path.join(shared, 'data', 'dev')}; pass one: npm start -- file.wav\n`);
    process.exit(66);
  }
  config = path.join(root, '.earshot', 'demo.yaml');
  fs.mkdirSync(path.dirname(config), { recursive: true });
  fs.writeFileSync(
    config,
    [
      '# Demo configuration written by npm start (rewritten each time).',
      `device:\n  id: demo`,
      `storage:\n  dataDir: ${JSON.stringify(path.join(root, '.earshot', 'data'))}`,
      `audio:\n  source: file\n  file: ${JSON.stringify(path.resolve(recording))}\n  realtime: true\n  loop: true`,
      'mqtt:\n  enabled: false',
      '',
    ].join('\n'),
  );
}

/** A path as the user should type it: relative when under the current folder, quoted when needed. */
function shown(file: string): string {
  const rel = path.relative(process.cwd(), path.resolve(file));
  const p = rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : path.resolve(file);
  return /^[\w./@%+=:,-]+$/.test(p) ? p : `'${p.replace(/'/g, `'\\''`)}'`;
}

function guide(configFile: string): string {
  let data: string;
  try {
    data = shown(loadConfig({ flag: configFile, env }).config.storage.dataDir);
  } catch {
    data = '(storage.dataDir of that file, once it is valid)';
  }
  // `npx earshot` runs this checkout's CLI (package.json "bin") from anywhere inside it.
  const cli = `npx earshot --config ${shown(configFile)}`;
  return [
    `npm start: configuration ${shown(configFile)}; data (database, clips, model) in ${data}`,
    `  look at them from another terminal, in ${process.cwd()}:`,
    `    ${cli} events list`,
    `    ${cli} status`,
    `    ${cli} doctor`,
    '',
  ].join('\n');
}

ctx.stderr(`${guide(config)}\n`);
let code = await runCli(['-c', config, 'models', 'install'], ctx);
if (code === 0) {
  // With EARSHOT_CONFIG the demo's recording is not used: that file names the source.
  const source = process.env.EARSHOT_CONFIG || !recording ? 'listening to the configured source' : `replaying ${path.relative(process.cwd(), recording)} in real time`;
  ctx.stderr(`\nearshot run: ${source}${env.EARSHOT_MQTT_ENABLED === 'true' ? `, alerts to ${env.EARSHOT_MQTT_URL}` : ' (no broker: set EARSHOT_MQTT_URL to send alerts)'}; Ctrl-C stops\n`);
  code = await runCli(['-c', config, 'run'], ctx);
}
process.exitCode = code;
