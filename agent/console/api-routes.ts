/**
 * The JSON API (agent/console/API.md) over a ConsoleBackend: query validation, the review body,
 * clips with Range, spectrograms. Transport concerns (security headers, sessions, static files)
 * are the server's (http-server.ts).
 */
import fs from 'node:fs';
import type http from 'node:http';
import type { Logger } from '../log.js';
import type { ConsoleBackend } from './backend.js';
import type { ClipResolution } from './clip-service.js';
import { MAX_ALERT_LIMIT } from './console-store.js';
import { parseRange } from './range.js';
import type { SpectrogramCache } from './spectrograms.js';
import { VERDICTS, type Alert, type AlertQuery, type Verdict } from './types.js';

export const MAX_NOTE_LENGTH = 2000;

export function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  sendJsonText(res, status, JSON.stringify(body));
}

/** A body already serialised as JSON. */
export function sendJsonText(res: http.ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** A request error the client can fix: status and message. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

function isoParam(params: URLSearchParams, name: string): number | undefined {
  const v = params.get(name);
  if (v === null || v === '') return undefined;
  const ms = Date.parse(v);
  if (!Number.isFinite(ms)) throw new HttpError(400, `${name}=${v}: expected an ISO 8601 time (e.g. 2026-03-01T12:00:00Z)`);
  return ms;
}

/** `limit`: a whole number from 1 to `max`, or undefined when absent. */
function limitParam(params: URLSearchParams, max: number): number | undefined {
  const limit = params.get('limit');
  if (limit === null || limit === '') return undefined;
  if (!/^\d+$/.test(limit) || Number(limit) < 1 || Number(limit) > max) throw new HttpError(400, `limit=${limit}: expected a whole number from 1 to ${max}`);
  return Number(limit);
}

export function alertQuery(params: URLSearchParams): AlertQuery {
  const q: AlertQuery = {};
  const label = params.get('label');
  if (label) q.label = label;
  const device = params.get('device');
  if (device) q.device = device;
  const since = isoParam(params, 'since');
  if (since !== undefined) q.sinceMs = since;
  const until = isoParam(params, 'until');
  if (until !== undefined) q.untilMs = until;
  const limit = limitParam(params, MAX_ALERT_LIMIT);
  if (limit !== undefined) q.limit = limit;
  return q;
}

export const DEFAULT_HEALTH_LIMIT = 288;
export const MAX_HEALTH_LIMIT = 2016;

/** `since` (ISO, default 24 h before now) and `limit` (1–2016, default 288: a day at the default 5 min) of a health history. */
export function healthQuery(params: URLSearchParams, nowMs: number): { sinceMs: number; limit: number } {
  const sinceMs = isoParam(params, 'since') ?? nowMs - 24 * 3600 * 1000;
  return { sinceMs, limit: limitParam(params, MAX_HEALTH_LIMIT) ?? DEFAULT_HEALTH_LIMIT };
}

/** The review body: `{verdict: "confirmed"|"false_alarm"|null, note?: string}`. */
export function parseReview(body: unknown): { verdict: Verdict; note: string } | null {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, 'expected a JSON object {verdict, note?}');
  const { verdict, note } = body as { verdict?: unknown; note?: unknown };
  if (verdict === null) return null;
  if (typeof verdict !== 'string' || !(VERDICTS as readonly string[]).includes(verdict)) throw new HttpError(400, `verdict: expected "confirmed", "false_alarm" or null, got ${JSON.stringify(verdict) ?? 'nothing'}`);
  if (note !== undefined && typeof note !== 'string') throw new HttpError(400, 'note: expected a string');
  if (typeof note === 'string' && note.length > MAX_NOTE_LENGTH) throw new HttpError(400, `note: at most ${MAX_NOTE_LENGTH} characters`);
  return { verdict: verdict as Verdict, note: note ?? '' };
}

export class ApiRoutes {
  constructor(
    private readonly backend: ConsoleBackend,
    private readonly spectrograms: SpectrogramCache,
    private readonly logger: Logger,
  ) {}

  status(res: http.ServerResponse): void {
    sendJson(res, 200, this.backend.status());
  }

  devices(res: http.ServerResponse): void {
    sendJson(res, 200, { devices: this.backend.devices() });
  }

