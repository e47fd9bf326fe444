/**
 * The one configuration schema: it yields the TypeScript type (`Config`), the defaults, the
 * validation, the environment overrides (`EARSHOT_<SECTION>_<KEY>`), the commented default
 * file and the README reference. Every key carries a description (`doc`) for those last two.
 *
 * Objects are strict: an unknown key is an error, so a typo never passes silently.
 * Sections use `.prefault({})` so that their own defaults are filled in when absent.
 */
import os from 'node:os';
import * as z from 'zod';

/** Metadata read by the env, docs and redaction code. `secret` values are never shown or logged. */
export interface KeyMeta {
  description: string;
  secret?: boolean;
  /** Shown in docs instead of a computed default (e.g. the hostname). */
  defaultText?: string;
  /** Accepted values in words, for docs and messages. */
  accepts?: string;
  [k: string]: unknown;
}

function doc<T extends z.ZodType>(schema: T, description: string, extra: Omit<KeyMeta, 'description'> = {}): T {
  return schema.meta({ description, ...extra }) as T;
}

function section<T extends z.ZodRawShape>(shape: T, description: string) {
  return doc(z.strictObject(shape).prefault({} as never), description);
}

/** MQTT topic levels and file names must not contain these. */
export const DEVICE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const LABEL_PATTERN = /^[a-z][a-z0-9_]{0,31}$/;
const TIME_OF_DAY = /^(?:[01]\d|2[0-3]):[0-5]\d$/;
const SOLAR_TIME = /^(?:sunrise|sunset)(?:[+-](?:[01]?\d|2[0-3]):[0-5]\d)?$/;
export const MQTT_URL_PROTOCOLS = ['mqtt:', 'mqtts:', 'ws:', 'wss:'] as const;

/** Default of `detection.head`: "none" (the class map alone) until a head ships; then "default". */
export const DEFAULT_DETECTION_HEAD = 'none';

/** The machine's hostname, made safe for MQTT topics: the default device id. */
export function defaultDeviceId(): string {
  const cleaned = os
    .hostname()
    .replace(/[^A-Za-z0-9_.-]/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 64);
  return cleaned || 'earshot';
}

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

function isMqttUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (MQTT_URL_PROTOCOLS as readonly string[]).includes(url.protocol) && url.hostname !== '';
  } catch {
    return false;
  }
}

const int = (min: number, max: number) => z.number().int().min(min).max(max);
const path = () => z.string().min(1);
const percent = () => z.number().min(0).max(100);
const timeExpr = () =>
  z.string().refine((v) => TIME_OF_DAY.test(v) || SOLAR_TIME.test(v), {
    message: 'expected a time "HH:MM" (24 h, local to device.timezone) or "sunrise"/"sunset" with an optional offset like "sunrise-00:30"',
  });

const labelSettings = z.strictObject({
  enabled: doc(z.boolean().optional(), 'Report this label at all (default from the class map).'),
  threshold: doc(z.number().min(0).max(1).optional(), 'Score (0–1) above which an event opens (default from the class map).'),
  keepClips: doc(z.boolean().optional(), 'Keep an audio clip for events of this label (human_voice is off by default, for privacy).'),
});

