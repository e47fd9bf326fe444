/**
 * `earshot events list|show|export|clip|spectrogram`: what the device has detected, read from its
 * database; `clip` also fetches a clip from a device over MQTT (agent/sync/clip-client.ts);
 * `spectrogram` draws an event's clip as a PNG (agent/render/spectrogram-png.ts).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import { MQTT_URL_PROTOCOLS, type Config } from '../../config/schema.js';
import { DataError, InputMissingError, UsageError, errnoCode } from '../errors.js';
import type { EarshotEvent } from '../event.js';
import { EVENT_CSV_HEADER, eventCsvLine } from '../store/event-csv.js';
import { contractEvent } from '../store/event-payload.js';
import { openEventReader, type EventReader } from '../store/event-reader.js';
import { databasePath } from '../store/limits.js';
import { isCorruptionError } from '../store/sqlite-open.js';
import type { StoredEvent } from '../store/types.js';
import { writeFileAtomic } from '../fs/atomic-write.js';
import { eventSpanInClip } from '../render/clip-span.js';
import { decodeClip } from '../render/decode-clip.js';
import { DEFAULT_HEIGHT, DEFAULT_WIDTH, renderSpectrogramPng, SIZE_LIMITS } from '../render/spectrogram-png.js';
import { ReconnectBackoff } from '../sync/backoff.js';
import { DeviceClient, connectWithin, fetchClip } from '../sync/clip-client.js';
import { MqttBroker } from '../sync/mqtt-broker.js';
import { connectionOptions } from '../sync/mqtt-options.js';
import { readRequestSecret } from '../sync/request-auth.js';
import { checkAlertLabel } from './alert-labels.js';
import { globalOptions, type CliContext, type RegisterCommand } from './context.js';
import { numberOption } from './number-option.js';

const COMPONENT = 'cli.events';
const DEFAULT_LIST_LIMIT = 50;
const DURATION_UNITS_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * `--since`: an ISO 8601 date or time (`2026-11-28`, `2026-11-28T11:00:00Z`; no zone means UTC
 * for a date and local time for a date-time, as in JavaScript) or a duration back from now
 * (`30m`, `12h`, `7d`, `2w`).
 */
export function parseSince(text: string, nowMs: number): number {
  const rel = /^(\d+(?:\.\d+)?)\s*([smhdw])$/.exec(text.trim());
  if (rel) return nowMs - Number(rel[1]) * DURATION_UNITS_MS[rel[2]!]!;
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
    const ms = Date.parse(text);
    if (Number.isFinite(ms)) return ms;
  }
  throw new UsageError(`--since ${JSON.stringify(text)}: expected an ISO 8601 date or time (2026-11-28, 2026-11-28T11:00:00Z) or a duration back from now (30m, 12h, 7d, 2w)`, {
    component: COMPONENT,
    code: 'events.bad-since',
  });
}

function parseLimit(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < 1) {
    throw new UsageError(`--limit ${JSON.stringify(text)}: expected a whole number of events, at least 1`, { component: COMPONENT, code: 'events.bad-limit' });
  }
  return n;
}

/** Opens the database named by the configuration, runs `fn`, closes it; damage found while reading is a data error. */
function withReader<T>(cmd: Command, ctx: CliContext, fn: (reader: EventReader, file: string) => T): T {
  const { config } = loadConfig({ flag: globalOptions(cmd).config, env: ctx.env });
  const file = databasePath(config.storage);
  const reader = openEventReader(file);
  try {
    return fn(reader, file);
  } catch (err) {
    if (isCorruptionError(err)) {
      throw new DataError(`${file}: the event database is damaged (${(err as Error).message}); the agent moves it aside and salvages it at its next start`, { component: COMPONENT, code: 'store.damaged', cause: err });
    }
    throw err;
  } finally {
    reader.close();
  }
}

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

function durationText(event: EarshotEvent): string {
  const ms = Date.parse(event.end) - Date.parse(event.start);
  return Number.isFinite(ms) ? `${(ms / 1000).toFixed(1)}s` : '?';
}

function deliveryText(s: StoredEvent): string {
  return s.state === 'open' ? `${s.alert} (open)` : s.alert;
}

