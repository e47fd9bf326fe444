/**
 * `earshot sync status|now` (the device side) and `earshot alerts tail` (the reference consumer,
 * run anywhere that can reach the broker).
 */
import fs from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import { MQTT_URL_PROTOCOLS } from '../../config/schema.js';
import { ConfigError, UsageError } from '../errors.js';
import { openEventReader } from '../store/event-reader.js';
import { databasePath, storeLimitsFromConfig } from '../store/limits.js';
import { SqliteStore } from '../store/sqlite-store.js';
import type { OutboxPriorityStats } from '../store/sqlite-sync-queries.js';
import { Priority } from '../store/types.js';
import { AlertDeduper, alertRev, alertText, parseAlert } from '../sync/alert-consumer.js';
import { ReconnectBackoff } from '../sync/backoff.js';
import { drainOnce } from '../sync/drain-once.js';
import { LINK_STATE_KEY, parseLinkState, type LinkState } from '../sync/link-state.js';
import { MqttBroker } from '../sync/mqtt-broker.js';
import type { ConnectionOptions } from '../sync/mqtt-options.js';
import { topicsFor } from '../sync/topics.js';
import { processAlive } from '../system/process-alive.js';
import { globalOptions, type CliContext, type RegisterCommand } from './context.js';

const COMPONENT = 'cli.sync';
const PRIORITY_NAMES: Record<Priority, string> = { [Priority.threatAlert]: 'threat', [Priority.eventAlert]: 'events', [Priority.health]: 'health' };

function positiveNumber(text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number');
  return n;
}

function positiveInt(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || n < 1) throw new InvalidArgumentError('expected a whole number, at least 1');
  return n;
}

function ago(iso: string | undefined, nowMs: number): string {
  if (!iso) return '';
  const s = Math.max(0, Math.round((nowMs - Date.parse(iso)) / 1000));
  const text = s < 120 ? `${s} s` : s < 7200 ? `${Math.round(s / 60)} min` : s < 172800 ? `${Math.round(s / 3600)} h` : `${Math.round(s / 86400)} d`;
  return ` (${text} ago)`;
}

function syncStatus(cmd: Command, ctx: CliContext, json: boolean): void {
  const { config } = loadConfig({ flag: globalOptions(cmd).config, env: ctx.env });
  const file = databasePath(config.storage);
  const reader = openEventReader(file);
  let summary;
  let link: LinkState | undefined;
  try {
    summary = reader.sync.outboxSummary();
    link = parseLinkState(reader.sync.state(LINK_STATE_KEY));
  } finally {
    reader.close();
  }
  const agentRunning = link ? processAlive(link.pid) : false;
  const connected = Boolean(link?.connected && agentRunning);
  const byName = Object.fromEntries(Object.entries(summary.byPriority).map(([p, s]) => [PRIORITY_NAMES[Number(p) as Priority], s])) as Record<string, OutboxPriorityStats>;
  if (json) {
    const out = {
      broker: link?.url ?? config.mqtt.url,
      connected,
      agentRunning,
      link: link ?? null,
      queue: { depth: summary.depth, byPriority: byName, ...(summary.oldest ? { oldest: summary.oldest } : {}) },
      lastAckAt: summary.lastSyncAt ?? null,
      lastError: link?.lastError ?? null,
      lastErrorAt: link?.lastErrorAt ?? null,
    };
    ctx.stdout(`${JSON.stringify(out, null, 2)}\n`);
    return;
  }
  const now = Date.now();
  const url = link?.url || config.mqtt.url;
  let linkText: string;
  if (!link) linkText = `${url}: no link recorded yet (has \`earshot run\` started with mqtt.enabled?)`;
  else if (!agentRunning) linkText = `${url}: agent not running (pid ${link.pid} gone; it was ${link.connected ? 'connected' : 'not connected'} at ${link.updatedAt})`;
  else linkText = `${url}: ${link.connected ? 'connected' : 'NOT connected'} since ${link.since}${ago(link.since, now)}`;
  const lines = [
    `broker      ${linkText}`,
    `queue       ${summary.depth} waiting: ${Object.entries(byName)
      .map(([name, s]) => `${name} ${s.depth}${s.retried ? ` (${s.retried} retried, up to ${s.maxAttempts} attempts)` : ''}`)
      .join(', ')}`,
    `oldest      ${summary.oldest ? `${summary.oldest}${ago(summary.oldest, now)}` : '-'}`,
    `last ack    ${summary.lastSyncAt ? `${summary.lastSyncAt}${ago(summary.lastSyncAt, now)}` : 'never'}`,
    `last error  ${link?.lastError ? `${link.lastErrorAt ?? ''} ${link.lastError}` : '-'}`,
  ];
  ctx.stdout(`${lines.join('\n')}\n`);
}

