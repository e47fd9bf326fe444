/**
 * `earshot console`: the web console (agent/console/): HQ mode over MQTT, or `--device` over this
 * device's data folder; `console set-password`; `console export-reviews <folder>`.
 */
import path from 'node:path';
import readline from 'node:readline';
import { InvalidArgumentError, type Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import { MQTT_URL_PROTOCOLS } from '../../config/schema.js';
import { ClipCache } from '../console/clip-cache.js';
import { consoleDataDir, startConsole } from '../console/console-app.js';
import { ConsoleStore } from '../console/console-store.js';
import { exportReviews } from '../console/export-reviews.js';
import { DEFAULT_LISTEN, parseListen, type ListenAddress } from '../console/listen-address.js';
import { MIN_PASSWORD_LENGTH, hashPassword, writePasswordHash } from '../console/password.js';
import { checkShareGroup } from '../console/topics.js';
import { DataError, InputMissingError, UsageError } from '../errors.js';
import { createLogger } from '../log.js';
import { packageVersion } from '../version.js';
import { globalOptions, type CliContext, type RegisterCommand } from './context.js';
import fs from 'node:fs';

const COMPONENT = 'cli.console';

interface ConsoleOptions {
  url?: string;
  listen: ListenAddress;
  data?: string;
  share?: string;
  device?: boolean;
  logLevel?: string;
}

function listenOption(text: string): ListenAddress {
  const r = parseListen(text);
  if ('error' in r) throw new InvalidArgumentError(r.error.replace(/^--listen [^:]*: /, ''));
  return r;
}

function checkUrl(url: string): void {
  let protocol = '';
  try {
    protocol = new URL(url).protocol;
  } catch {
    // reported below
  }
  if (!(MQTT_URL_PROTOCOLS as readonly string[]).includes(protocol)) throw new UsageError(`--url ${url}: expected an mqtt://, mqtts://, ws:// or wss:// URL`, { component: COMPONENT, code: 'console.url' });
}

async function runConsole(cmd: Command, ctx: CliContext, opts: ConsoleOptions): Promise<void> {
  if (opts.device && (opts.url || opts.share)) throw new UsageError(`--device reads this device's data folder without a broker; ${opts.url ? '--url' : '--share'} is for the HQ console`, { component: COMPONENT, code: 'console.device-options' });
  if (opts.url) checkUrl(opts.url);
  if (opts.share) {
    const bad = checkShareGroup(opts.share);
    if (bad) throw new UsageError(bad, { component: COMPONENT, code: 'console.share' });
  }
  const { config } = loadConfig({ flag: globalOptions(cmd).config, env: ctx.env });
  const level = (opts.logLevel ?? config.log.level) as typeof config.log.level;
  const logger = createLogger({ level, format: config.log.format, isTTY: ctx.isTTY });
  const running = await startConsole({
    config,
    mode: opts.device ? 'device' : 'hq',
    listen: opts.listen,
    version: packageVersion(),
    logger,
    ...(opts.data ? { dataDir: opts.data } : {}),
    ...(opts.url ? { url: opts.url } : {}),
    ...(opts.share ? { share: opts.share } : {}),
  });
  const what = opts.device
    ? `device ${config.device.id}, read-only over ${config.storage.dataDir}`
    : `broker ${(opts.url ?? config.mqtt.url).replace(/\/\/[^@/]*@/, '//')}, prefix ${config.mqtt.topicPrefix}${opts.share ? `, events shared in group ${opts.share}` : ''}, data ${running.dataDir}`;
  ctx.stdout(`earshot console: ${running.url}/ (${what}); Ctrl-C stops it\n`);
  await new Promise<void>((resolve) => {
    const done = () => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
  await running.stop();
  logger.flush?.();
  // Nothing may keep the process alive after an orderly stop.
  setTimeout(() => process.exit(0), 200).unref();
}

/** The password: the first line of stdin (piped), or typed at a terminal without echo. */
async function readPassword(ctx: CliContext): Promise<string> {
  const stdin = process.stdin;
  if (stdin.isTTY) {
    ctx.stderr('console password: ');
    const rl = readline.createInterface({ input: stdin, output: undefined, terminal: true });
    try {
      return await new Promise<string>((resolve) => rl.once('line', resolve));
    } finally {
      rl.close();
      ctx.stderr('\n');
    }
  }
  const chunks: Buffer[] = [];
  for await (const c of stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
}

async function setPassword(cmd: Command, ctx: CliContext, opts: { data?: string }): Promise<void> {
  const { config } = loadConfig({ flag: globalOptions(cmd).config, env: ctx.env });
  const dir = consoleDataDir(config, opts.data ?? (cmd.optsWithGlobals() as { data?: string }).data); // `console --data` parses it first
  const password = await readPassword(ctx);
  if (password.length < MIN_PASSWORD_LENGTH) {
    throw new DataError(`console password: ${password.length} characters read from stdin; expected at least ${MIN_PASSWORD_LENGTH} (e.g. \`printf '%s\\n' 'a long passphrase' | earshot console set-password\`)`, {
      component: COMPONENT,
      code: 'console.password-short',
    });
  }
  const file = writePasswordHash(dir, await hashPassword(password));
  ctx.stdout(`console password set (scrypt hash in ${file}); a running console reads it at its next start\n`);
}

function exportCommand(cmd: Command, ctx: CliContext, folder: string, opts: { data?: string }): void {
  const { config } = loadConfig({ flag: globalOptions(cmd).config, env: ctx.env });
  const dir = consoleDataDir(config, opts.data ?? (cmd.optsWithGlobals() as { data?: string }).data); // `console --data` parses it first
  const dbFile = path.join(dir, 'console.db');
  if (!fs.existsSync(dbFile)) {
    throw new InputMissingError(`no console data at ${dir} (console.db missing): run \`earshot console\` first, or give its --data folder`, { component: COMPONENT, code: 'console.no-data' });
  }
  const store = new ConsoleStore({ file: dbFile });
  store.open();
  try {
    const out = path.resolve(folder);
    const r = exportReviews(store, new ClipCache(path.join(dir, 'clips'), store), out);
    const counts = new Map<string, number>();
    for (const w of r.written) {
      const cls = w.file.split(path.sep)[0]!;
      counts.set(cls, (counts.get(cls) ?? 0) + 1);
    }
    const by = [...counts].map(([cls, n]) => `${cls} ${n}`).join(', ');
    ctx.stdout(`wrote ${r.written.length} reviewed clip${r.written.length === 1 ? '' : 's'} to ${out}${by ? ` (${by})` : ''}; train a site head with \`earshot train ${out} --out head.json\`\n`);
    for (const s of r.skipped) ctx.stderr(`earshot: skipped ${s.id}: ${s.reason}\n`);
  } finally {
    store.close();
  }
}

export const registerConsoleCommand: RegisterCommand = (program, ctx) => {
  const dataHelp = 'the console\'s data folder (default: <storage.dataDir>/console)';
  const console = program
    .command('console')
    .description('the web console: alerts, devices, spectrograms, clips and reviews in a browser (HQ over MQTT, or --device over this device\'s data folder)')
    .option('--url <url>', 'broker URL (default: mqtt.url of the configuration; TLS and credentials from its mqtt section)')
    .option('--listen <host:port>', `address of the web page; any non-loopback address needs a password (set-password)`, listenOption, listenOption(DEFAULT_LISTEN))
    .option('--data <dir>', dataHelp)
    .option('--share <group>', 'take events through the shared subscription $share/<group>/… so several consoles split the load (status and health stay normal subscriptions)')
    .option('--device', "serve this device's own data folder read-only, without a broker")
    .option('--log-level <level>', 'override log.level')
    .action((opts: ConsoleOptions, cmd: Command) => runConsole(cmd, ctx, opts));
  console
    .command('set-password')
    .description('read a password from stdin (first line, at least 10 characters) and store its scrypt hash in the console\'s data folder')
    .option('--data <dir>', dataHelp)
    .action((opts: { data?: string }, cmd: Command) => setPassword(cmd, ctx, opts));
  console
    .command('export-reviews')
    .description('write the reviewed clips as an `earshot train` folder: confirmed → <label>/<device>/, false alarms → background/<device>/')
    .argument('<folder>', 'where to write (created if needed; exporting again updates it)')
    .option('--data <dir>', dataHelp)
    .action((folder: string, opts: { data?: string }, cmd: Command) => exportCommand(cmd, ctx, folder, opts));
};
