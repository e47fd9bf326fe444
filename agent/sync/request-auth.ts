/**
 * Optional shared-secret authentication of requests (mqtt.requestSecretFile), so that anyone who
 * can publish on an open broker cannot reconfigure or restart a device.
 *
 * Scheme (version 1). The operator side sends, on `<prefix>/<device>/request/<action>`:
 *
 *     {"signed": "<request JSON text>", "hmac": "<hex>"}
 *
 * where the request JSON text is the usual request object plus `ts` (milliseconds since the
 * epoch when it was made), e.g. `{"transaction":"t-1","ts":1767225600000,"key":"mqtt.maxBytesPerSec","value":2000}`,
 * and `hmac` is the lowercase hex HMAC-SHA256, keyed with the secret (the first line of the
 * secret file, UTF-8, without the line break), of the UTF-8 bytes of
 *
 *     <full request topic> + "\n" + <request JSON text>
 *
 * The topic is covered so a signature made for one device or action cannot be reused for
 * another; the text is signed as sent, so nobody has to canonicalise JSON. The device refuses
 * (silently: no response, only a counter and a log line) a request that is not in this form, whose
 * hmac does not match, whose `ts` is more than mqtt.requestMaxSkewSec away from its clock, or
 * whose `transaction` it has already accepted within that window (replays; the seen list is kept
 * in the store, so a restart does not forget it).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import { ConfigError, errnoCode } from '../errors.js';

export const MIN_SECRET_LENGTH = 16;

/** The secret: the first line of the file, at least 16 characters. */
export function readRequestSecret(file: string): Buffer {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const why = errnoCode(err) === 'ENOENT' ? 'not found' : String((err as Error).message);
    throw new ConfigError(`mqtt.requestSecretFile: ${file}: cannot read the request secret: ${why}`, { component: 'sync', code: 'sync.secret', cause: err });
  }
  const secret = text.split(/\r?\n/)[0] ?? '';
  if (secret.length < MIN_SECRET_LENGTH) {
    throw new ConfigError(`mqtt.requestSecretFile: ${file}: the secret on its first line is ${secret.length} characters long; expected at least ${MIN_SECRET_LENGTH}`, {
      component: 'sync',
      code: 'sync.secret',
    });
  }
  return Buffer.from(secret, 'utf8');
}

export function requestMac(secret: Buffer | string, topic: string, signed: string): string {
  return crypto.createHmac('sha256', secret).update(`${topic}\n${signed}`, 'utf8').digest('hex');
}

/** Builds a signed request payload (for operator tools, tests and the README example). */
export function signRequest(secret: Buffer | string, topic: string, request: Record<string, unknown>, nowMs = Date.now()): string {
  const signed = JSON.stringify({ ts: nowMs, ...request });
  return JSON.stringify({ signed, hmac: requestMac(secret, topic, signed) });
}

export type VerifyResult = { ok: true; body: unknown } | { ok: false; reason: string };

/** Checks a parsed payload against the scheme; the body is the parsed request JSON text. */
export function verifySignedRequest(secret: Buffer, topic: string, envelope: unknown, nowMs: number, maxSkewMs: number): VerifyResult {
  if (typeof envelope !== 'object' || envelope === null) return { ok: false, reason: 'not a signed envelope' };
  const { signed, hmac } = envelope as { signed?: unknown; hmac?: unknown };
  if (typeof signed !== 'string' || typeof hmac !== 'string') return { ok: false, reason: 'unsigned (expected {"signed": "...", "hmac": "..."})' };
  const expected = Buffer.from(requestMac(secret, topic, signed), 'hex');
  const given = /^[0-9a-fA-F]{64}$/.test(hmac) ? Buffer.from(hmac, 'hex') : Buffer.alloc(0);
  if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) return { ok: false, reason: 'bad hmac' };
  let body: unknown;
  try {
    body = JSON.parse(signed);
  } catch {
    return { ok: false, reason: 'signed text is not JSON' };
  }
  const ts = (body as { ts?: unknown } | null)?.ts;
  if (typeof ts !== 'number' || !Number.isFinite(ts)) return { ok: false, reason: 'no numeric ts' };
  if (maxSkewMs > 0 && Math.abs(nowMs - ts) > maxSkewMs) return { ok: false, reason: `ts ${new Date(ts).toISOString()} is outside ±${maxSkewMs / 1000} s of the device clock` };
  return { ok: true, body };
}

export interface ReplayGuardOptions {
  /** How long a transaction is remembered (the skew window; with no time check, a day). */
  windowMs: number;
  /** Most transactions remembered. */
  max?: number;
  load?: () => string | undefined;
  save?: (text: string) => void;
}

/** Remembers accepted signed transactions, so a captured request cannot be played again. */
export class ReplayGuard {
  private seen = new Map<string, number>();
  private loaded = false;

  constructor(private readonly opts: ReplayGuardOptions) {}

  /** True (and remembered) if `transaction` was not accepted within the window; false for a replay. */
  accept(transaction: string, nowMs: number): boolean {
    this.load();
    for (const [t, at] of this.seen) {
      if (nowMs - at <= this.opts.windowMs) break; // insertion order = time order
      this.seen.delete(t);
    }
    if (this.seen.has(transaction)) return false;
    this.seen.set(transaction, nowMs);
    const max = this.opts.max ?? 10_000;
    while (this.seen.size > max) this.seen.delete(this.seen.keys().next().value!);
    try {
      this.opts.save?.(JSON.stringify([...this.seen]));
    } catch {
      // Remembered in memory at least.
    }
    return true;
  }

  private load(): void {
    if (this.loaded) return;
    this.loaded = true;
    try {
      const text = this.opts.load?.();
      if (text) this.seen = new Map(JSON.parse(text) as [string, number][]);
    } catch {
      this.seen = new Map();
    }
  }
}
