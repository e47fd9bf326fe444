/**
 * The console's web server (node:http): the page's files, the JSON API, the live stream, and the
 * security rules of issue 14 item 5 — security headers on every response; with a password, every
 * /api route but login answers 401 without a session; POSTs refused (403) without a JSON type,
 * the X-Earshot-Request header and a same-origin Origin. The page itself is always served: it
 * shows the login form when the API says 401.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log.js';
import { systemTimers, type Timers } from '../timers.js';
import { ApiRoutes, HttpError, sendJson } from './api-routes.js';
import type { BackendEvents, ConsoleBackend } from './backend.js';
import { postRefusal, setSecurityHeaders } from './http-security.js';
import type { ListenAddress } from './listen-address.js';
import { verifyPassword, type PasswordHash } from './password.js';
import { SESSION_COOKIE, Sessions, cookieValue } from './sessions.js';
import { SpectrogramCache } from './spectrograms.js';
import { SseHub, type SseHubOptions } from './sse.js';
import { readStaticFile } from './static-files.js';

/** Largest POST body read (a review note is at most 2000 characters). */
const MAX_BODY_BYTES = 16 * 1024;

export interface ConsoleServerOptions {
  backend: ConsoleBackend;
  listen: ListenAddress;
  /** The page's files (static-files.ts webFolder()). */
  webDir: string | undefined;
  /** With a password, the API needs a session. */
  password?: PasswordHash;
  logger: Logger;
  timers?: Timers;
  sessions?: Sessions;
  heartbeatMs?: number;
  /** The live stream's limits (sse.ts): the client buffer bound, the device-event interval. */
  sse?: Pick<SseHubOptions, 'maxBufferedBytes' | 'coalesceMs'>;
}

export class ConsoleServer {
  private server?: http.Server;
  private sse?: SseHub;
  private routes?: ApiRoutes;
  private sessions?: Sessions;
  private readonly forward = {
    alert: (a: BackendEvents['alert'][0]) => this.sse?.send('alert', a),
    // A busy device would otherwise send its state with every event: once a second at most, the latest.
    device: (d: BackendEvents['device'][0]) => this.sse?.sendLatest('device', d.device, d),
    broker: (b: BackendEvents['broker'][0]) => this.sse?.send('broker', { connected: b.connected }),
  };

  constructor(private readonly opts: ConsoleServerOptions) {}

  /** The address and port actually bound (port 0 picks a free one). */
  get address(): ListenAddress {
    const a = this.server?.address() as AddressInfo | null | undefined;
    return a ? { host: a.address, port: a.port } : this.opts.listen;
  }

  get url(): string {
    const { host, port } = this.address;
    return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  }