function printTable(ctx: CliContext, rows: readonly StoredEvent[]): void {
  const header = ['SEQ', 'START (UTC)', 'LABEL', 'CATEGORY', 'CONF', 'DUR', 'ALERT', 'CLIP', 'ID'];
  const lines = rows.map((s) => [
    String(s.event.seq),
    s.event.start.replace('T', ' ').replace(/\.\d+Z$|Z$/, ''),
    s.event.label,
    s.event.category,
    s.event.confidence.toFixed(2),
    durationText(s.event),
    deliveryText(s),
    s.clip ? s.clip.format : '-',
    s.event.id,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const format = (cols: string[]) => cols.map((c, i) => (i === cols.length - 1 ? c : pad(c, widths[i]!))).join('  ');
  ctx.stdout(`${format(header)}\n`);
  for (const l of lines) ctx.stdout(`${format(l)}\n`);
}

/** Finds an event by full id, unique id prefix (at least 4 characters) or seq number. */
function findEvent(reader: EventReader, ref: string, file: string): StoredEvent {
  const q = reader.queries;
  let found: StoredEvent | undefined;
  if (/^\d+$/.test(ref)) found = q.getBySeq(Number(ref));
  found ??= q.get(ref);
  if (!found && ref.length >= 4) {
    const ids = q.idsWithPrefix(ref.toLowerCase(), 6);
    if (ids.length > 1) {
      throw new UsageError(`${ref}: matches several events (${ids.slice(0, 5).join(', ')}${ids.length > 5 ? ', ...' : ''}); give more of the id`, { component: COMPONENT, code: 'events.ambiguous' });
    }
    if (ids.length === 1) found = q.get(ids[0]!);
  }
  if (!found) {
    throw new InputMissingError(`${ref}: no such event in ${file} (give an id, a unique id prefix or a seq number; \`earshot events list\` shows them)`, { component: COMPONENT, code: 'events.not-found' });
  }
  return found;
}

/** `--label` must name an alert label (or one that stored events still carry); a typo is exit 2 with a hint. */
function checkLabel(reader: EventReader, label: string): void {
  checkAlertLabel(label, { flag: '--label', component: COMPONENT, stillStored: (l) => reader.queries.list({ label: l, limit: 1 }).length > 0 });
}

function printEvent(ctx: CliContext, s: StoredEvent): void {
  const e = s.event;
  const rows: [string, string | undefined][] = [
    ['id', e.id],
    ['seq', String(e.seq)],
    ['device', e.device],
    ['label', `${e.label} (${e.category})`],
    ['confidence', e.confidence.toFixed(3)],
    ['start', e.start],
    ['end', `${e.end} (${durationText(e)})`],
    ['state', s.state],
    ['alert', s.deliveredAt ? `${s.alert} at ${s.deliveredAt}` : s.alert],
    ['model', `${e.model.name} v${e.model.version}`],
    ['model labels', e.modelLabels.map((m) => `${m.label} ${m.score.toFixed(2)}`).join('; ') || '-'],
    ['location', e.location ? `${e.location.lat}, ${e.location.lon}` : undefined],
    ['clock synced', e.clockSynced ? 'yes' : 'no (times may be off)'],
    ['clip', s.clip ? `${s.clip.path} (${s.clip.format}, ${(s.clip.durationMs / 1000).toFixed(1)}s, ${s.clip.bytes} bytes${fs.existsSync(s.clip.path) ? '' : ', FILE MISSING'})` : 'none'],
    ['file', e.file === undefined ? undefined : `${e.file}${e.startSec === undefined ? '' : ` @ ${e.startSec}s`}`],
  ];
  for (const [k, v] of rows) if (v !== undefined) ctx.stdout(`${pad(`${k}:`, 14)}${v}\n`);
}

interface ClipOptions {
  out: string;
  device?: string;
  url?: string;
  prefix?: string;
  timeout: number;
}

function positiveSeconds(text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number of seconds');
  return n;
}

/** Writes the clip to --out atomically (a reader never sees half a file); a missing folder is the user's to fix. */
function writeClip(out: string, data: Buffer): void {
  try {
    writeFileAtomic(out, data, { mode: 0o644 });
  } catch (err) {
    const code = errnoCode(err);
    const why = code === 'ENOENT' || code === 'ENOTDIR' ? `folder ${path.dirname(out)} does not exist` : code === 'EACCES' || code === 'EPERM' || code === 'EROFS' ? 'not writable here' : (err as Error).message;
    throw new UsageError(`--out ${out}: ${why}`, { component: COMPONENT, code: 'events.out' });
  }
}

/** The clip of an event in this device's database: its file, checked against the recorded sha256. */
function localClip(cmd: Command, ctx: CliContext, ref: string): { data: Buffer; what: string } {
  return withReader(cmd, ctx, (reader, file) => {
    let found: StoredEvent;
    try {
      found = findEvent(reader, ref, file);
    } catch (err) {
      if (err instanceof InputMissingError) {
        throw new InputMissingError(`${err.message}; to fetch it from a device over MQTT, add --device <id>`, { component: COMPONENT, code: 'events.not-found' });
      }
      throw err;
    }
    return checkedClip(found);
  });
}

/** The clip file of a stored event, read and checked against its recorded sha256; no clip or no file is 66, a mismatch 65. */
function checkedClip(found: StoredEvent): { data: Buffer; what: string } {
  const clip = found.clip;
  if (!clip) throw new InputMissingError(`event ${found.event.id} has no clip kept (detection.labels.<label>.keepClips, or it was pruned)`, { component: COMPONENT, code: 'clip.none' });
  let data: Buffer;
  try {
    data = fs.readFileSync(clip.path);
  } catch (err) {
    throw new InputMissingError(`clip file ${clip.path} of event ${found.event.id} cannot be read (${errnoCode(err) ?? (err as Error).message}); it may have been pruned`, { component: COMPONENT, code: 'clip.missing' });
  }
  const sha256 = crypto.createHash('sha256').update(data).digest('hex');
  if (sha256 !== clip.sha256) throw new DataError(`clip file ${clip.path} of event ${found.event.id} does not match its recorded sha256 (damaged)`, { component: COMPONENT, code: 'clip.damaged' });
  return { data, what: `${clip.format}, ${(clip.durationMs / 1000).toFixed(1)} s, ${data.length} bytes, sha256 ok, from ${clip.path}` };
}

/** The clip from a device over the request/response topics, through --url or the configured broker. */
async function remoteClip(config: Config, id: string, opts: ClipOptions & { device: string }): Promise<{ data: Buffer; what: string }> {
  const url = opts.url ?? config.mqtt.url;
  let protocol = '';
  try {
    protocol = new URL(url).protocol;
  } catch {
    // reported below
  }
  if (!(MQTT_URL_PROTOCOLS as readonly string[]).includes(protocol)) throw new UsageError(`--url ${url}: expected an mqtt://, mqtts://, ws:// or wss:// URL`, { component: COMPONENT, code: 'events.url' });
  if (/[#+/]/.test(opts.device)) throw new UsageError(`--device ${opts.device}: expected one device id`, { component: COMPONENT, code: 'events.device' });
  const mqtt = config.mqtt;
  // The configured credentials and TLS files, under a client id of its own (never the agent's).
  const connection = { ...connectionOptions(mqtt, config.device.id), clientId: `earshot-clip-${process.pid}-${crypto.randomBytes(3).toString('hex')}` };
  const broker = new MqttBroker({ url, connection, backoff: new ReconnectBackoff({ minMs: 500, maxMs: 2000 }), hints: { ...(mqtt.tls.ca ? { ca: mqtt.tls.ca } : {}), connectTimeoutSec: mqtt.connectTimeoutSec } });
  try {
    await connectWithin(broker, opts.timeout * 1000);
    const client = new DeviceClient({
      broker,
      prefix: opts.prefix ?? mqtt.topicPrefix,
      device: opts.device,
      idleTimeoutMs: opts.timeout * 1000,
      ...(mqtt.requestSecretFile ? { secret: readRequestSecret(mqtt.requestSecretFile) } : {}),
    });
    const { header, data } = await fetchClip(client, id);
    return { data, what: `${header.format}, ${(header.durationMs / 1000).toFixed(1)} s, ${data.length} bytes in ${header.chunks} chunk${header.chunks === 1 ? '' : 's'}, sha256 ok, from device ${opts.device} via ${broker.url}` };
  } finally {
    await broker.stop();
  }
}

export const registerEventsCommands: RegisterCommand = (program, ctx) => {
  const events = program.command('events').description('list, show and export the detections stored on this device; fetch their clips');

  events
    .command('list')
    .description(`list stored events, newest first (default: the last ${DEFAULT_LIST_LIMIT})`)
    .option('--since <time>', 'only events that started at or after this ISO 8601 time, or this long ago (30m, 12h, 7d)')
    .option('--label <label>', 'only events with this alert label (e.g. gunshot)')
    .option('--undelivered', 'only events whose alert the broker has not acknowledged')
    .option('--limit <n>', `show at most n events (default ${DEFAULT_LIST_LIMIT})`)
    .option('--json', 'print a JSON array of {event, state, alert, deliveredAt?, clip?}')
    .action((opts: { since?: string; label?: string; undelivered?: boolean; limit?: string; json?: boolean }, cmd: Command) => {
      const sinceMs = opts.since === undefined ? undefined : parseSince(opts.since, Date.now());
      const limit = opts.limit === undefined ? DEFAULT_LIST_LIMIT : parseLimit(opts.limit);
      withReader(cmd, ctx, (reader) => {
        if (opts.label !== undefined) checkLabel(reader, opts.label);
        const rows = reader.queries.list({ sinceMs, label: opts.label, undelivered: opts.undelivered, limit, order: 'desc' });
        if (opts.json) {
          ctx.stdout(`${JSON.stringify(rows, null, 2)}\n`);
          return;
        }
        if (rows.length === 0) {
          ctx.stdout('no events match\n');
          return;
        }
        printTable(ctx, rows);
      });
    });

  events
    .command('show')
    .description('show one event: by id, unique id prefix, or seq number')
    .argument('<id>', 'event id, id prefix (≥ 4 characters) or seq')
    .option('--json', 'print {event, state, alert, deliveredAt?, clip?} as JSON')
    .action((ref: string, opts: { json?: boolean }, cmd: Command) => {
      withReader(cmd, ctx, (reader, file) => {
        const found = findEvent(reader, ref.trim(), file);
        if (opts.json) ctx.stdout(`${JSON.stringify(found, null, 2)}\n`);
        else printEvent(ctx, found);
      });
    });

  events
    .command('clip')
    .description('write the clip of an event to a file: from this device\'s data folder, or with --device from a device over MQTT (checked by sha256, written atomically)')
    .argument('<id>', 'event id (with --device: the full id), id prefix (≥ 4 characters) or seq')
    .requiredOption('--out <file>', 'where to write the clip (replaced atomically)')
    .option('--device <id>', 'fetch it from this device over the request/response topics instead of the local data folder')
    .option('--url <url>', 'broker URL (default: mqtt.url of the configuration, with its credentials and TLS files)')
    .option('--prefix <prefix>', 'topic prefix of the devices (default: mqtt.topicPrefix)')
    .option('--timeout <sec>', 'how long to wait for the broker, and for each answer of the device', positiveSeconds, 30)
    .action(async (ref: string, opts: ClipOptions, cmd: Command) => {
      const got =
        opts.device === undefined
          ? localClip(cmd, ctx, ref.trim())
          : await remoteClip(loadConfig({ flag: globalOptions(cmd).config, env: ctx.env }).config, ref.trim(), { ...opts, device: opts.device });
      writeClip(opts.out, got.data);
      ctx.stdout(`wrote ${opts.out} (${got.what})\n`);
    });

  events
    .command('spectrogram')
    .description('write a PNG spectrogram of an event\'s clip (the model\'s log-mel, time and kHz axes, the event marked) from this device\'s data folder')
    .argument('<id>', 'event id, id prefix (≥ 4 characters) or seq')
    .requiredOption('--out <file>', 'where to write the PNG (an existing file is replaced atomically)')
    .option('--width <px>', `picture width in pixels, ${SIZE_LIMITS.minWidth}–${SIZE_LIMITS.maxWidth}`, String(DEFAULT_WIDTH))
    .option('--height <px>', `picture height in pixels, ${SIZE_LIMITS.minHeight}–${SIZE_LIMITS.maxHeight}`, String(DEFAULT_HEIGHT))
    .action(async (ref: string, opts: { out: string; width: string; height: string }, cmd: Command) => {
      const width = numberOption(COMPONENT, 'width', opts.width, SIZE_LIMITS.minWidth, SIZE_LIMITS.maxWidth, true);
      const height = numberOption(COMPONENT, 'height', opts.height, SIZE_LIMITS.minHeight, SIZE_LIMITS.maxHeight, true);
      const { config } = loadConfig({ flag: globalOptions(cmd).config, env: ctx.env });
      const { found, data } = withReader(cmd, ctx, (reader, file) => {
        const f = findEvent(reader, ref.trim(), file);
        return { found: f, data: checkedClip(f).data };
      });
      const { samples, sampleRate } = await decodeClip(data, found.clip!.path);
      const span = eventSpanInClip(found.event, samples.length / sampleRate, config.storage.clipPreSec);
      writeClip(opts.out, renderSpectrogramPng(samples, sampleRate, { span, width, height }));
      ctx.stdout(`wrote ${opts.out} (${width}×${height} PNG of ${(samples.length / sampleRate).toFixed(1)} s, ${found.event.label} from ${span.startSec.toFixed(1)} to ${span.endSec.toFixed(1)} s)\n`);
    });

  events
    .command('export')
    .description('write every stored event (oldest first) to stdout: JSON lines in the event contract, or CSV')
    .addOption(new Option('--format <format>', 'json (one event per line) or csv').choices(['json', 'csv']).default('json'))
    .option('--since <time>', 'only events that started at or after this ISO 8601 time, or this long ago (30m, 12h, 7d)')
    .option('--label <label>', 'only events with this alert label')
    .action((opts: { format: 'json' | 'csv'; since?: string; label?: string }, cmd: Command) => {
      const sinceMs = opts.since === undefined ? undefined : parseSince(opts.since, Date.now());
      withReader(cmd, ctx, (reader) => {
        if (opts.label !== undefined) checkLabel(reader, opts.label);
        if (opts.format === 'csv') ctx.stdout(`${EVENT_CSV_HEADER}\n`);
        for (const s of reader.queries.iterate({ sinceMs, label: opts.label })) {
          const e = contractEvent(s.event);
          ctx.stdout(`${opts.format === 'csv' ? eventCsvLine(e) : JSON.stringify(e)}\n`);
        }
      });
    });
};