  /** A device's health history: `since` (default a day ago), `limit` (default 288, at most 2016), oldest first. */
  health(res: http.ServerResponse, device: string, params: URLSearchParams, nowMs: number): void {
    const q = healthQuery(params, nowMs);
    const health = this.backend.healthHistory(device, q.sinceMs, q.limit);
    if (!health) throw new HttpError(404, `no device ${device}`);
    sendJson(res, 200, { device, since: new Date(q.sinceMs).toISOString(), health });
  }

  alerts(res: http.ServerResponse, params: URLSearchParams): void {
    const query = alertQuery(params);
    if (!this.backend.alertsJson) return sendJson(res, 200, { alerts: this.backend.alerts(query) });
    // Up to 2000 alerts (~1 MB): joined from their stored text, the same bytes sendJson would write.
    sendJsonText(res, 200, `{"alerts":[${this.backend.alertsJson(query).join(',')}]}`);
  }

  private known(id: string): Alert {
    const alert = this.backend.alert(id);
    if (!alert) throw new HttpError(404, `no alert with id ${id}`);
    return alert;
  }

  alert(res: http.ServerResponse, id: string): void {
    sendJson(res, 200, this.known(id));
  }

  review(res: http.ServerResponse, id: string, body: unknown): void {
    if (!this.backend.canReview) throw new HttpError(405, 'reviews are kept by the HQ console (earshot console --url); device mode is read-only');
    this.known(id);
    const review = parseReview(body);
    const alert = this.backend.review(id, review);
    if (!alert) throw new HttpError(404, `no alert with id ${id}`);
    sendJson(res, 200, alert);
  }

  /** The clip file, or the HttpError that says why not (404 none, 503 pending, 502 damaged). */
  private async clipFile(alert: Alert): Promise<Extract<ClipResolution, { kind: 'file' }>['clip']> {
    const r = await this.backend.clip(alert);
    switch (r.kind) {
      case 'file':
        return r.clip;
      case 'pending':
        throw new HttpError(503, r.reason, { pending: true });
      case 'none':
        throw new HttpError(404, r.reason);
      default:
        throw new HttpError(502, r.reason);
    }
  }

  async clip(req: http.IncomingMessage, res: http.ServerResponse, id: string): Promise<void> {
    const clip = await this.clipFile(this.known(id));
    let size: number;
    try {
      size = fs.statSync(clip.file).size;
    } catch {
      throw new HttpError(404, 'the clip file is gone (pruned)');
    }
    const type = clip.format === 'flac' ? 'audio/flac' : 'audio/wav';
    const range = parseRange(req.headers.range, size);
    const headers: Record<string, string | number> = { 'Content-Type': type, 'Accept-Ranges': 'bytes', 'Cache-Control': 'private, max-age=3600' };
    if (range === 'unsatisfiable') {
      res.writeHead(416, { ...headers, 'Content-Range': `bytes */${size}` });
      res.end();
      return;
    }
    const start = range ? range.start : 0;
    const end = range ? range.end : size - 1;
    headers['Content-Length'] = size === 0 ? 0 : end - start + 1;
    if (range) headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
    res.writeHead(range ? 206 : 200, headers);
    if (req.method === 'HEAD' || size === 0) {
      res.end();
      return;
    }
    await new Promise<void>((resolve) => {
      const stream = fs.createReadStream(clip.file, { start, end });
      stream.on('error', (err) => {
        this.logger.warn({ err: err.message, file: clip.file }, 'clip read failed');
        res.destroy();
        resolve();
      });
      stream.on('end', resolve);
      stream.pipe(res);
    });
  }

  async spectrogram(res: http.ServerResponse, id: string): Promise<void> {
    const alert = this.known(id);
    const clip = await this.clipFile(alert);
    let png: Buffer;
    try {
      png = await this.spectrograms.png(alert, clip, this.backend.clipPreSec(alert));
    } catch (err) {
      this.logger.warn({ err: (err as Error).message, id }, 'spectrogram failed');
      throw new HttpError(502, `cannot draw the clip: ${(err as Error).message}`);
    }
    res.writeHead(200, { 'Content-Type': 'image/png', 'Content-Length': png.length, 'Cache-Control': 'private, max-age=3600' });
    res.end(png);
  }
}