  async start(): Promise<void> {
    if (this.server) return;
    const { opts } = this;
    this.sessions = opts.sessions ?? new Sessions();
    this.sse = new SseHub(opts.timers ?? systemTimers, { ...opts.sse, ...(opts.heartbeatMs ? { heartbeatMs: opts.heartbeatMs } : {}) });
    this.routes = new ApiRoutes(opts.backend, new SpectrogramCache(), opts.logger);
    const server = http.createServer((req, res) => void this.handle(req, res));
    // A slow or idle client must not hold a socket for ever (the stream keeps itself alive with heartbeats).
    server.requestTimeout = 30_000;
    server.headersTimeout = 15_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.listen.port, opts.listen.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => opts.logger.error({ err }, 'http server error'));
    this.server = server;
    this.sse.start();
    opts.backend.on('alert', this.forward.alert);
    opts.backend.on('device', this.forward.device);
    opts.backend.on('broker', this.forward.broker);
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    this.opts.backend.off('alert', this.forward.alert);
    this.opts.backend.off('device', this.forward.device);
    this.opts.backend.off('broker', this.forward.broker);
    this.sse?.stop();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    setSecurityHeaders(res);
    try {
      await this.route(req, res);
    } catch (err) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (err instanceof HttpError) {
        sendJson(res, err.status, { error: err.message, ...err.extra });
        return;
      }
      this.opts.logger.error({ err, url: req.url }, 'request failed');
      sendJson(res, 500, { error: 'internal error (see the console log)' });
    }
  }

  private async route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://console.invalid');
    const method = req.method ?? 'GET';
    const p = url.pathname;
    if (!p.startsWith('/api/')) return this.page(method, p, res);
    const routes = this.routes!;
    if (method === 'POST') {
      const refusal = postRefusal(req);
      if (refusal) throw new HttpError(403, refusal);
    }
    if (p === '/api/login') return this.login(req, res, method);
    if (p === '/api/logout') return this.logout(req, res, method);
    if (this.opts.password && !this.sessions!.valid(cookieValue(req.headers.cookie, SESSION_COOKIE))) throw new HttpError(401, 'login required', { login: true });
    const get = method === 'GET' || method === 'HEAD';
    if (p === '/api/status') return this.only(get, () => routes.status(res));
    if (p === '/api/devices') return this.only(get, () => routes.devices(res));
    if (p === '/api/alerts') return this.only(get, () => routes.alerts(res, url.searchParams));
    if (p === '/api/stream') return this.only(get, () => this.sse!.add(req, res));
    const dh = /^\/api\/devices\/([^/]+)\/health$/.exec(p);
    if (dh) return this.only(get, () => routes.health(res, decodedSegment(dh[1]!, 'device id'), url.searchParams, Date.now()));
    const m = /^\/api\/alerts\/([^/]+)(?:\/(clip|spectrogram\.png|review))?$/.exec(p);
    if (m) {
      const id = decodedSegment(m[1]!, 'alert id');
      switch (m[2]) {
        case undefined:
          return this.only(get, () => routes.alert(res, id));
        case 'clip':
          if (!get) throw new HttpError(405, `${method} ${p}: expected GET`);
          return routes.clip(req, res, id);
        case 'spectrogram.png':
          if (!get) throw new HttpError(405, `${method} ${p}: expected GET`);
          return routes.spectrogram(res, id);
        default:
          if (method !== 'POST') throw new HttpError(405, `${method} ${p}: expected POST`);
          return routes.review(res, id, await readJson(req));
      }
    }
    throw new HttpError(404, `no such API route: ${method} ${p}`);
  }

  private only(allowed: boolean, fn: () => void): void {
    if (!allowed) throw new HttpError(405, 'method not allowed here');
    fn();
  }

  private page(method: string, p: string, res: http.ServerResponse): void {
    if (method !== 'GET' && method !== 'HEAD') {
      res.writeHead(405, { 'Content-Type': 'text/plain; charset=utf-8', Allow: 'GET, HEAD' });
      res.end('method not allowed\n');
      return;
    }
    const name = p === '/' || p === '/index.html' ? 'index.html' : p.startsWith('/static/') ? p.slice('/static/'.length) : undefined;
    const file = name === undefined ? undefined : readStaticFile(this.opts.webDir, name);
    if (!file) {
      const body = this.opts.webDir || name !== 'index.html' ? 'not found\n' : 'the console page is not installed (agent/console/web is missing from this installation)\n';
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(body);
      return;
    }
    // no-cache: the browser revalidates, so a console update is seen at the next load.
    res.writeHead(200, { 'Content-Type': file.type, 'Content-Length': file.body.length, 'Cache-Control': 'no-cache' });
    res.end(method === 'HEAD' ? undefined : file.body);
  }

  private async login(req: http.IncomingMessage, res: http.ServerResponse, method: string): Promise<void> {
    if (method !== 'POST') throw new HttpError(405, 'POST /api/login {password}');
    const body = (await readJson(req)) as { password?: unknown } | null;
    const password = this.opts.password;
    if (!password) return sendJson(res, 200, { ok: true, passwordRequired: false });
    const address = req.socket.remoteAddress ?? '?';
    if (!this.sessions!.mayTry(address)) throw new HttpError(429, 'too many wrong passwords from this address; wait 10 minutes');
    if (typeof body?.password !== 'string' || !(await verifyPassword(body.password, password))) {
      this.sessions!.failed(address);
      this.opts.logger.warn({ address }, 'console login refused: wrong password');
      throw new HttpError(401, 'wrong password', { login: true });
    }
    const token = this.sessions!.create();
    res.setHeader('Set-Cookie', `${SESSION_COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${Math.floor(this.sessions!.ttlMs / 1000)}`);
    sendJson(res, 200, { ok: true });
  }

  private async logout(req: http.IncomingMessage, res: http.ServerResponse, method: string): Promise<void> {
    if (method !== 'POST') throw new HttpError(405, 'POST /api/logout');
    await readJson(req);
    this.sessions!.end(cookieValue(req.headers.cookie, SESSION_COOKIE));
    res.setHeader('Set-Cookie', `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`);
    sendJson(res, 200, { ok: true });
  }
}

/** The JSON body of a POST (at most MAX_BODY_BYTES); null for an empty body. */
function readJson(req: http.IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(new HttpError(413, `request body over ${MAX_BODY_BYTES} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('error', reject);
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.trim() === '') return resolve(null);
      try {
        resolve(JSON.parse(text));
      } catch {
        reject(new HttpError(400, 'request body is not JSON'));
      }
    });
  });
}

/** A path segment, percent-decoded; a 400 naming what it is when the encoding is broken. */
function decodedSegment(segment: string, what: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpError(400, `${what}: not valid percent-encoding`);
  }
}