async function syncNow(cmd: Command, ctx: CliContext, timeoutSec: number): Promise<void> {
  const { config, location } = loadConfig({ flag: globalOptions(cmd).config, env: ctx.env });
  if (!config.mqtt.enabled) {
    throw new ConfigError(`mqtt.enabled is false in ${location.path ?? 'the configuration'}: there is no broker to sync to`, { component: COMPONENT, code: 'sync.disabled' });
  }
  const store = new SqliteStore({ file: databasePath(config.storage), limits: storeLimitsFromConfig(config.storage) });
  store.open();
  try {
    const before = store.storeHealth().outbox.depth;
    ctx.stderr(`connecting to ${config.mqtt.url.replace(/\/\/[^@/]*@/, '//')} (${before} message${before === 1 ? '' : 's'} in the outbox)\n`);
    const { url, stats } = await drainOnce({ config, store, connectTimeoutMs: timeoutSec * 1000, onLinkError: (e) => ctx.stderr(`earshot: ${e.message} (retrying)\n`) });
    const left = store.storeHealth().outbox;
    const leftText = left.depth === 0 ? 'the outbox is empty' : `${left.depth} left in the outbox (waiting for a retry or leased by the running agent)`;
    ctx.stdout(`sent ${stats.acked} message${stats.acked === 1 ? '' : 's'} to ${url}${stats.refused ? `, ${stats.refused} refused by the broker` : ''}; ${leftText}\n`);
  } finally {
    store.close();
  }
}

interface TailOptions {
  url: string;
  device: string;
  prefix: string;
  json?: boolean;
  ca?: string;
  cert?: string;
  key?: string;
  insecure?: boolean;
  username?: string;
  passwordFile?: string;
  count?: number;
  protocol: string;
}

