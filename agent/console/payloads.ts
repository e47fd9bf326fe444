/**
 * What the console accepts from the broker, validated before anything is stored: a device may be
 * old, buggy or hostile, and the console must neither crash nor keep nonsense. Each parser returns
 * the value or a reason naming the topic and what was expected; the ingest logs and counts reasons.
 * Unknown fields are dropped (the store keeps what the page shows); the device's clip path is
 * dropped too (a path on another machine means nothing here).
 */
import * as z from 'zod';
import { CATEGORIES, type Category } from '../event.js';
import type { HealthPayload } from '../health/health-payload.js';
import type { Alert, DeviceHealth } from './types.js';

/** Largest payload looked at: an event with many model labels is a few kB. */
export const MAX_PAYLOAD_BYTES = 64 * 1024;
const MAX_ID = 128;

/** Control characters (C0 and DEL): they would garble logs and file names. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/** Printable text without control characters. */
const text = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .refine((s) => !CONTROL.test(s), { message: 'expected no control characters' });
const isoTime = z.string().refine((s) => s.length <= 40 && Number.isFinite(Date.parse(s)), { message: 'expected an ISO 8601 time' });
const finite = z.number().refine(Number.isFinite, { message: 'expected a finite number' });
const location = z.object({ lat: finite.min(-90).max(90), lon: finite.min(-180).max(180) });

const eventSchema = z.object({
  id: text(MAX_ID),
  seq: z.number().int().positive().optional(),
  label: text(100),
  category: z.enum(CATEGORIES as [Category, ...Category[]]),
  confidence: finite.min(0).max(1),
  start: isoTime,
  end: isoTime,
  modelLabels: z.array(z.object({ label: text(200), score: finite })).max(50).default([]),
  model: z.object({ name: text(200), version: text(100), sha256: text(128) }).optional(),
  location: location.optional(),
  clockSynced: z.boolean().optional(),
  head: z.object({ name: text(200), sha256: text(128) }).optional(),
  clip: z
    .object({
      format: z.enum(['flac', 'wav']),
      durationMs: finite.min(0).max(3_600_000),
      sha256: z.string().regex(/^[0-9a-f]{64}$/, { message: 'expected 64 lower-case hex digits' }),
    })
    .optional(),
  state: z.enum(['open', 'closed']).optional(),
  rev: z.number().int().positive().optional(),
});

const statusSchema = z.object({
  state: z.enum(['online', 'offline']),
  version: text(100).optional(),
  startedAt: isoTime.optional(),
});

const healthSchema = z.object({
  at: isoTime,
  batteryPercent: finite.optional(),
  cpuTempC: finite.optional(),
  disk: z.object({ freeBytes: finite.min(0), totalBytes: finite.min(0) }).optional(),
  queue: z.object({ depth: z.number().int().min(0) }).optional(),
  clockSynced: z.boolean().optional(),
  soundLevelDbfs: finite.optional(),
  location: location.optional(),
});

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

export interface DeviceStatus {
  state: 'online' | 'offline';
  version?: string;
  startedAt?: string;
}

export interface ParsedHealth {
  health: DeviceHealth;
  location?: { lat: number; lon: number };
}

/** Device ids come from a topic level: no wildcards or slashes there, so only length and control characters matter. */
export function checkDeviceId(device: string): string | undefined {
  if (device.length === 0 || device.length > MAX_ID) return `device id of ${device.length} characters (expected 1 to ${MAX_ID})`;
  if (CONTROL.test(device)) return 'device id with control characters';
  return undefined;
}

function json(topic: string, payload: Buffer): Parsed<unknown> {
  if (payload.length > MAX_PAYLOAD_BYTES) return { ok: false, reason: `${topic}: payload of ${payload.length} bytes (at most ${MAX_PAYLOAD_BYTES} accepted)` };
  try {
    return { ok: true, value: JSON.parse(payload.toString('utf8')) };
  } catch {
    return { ok: false, reason: `${topic}: payload is not JSON` };
  }
}

