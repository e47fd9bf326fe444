/**
 * The page's live stream (`GET /api/stream`, server-sent events): `event: alert|device|broker`
 * with JSON data. A comment line every `heartbeatMs` keeps proxies and the browser from calling
 * an idle stream dead, and lets a gone client be noticed (its write fails, it is dropped).
 */
import type http from 'node:http';
import { systemTimers, type TimerHandle, type Timers } from '../timers.js';

export const HEARTBEAT_MS = 15_000;

export class SseHub {
  private readonly clients = new Set<http.ServerResponse>();
  private heartbeat?: TimerHandle;

  constructor(
    private readonly timers: Timers = systemTimers,
    private readonly heartbeatMs = HEARTBEAT_MS,
  ) {}

  get size(): number {
    return this.clients.size;
  }

  start(): void {
    if (this.heartbeat !== undefined) return;
    const beat = () => {
      this.write(': heartbeat\n\n');
      this.heartbeat = this.timers.setTimeout(beat, this.heartbeatMs);
    };
    this.heartbeat = this.timers.setTimeout(beat, this.heartbeatMs);
  }

  /** Takes over a response: headers now, events from then on, until the client goes. */
  add(req: http.IncomingMessage, res: http.ServerResponse): void {
    res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
    // Tells EventSource how long to wait before reconnecting after the stream breaks.
    res.write('retry: 2000\n\n');
    this.clients.add(res);
    const drop = () => this.clients.delete(res);
    req.on('close', drop);
    res.on('error', drop);
  }

  send(event: string, data: unknown): void {
    this.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  private write(text: string): void {
    for (const res of this.clients) {
      if (res.destroyed || res.writableEnded) {
        this.clients.delete(res);
        continue;
      }
      res.write(text);
    }
  }

  /** Ends every stream (the server is stopping). */
  stop(): void {
    if (this.heartbeat !== undefined) this.timers.clearTimeout(this.heartbeat);
    this.heartbeat = undefined;
    for (const res of this.clients) res.end();
    this.clients.clear();
  }
}