function readOptionFile(file: string, flag: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new UsageError(`${flag} ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { component: COMPONENT, code: 'alerts.file' });
  }
}

async function alertsTail(ctx: CliContext, opts: TailOptions): Promise<void> {
  let protocol = '';
  try {
    protocol = new URL(opts.url).protocol;
  } catch {
    // reported below
  }
  if (!(MQTT_URL_PROTOCOLS as readonly string[]).includes(protocol)) {
    throw new UsageError(`--url ${opts.url}: expected an mqtt://, mqtts://, ws:// or wss:// URL`, { component: COMPONENT, code: 'alerts.url' });
  }
  if (opts.device !== '+' && /[#+/]/.test(opts.device)) throw new UsageError(`--device ${opts.device}: expected a device id or "+" for all`, { component: COMPONENT, code: 'alerts.device' });
  const connection: ConnectionOptions = {
    clientId: `earshot-tail-${process.pid}-${Math.random().toString(16).slice(2, 8)}`,
    protocolVersion: opts.protocol === '4' ? 4 : 5,
    keepalive: 30,
    connectTimeout: 15_000,
    rejectUnauthorized: !opts.insecure,
  };
  if (opts.ca) connection.ca = readOptionFile(opts.ca, '--ca');
  if (opts.cert) connection.cert = readOptionFile(opts.cert, '--cert');
  if (opts.key) connection.key = readOptionFile(opts.key, '--key');
  if (opts.username) connection.username = opts.username;
  if (opts.passwordFile) connection.password = readOptionFile(opts.passwordFile, '--password-file').toString('utf8').split(/\r?\n/)[0];
  const topic = topicsFor(opts.prefix, opts.device).events;
  const broker = new MqttBroker({ url: opts.url, connection, backoff: new ReconnectBackoff({ minMs: 500, maxMs: 30_000 }), hints: { ...(opts.ca ? { ca: opts.ca } : {}), ...(opts.cert ? { cert: opts.cert } : {}) } });
  const dedupe = new AlertDeduper();
  let printed = 0;
  await new Promise<void>((resolve) => {
    let done = false;
    const finish = () => {
      done = true;
      process.off('SIGINT', finish);
      process.off('SIGTERM', finish);
      resolve();
    };
    process.once('SIGINT', finish);
    process.once('SIGTERM', finish);
    broker.on('connect', () => {
      // Said once the broker has granted the subscription: from then on nothing published is missed.
      broker.subscribe([topic], 1).then(
        () => ctx.stderr(`subscribed to ${topic} on ${broker.url}\n`),
        (err: Error) => ctx.stderr(`earshot: ${err.message}\n`),
      );
    });
    broker.on('linkError', (e) => {
      if (!done) ctx.stderr(`earshot: ${e.message} (retrying)\n`);
    });
    broker.on('message', (msg) => {
      if (done) return; // --count reached: nothing more while disconnecting
      const alert = parseAlert(msg);
      if ('error' in alert) {
        ctx.stderr(`earshot: skipped a message: ${alert.error}\n`);
        return;
      }
      const confidence = typeof alert.event.confidence === 'number' ? alert.event.confidence : undefined;
      const { arrival, previous } = dedupe.arrive(alert.id, alertRev(alert), confidence);
      // A repeat, or an older rev arriving after a newer one: never shown.
      if (arrival === 'duplicate' || arrival === 'stale') return;
      if (opts.json) ctx.stdout(`${JSON.stringify(alert.event)}\n`);
      else ctx.stdout(`${alertText(alert, arrival === 'update' && previous ? { previous } : undefined)}\n`);
      printed++;
      if (opts.count !== undefined && printed >= opts.count) finish();
    });
    broker.start();
  });
  await broker.stop();
  const alerts = printed - dedupe.updates;
  ctx.stderr(
    `${alerts} alert${alerts === 1 ? '' : 's'}, ${dedupe.updates} update${dedupe.updates === 1 ? '' : 's'}, ${dedupe.duplicates} duplicate${dedupe.duplicates === 1 ? '' : 's'} or older revision${dedupe.duplicates === 1 ? '' : 's'} skipped\n`,
  );
}

export const registerSyncCommands: RegisterCommand = (program, ctx) => {
  const sync = program.command('sync').description('delivery of alerts to the MQTT broker');

  sync
    .command('status')
    .description('is the agent connected, what is waiting in the outbox, when did the broker last acknowledge, what went wrong last')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }, cmd: Command) => syncStatus(cmd, ctx, Boolean(opts.json)));

  sync
    .command('now')
    .description('connect once, send everything waiting in the outbox, and disconnect (exit 69 if the broker cannot be reached)')
    .option('--timeout <sec>', 'how long to keep trying to connect', positiveNumber, 20)
    .action((opts: { timeout: number }, cmd: Command) => syncNow(cmd, ctx, opts.timeout));
};

export const registerAlertsCommands: RegisterCommand = (program, ctx) => {
  const alerts = program.command('alerts').description('the operator side: receive alerts from devices');
  alerts
    .command('tail')
    .description('subscribe to alerts and print each as it arrives, until interrupted: once per id, then each update of it (a higher rev: closed, final confidence, clip); repeats and older revisions are skipped')
    .requiredOption('--url <url>', 'broker URL, e.g. mqtts://broker.example:8883')
    .option('--device <id>', 'device id, or + for every device', '+')
    .option('--prefix <prefix>', 'topic prefix (mqtt.topicPrefix of the devices)', 'earshot')
    .option('--json', 'print each alert and update as a JSON line (the event contract; keep the highest rev per id)')
    .option('--ca <file>', 'CA certificate (PEM) to trust for the broker')
    .option('--cert <file>', 'client certificate (PEM)')
    .option('--key <file>', 'client private key (PEM)')
    .option('--insecure', 'do not verify the broker certificate')
    .option('--username <name>', 'broker user name')
    .option('--password-file <file>', 'file holding the broker password (first line)')
    .option('--protocol <version>', 'MQTT protocol version: 5 or 4 (3.1.1)', '5')
    .option('--count <n>', 'exit after this many lines (alerts and updates)', positiveInt)
    .action((opts: TailOptions) => alertsTail(ctx, opts));
};
