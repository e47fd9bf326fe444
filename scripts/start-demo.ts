/**
 * `npm start`: runs Earshot on a machine without a microphone. Installs the model from the
 * mirror (EARSHOT_MODEL_MIRROR, default ../shared/models) into ./.earshot/data, then analyses
 * recordings from the development corpus and prints what it hears. Set EARSHOT_CONFIG to use
 * your own configuration instead of the local demo one.
 */
import fs from 'node:fs';
import path from 'node:path';
import { runCli } from '../agent/cli/program.js';
import { processContext } from '../agent/cli/context.js';
import { packageRoot } from '../models/registry.js';

const root = packageRoot();
const shared = process.env.EARSHOT_SHARED ?? path.resolve(root, '..', 'shared');
const env = { ...process.env, EARSHOT_MODEL_MIRROR: process.env.EARSHOT_MODEL_MIRROR ?? path.join(shared, 'models') };
const ctx = { ...processContext(), env };

let config = process.env.EARSHOT_CONFIG;
if (!config) {
  config = path.join(root, '.earshot', 'config.yaml');
  if (!fs.existsSync(config)) {
    fs.mkdirSync(path.dirname(config), { recursive: true });
    fs.writeFileSync(config, `# Demo configuration written by npm start.\nstorage:\n  dataDir: ${path.join(root, '.earshot', 'data')}\nmqtt:\n  enabled: false\n`);
  }
}

const samples = ['gunshot/belize_gunshot_552.wav', 'gunshot/ibmmax_gunshots.wav', 'chainsaw', 'dog/ibmmax_dog.wav', 'background_rain', 'background_birds']
  .map((p) => path.join(shared, 'data', 'dev', p))
  .filter((p) => fs.existsSync(p));
const inputs = process.argv.slice(2).length ? process.argv.slice(2) : samples;

let code = await runCli(['-c', config, 'models', 'install'], ctx);
if (code === 0) {
  ctx.stdout(`\nearshot analyze ${inputs.map((i) => path.relative(process.cwd(), i)).join(' ')}\n`);
  code = await runCli(['-c', config, 'analyze', ...inputs], ctx);
}
process.exitCode = code;