export const configSchema = z.strictObject({
  device: section(
    {
      id: doc(
        z
          .string()
          .regex(DEVICE_ID_PATTERN, {
            message: 'expected 1–64 letters, digits, "_", "." or "-" (no spaces, "/", "+" or "#": it is an MQTT topic level)',
          })
          .default(defaultDeviceId),
        'Device id: the MQTT topic level and the `device` field of every event.',
        { defaultText: 'the hostname' },
      ),
      name: doc(z.string().max(200).optional(), 'Human-readable name of the site or device.'),
      location: doc(
        z
          .strictObject({
            lat: doc(z.number().min(-90).max(90), 'Latitude in degrees (WGS84).'),
            lon: doc(z.number().min(-180).max(180), 'Longitude in degrees (WGS84).'),
          })
          .optional(),
        'Where the device is; added to events and used for sunrise/sunset.',
      ),
      timezone: doc(
        z.string().refine(isTimeZone, { message: 'expected an IANA time zone such as "UTC" or "America/Belize"' }).default('UTC'),
        'IANA time zone for daily schedule windows.',
      ),
    },
    'Identity and place of this recorder.',
  ),
  audio: section(
    {
      source: doc(z.enum(['alsa', 'file', 'stdin']).default('alsa'), 'Where audio comes from: an ALSA microphone, a file replay, or raw PCM on stdin.'),
      device: doc(z.string().min(1).default('default'), 'ALSA capture device (see `arecord -L`), e.g. "plughw:1,0".'),
      recorder: doc(z.enum(['arecord', 'sox']).default('arecord'), 'Program that reads the microphone.'),
      recorderCommand: doc(
        z.string().min(1).optional(),
        'Shell command that writes raw signed 16-bit little-endian PCM (at sampleRate, channels) to stdout, instead of the arecord/sox command built from the keys above; it is restarted with backoff when it exits.',
      ),
      sampleRate: doc(int(8000, 192000).default(32000), 'Capture sample rate in Hz; resampled to the model rate when different.'),
      channels: doc(int(1, 8).default(1), 'Captured channels; mixed to mono for detection.'),
      gainDb: doc(z.number().min(-40).max(40).default(0), 'Digital gain applied before detection, in dB.'),
      file: doc(path().optional(), 'Recording to replay when source is "file" (WAV, or FLAC/MP3/OGG with sox).'),
      realtime: doc(z.boolean().default(true), 'Replay a file at real-time pace (false: as fast as possible).'),
      loop: doc(z.boolean().default(false), 'Replay the file again when it ends.'),
    },
    'Audio capture.',
  ),
  detection: section(
    {
      model: doc(z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, { message: 'expected a model name such as "efficientat-mn04"' }).default('efficientat-mn04'), 'Model to run (see `earshot models list`).'),
      windowSec: doc(z.number().min(0.5).max(10).default(5), 'Length of audio the model sees at once, in seconds (the model was trained on 10 s clips; windows under 2 s lose much recall).'),
      hopSec: doc(z.number().min(0.1).max(10).default(2.5), 'Step between windows, in seconds (≤ windowSec).'),
      voice: doc(z.boolean().default(true), 'Use the Silero voice activity detector as extra evidence for human_voice.'),
      threads: doc(int(1, 8).default(1), 'Inference threads (1 saves power on a Pi).'),
      activityGate: doc(
        z
          .strictObject({
            enabled: doc(z.boolean().default(false), 'Skip inference on quiet, stationary windows (steady noise, near-silence) to save energy. Off by default: on the development corpus it either saves nothing or costs recall on distant shots (see the README).'),
            loudDbfs: doc(z.number().min(-120).max(0).default(-30), 'A window whose loudest frame reaches this level (dBFS) always goes to the model.'),
            transientDb: doc(z.number().min(0).max(60).default(9), 'A window whose loudest frame is this many dB above its median frame (a shot, a bang, a voice) goes to the model.'),
            tonalFlatness: doc(z.number().min(0).max(1).default(0.2), 'A window with an audible frame this tonal (spectral flatness at or below; engines, saws, voices, birds) goes to the model.'),
            floorDbfs: doc(z.number().min(-120).max(0).default(-70), 'Frames below this level (dBFS) count as silence for the tonal test.'),
          })
          .prefault({}),
        'The activity gate in front of the model.',
      ),
      head: doc(
        z.string().min(1, { message: 'expected "none", "default" or the path of a head file' }).default(DEFAULT_DETECTION_HEAD),
        'Site head that scores its labels instead of the class map: "none" (the class map alone), "default" (the head shipped with Earshot) or the path of a head file made by `earshot train`. A head trained on another model is refused.',
        { accepts: '"none", "default" or a file path' },
      ),
      labels: doc(
        z.record(z.string().regex(LABEL_PATTERN, { message: 'expected a label name such as "gunshot"' }), labelSettings).default({}),
        'Per-label overrides, e.g. `gunshot: {threshold: 0.3}` or `dog: {enabled: false}`.',
      ),
    },
    'What to listen for and how sure to be.',
  ),
  storage: section(
    {
      dataDir: doc(path().default('/var/lib/earshot'), 'Folder for the database, clips and installed models.'),
      maxDatabaseMB: doc(z.number().min(1).default(512), 'Largest the event database may grow, in MiB.'),
      maxClipMB: doc(z.number().min(0).default(2048), 'Largest total size of kept clips, in MiB.'),
      minFreePercent: doc(percent().default(5), 'Prune before free disk space falls below this share.'),
      minFreeMB: doc(z.number().min(0).default(200), 'Prune before free disk space falls below this many MiB.'),
      retentionDays: doc(z.number().min(1).default(90), 'Delivered events older than this are pruned.'),
      clipPreSec: doc(z.number().min(0).max(30).default(2), 'Audio kept before an event, in seconds.'),
      clipPostSec: doc(z.number().min(0).max(30).default(3), 'Audio kept after an event, in seconds.'),
      clipFormat: doc(z.enum(['flac', 'wav']).default('flac'), 'Clip format (FLAC needs sox or flac; falls back to WAV).'),
    },
    'Where detections and clips are kept, and how much.',
  ),
  mqtt: section(
    {
      enabled: doc(z.boolean().default(true), 'Send events, status and health to the broker.'),
      url: doc(
        z.string().refine(isMqttUrl, { message: 'expected an mqtt://, mqtts://, ws:// or wss:// URL' }).default('mqtt://localhost:1883'),
        'Broker URL.',
      ),
      topicPrefix: doc(
        z.string().regex(/^[^#+\s]+$/, { message: 'expected a topic prefix without "#", "+" or spaces' }).default('earshot'),
        'First topic level(s): `<prefix>/<device>/events`.',
      ),
      clientId: doc(z.string().min(1).max(128).optional(), 'MQTT client id.', { defaultText: '"earshot-" + device.id' }),
      keepalive: doc(int(0, 65535).default(60), 'Keep-alive interval in seconds (0 disables).'),
      protocolVersion: doc(z.union([z.literal(5), z.literal(4)]).default(5), 'MQTT protocol: 5, or 4 for MQTT 3.1.1 brokers.', { accepts: '5 or 4' }),
      username: doc(z.string().optional(), 'Broker user name.'),
      password: doc(z.string().optional(), 'Broker password (prefer passwordFile or EARSHOT_MQTT_PASSWORD).', { secret: true }),
      passwordFile: doc(path().optional(), 'File holding the broker password (first line).'),
      tls: doc(
        z
          .strictObject({
            ca: doc(path().optional(), 'CA certificate file (PEM) to trust for the broker.'),
            cert: doc(path().optional(), 'Client certificate file (PEM).'),
            key: doc(path().optional(), 'Client private key file (PEM).'),
            servername: doc(z.string().optional(), 'TLS server name (SNI) when it differs from the URL host.'),
            rejectUnauthorized: doc(z.boolean().default(true), 'Refuse brokers whose certificate does not verify.'),
          })
          .prefault({}),
        'TLS files for mqtts:// and wss://.',
      ),
      connectTimeoutSec: doc(int(1, 300).default(30), 'Give up on one connection attempt (TCP, TLS and CONNACK) after this many seconds.'),
      reconnectMinSec: doc(z.number().min(0.1).max(3600).default(1), 'Delay before the first reconnect attempt after a failed or lost connection, in seconds; it doubles with each failure.'),
      reconnectMaxSec: doc(
        z.number().min(0.1).max(86400).default(5),
        'Longest delay between reconnect attempts, in seconds. Each delay is shortened by a random share of up to half, so devices do not reconnect in step.',
      ),
      inFlight: doc(int(1, 1000).default(16), "Most QoS 1 messages published and not yet acknowledged at once (also capped by the broker's receive maximum)."),
      ackTimeoutSec: doc(
        int(1, 3600).default(30),
        'A message the broker has not acknowledged after this many seconds means the link is stuck: the connection is dropped and the message sent again.',
      ),
      maxMessagesPerSec: doc(z.number().min(0).default(0), 'Most messages published per second, for metered links (0: no limit).'),
      maxBytesPerSec: doc(z.number().min(0).default(0), 'Most payload bytes published per second, for metered links (0: no limit).'),
      healthQos: doc(z.union([z.literal(0), z.literal(1)]).default(1), 'QoS of the retained health message.', { accepts: '0 or 1' }),
      requestSecretFile: doc(
        path().optional(),
        'File holding the shared secret (first line, at least 16 characters) requests must be signed with (HMAC-SHA256, see the README); unsigned or badly signed requests are then ignored.',
      ),
      requestMaxSkewSec: doc(
        int(0, 7 * 86400).default(600),
        'Signed requests whose `ts` is further than this many seconds from the device clock are ignored, as replays (0: no time check, for devices without a synced clock).',
      ),
      maxRequestBytes: doc(int(256, 1024 * 1024).default(16384), 'Largest request payload handled, in bytes; larger ones get an error response.'),
    },
    'The broker that receives alerts.',
  ),
  health: section(
    {
      intervalSec: doc(int(10, 86400).default(300), 'How often health is sampled, stored and published, in seconds.'),
      battery: doc(
        z
          .strictObject({
            source: doc(z.enum(['none', 'sysfs', 'file', 'command']).default('none'), 'Where the battery level comes from.'),
            path: doc(path().optional(), 'sysfs power_supply folder or a file holding volts/percent.'),
            command: doc(z.string().min(1).optional(), 'Command that prints the battery level.'),
          })
          .prefault({}),
        'Battery / solar telemetry.',
      ),
    },
    'Device health telemetry.',
  ),
  schedule: section(
    {
      mode: doc(z.enum(['always', 'windows']).default('always'), 'Listen always, or only inside `windows`.'),
      windows: doc(
        z.array(z.strictObject({ from: timeExpr(), to: timeExpr() })).default([]),
        'Daily listening windows, e.g. `{from: "sunset-01:00", to: "sunrise+01:00"}`.',
      ),
      lowBattery: doc(
        z
          .strictObject({
            pauseInferenceBelowPercent: doc(percent().default(20), 'Below this battery level, stop inference (capture goes on).'),
            pauseCaptureBelowPercent: doc(percent().default(10), 'Below this battery level, stop capture too.'),
            resumeHysteresisPercent: doc(percent().default(5), 'Resume only this many points above the pause level.'),
          })
          .prefault({}),
        'What to give up when the battery runs low.',
      ),
    },
    'When to listen.',
  ),
  log: section(
    {
      level: doc(z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'), 'Log level.'),
      format: doc(z.enum(['auto', 'json', 'pretty']).default('auto'), 'JSON lines (for journald), pretty text, or auto: pretty on a terminal.'),
    },
    'Logging.',
  ),
}).superRefine((cfg, ctx) => {
  if (cfg.detection.hopSec > cfg.detection.windowSec) {
    ctx.addIssue({ code: 'custom', path: ['detection', 'hopSec'], input: cfg.detection.hopSec, message: `expected at most detection.windowSec (${cfg.detection.windowSec})` });
  }
  if (cfg.audio.source === 'file' && cfg.audio.file === undefined) {
    ctx.addIssue({ code: 'custom', path: ['audio', 'file'], input: undefined, message: 'expected a file path when audio.source is "file"' });
  }
  const lb = cfg.schedule.lowBattery;
  if (lb.pauseCaptureBelowPercent > lb.pauseInferenceBelowPercent) {
    ctx.addIssue({ code: 'custom', path: ['schedule', 'lowBattery', 'pauseCaptureBelowPercent'], input: lb.pauseCaptureBelowPercent, message: `expected at most schedule.lowBattery.pauseInferenceBelowPercent (${lb.pauseInferenceBelowPercent})` });
  }
  if (cfg.mqtt.reconnectMaxSec < cfg.mqtt.reconnectMinSec) {
    ctx.addIssue({ code: 'custom', path: ['mqtt', 'reconnectMaxSec'], input: cfg.mqtt.reconnectMaxSec, message: `expected at least mqtt.reconnectMinSec (${cfg.mqtt.reconnectMinSec})` });
  }
  if (cfg.mqtt.password !== undefined && cfg.mqtt.passwordFile !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['mqtt', 'password'], input: '[redacted]', message: 'expected either mqtt.password or mqtt.passwordFile, not both' });
  }
});

export type Config = z.output<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
export type LabelSettings = z.output<typeof labelSettings>;