function describe(topic: string, what: string, error: z.ZodError): string {
  const issues = error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(payload)'}: ${i.message}`);
  return `${topic}: not a valid ${what} (${issues.join('; ')})`;
}

function parseWith<T>(schema: z.ZodType<T>, topic: string, payload: Buffer, what: string): Parsed<T> {
  const raw = json(topic, payload);
  if (!raw.ok) return raw;
  const r = schema.safeParse(raw.value);
  return r.success ? { ok: true, value: r.data } : { ok: false, reason: describe(topic, what, r.error) };
}

/**
 * An event message as an Alert (without review). The device is the topic's (what the broker's
 * ACL vouches for), not the payload's; an event without rev counts as rev 1 (alert-consumer.ts).
 */
export function parseEventMessage(topic: string, device: string, payload: Buffer, receivedMs: number): Parsed<Alert> {
  const r = parseWith(eventSchema, topic, payload, 'event');
  if (!r.ok) return r;
  const e = r.value;
  const alert: Alert = {
    id: e.id,
    device,
    label: e.label,
    category: e.category,
    confidence: e.confidence,
    start: e.start,
    end: e.end,
    rev: e.rev ?? 1,
    state: e.state ?? 'closed',
    modelLabels: e.modelLabels,
    receivedAt: new Date(receivedMs).toISOString(),
  };
  if (e.seq !== undefined) alert.seq = e.seq;
  if (e.model) alert.model = e.model;
  if (e.location) alert.location = e.location;
  if (e.clockSynced !== undefined) alert.clockSynced = e.clockSynced;
  if (e.head) alert.head = e.head;
  if (e.clip) alert.clip = e.clip;
  return { ok: true, value: alert };
}

export function parseStatusMessage(topic: string, payload: Buffer): Parsed<DeviceStatus> {
  return parseWith(statusSchema, topic, payload, 'status ({"state":"online"|"offline", "version", "startedAt"})');
}

/** The health fields the page shows (the rest of the sample is kept in the history as it came). */
export function parseHealthMessage(topic: string, payload: Buffer): Parsed<ParsedHealth> {
  const r = parseWith(healthSchema, topic, payload, 'health sample');
  if (!r.ok) return r;
  const { location: where, queue, ...rest } = r.value;
  const health: DeviceHealth = { ...rest };
  if (queue) health.queue = { depth: queue.depth };
  return { ok: true, value: where ? { health, location: where } : { health } };
}

/**
 * The fields the page shows from a stored health sample (the agent's health JSON as it wrote or
 * published it); undefined when the text is not such a sample. Lenient: it reads samples the
 * agent stored and messages the ingest already validated.
 */
export function deviceHealthFromJson(text: string | undefined): DeviceHealth | undefined {
  let h: Partial<HealthPayload>;
  try {
    h = text ? (JSON.parse(text) as Partial<HealthPayload>) : {};
  } catch {
    return undefined;
  }
  if (typeof h !== 'object' || h === null || typeof h.at !== 'string') return undefined;
  const out: DeviceHealth = { at: h.at };
  if (typeof h.batteryPercent === 'number') out.batteryPercent = h.batteryPercent;
  if (typeof h.cpuTempC === 'number') out.cpuTempC = h.cpuTempC;
  if (h.disk) out.disk = { freeBytes: h.disk.freeBytes, totalBytes: h.disk.totalBytes };
  if (h.queue) out.queue = { depth: h.queue.depth };
  if (typeof h.clockSynced === 'boolean') out.clockSynced = h.clockSynced;
  if (typeof h.soundLevelDbfs === 'number') out.soundLevelDbfs = h.soundLevelDbfs;
  return out;
}

/** Stored health samples as the page shows them, in the given order; a text that is not a sample is left out. */
export function deviceHealthSamples(texts: readonly string[]): DeviceHealth[] {
  return texts.map(deviceHealthFromJson).filter((h): h is DeviceHealth => h !== undefined);
}
