/**
 * The page's live stream (`GET /api/stream`, server-sent events): `event: alert|device|broker`
 * with JSON data. A comment line every `heartbeatMs` keeps proxies and the browser from calling
 * an idle stream dead, and lets a gone client be noticed (its write fails, it is dropped).
 *
 * A client that stops reading (a stalled tab, a dead link the kernel has not noticed yet) must not
 * make the console buffer for it without end: once more than `maxBufferedBytes` wait to be sent to
 * it, its stream is cut (the page's EventSource reconnects after `retry` and reloads the alerts).
 * `device` events are coalesced per device: at most one per `coalesceMs`, the latest state wins.
 */
import type http from 'node:http';
import { systemTimers, type TimerHandle, type Timers } from '../timers.js';

export const HEARTBEAT_MS = 15_000;
/** Bytes waiting for one client beyond which it is dropped. */
export const MAX_BUFFERED_BYTES = 1024 * 1024;
/** Shortest interval between two coalesced events of one key (sendLatest). */
export const COALESCE_MS = 1000;

export interface SseHubOptions {
  heartbeatMs?: number;
  maxBufferedBytes?: number;
  coalesceMs?: number;
}

interface Window {
  timer: TimerHandle;
  /**
   * The latest event held back during the window, as its text: a held object would outlive
   * young-generation collections and be promoted, growing the old heap at fleet rates.
   */
  pending?: string;
}

function frame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

export class SseHub {
  private readonly clients = new Set<http.ServerResponse>();
  private heartbeat?: TimerHandle;
  /** Open coalescing windows by `event\0key`. */
  private readonly windows = new Map<string, Window>();
  private readonly heartbeatMs: number;
  private readonly maxBufferedBytes: number;
  private readonly coalesceMs: number;
  /** Clients cut because they stopped reading. */
  dropped = 0;

  constructor(
    private readonly timers: Timers = systemTimers,
    opts: SseHubOptions = {},
  ) {
    this.heartbeatMs = opts.heartbeatMs ?? HEARTBEAT_MS;
    this.maxBufferedBytes = opts.maxBufferedBytes ?? MAX_BUFFERED_BYTES;
    this.coalesceMs = opts.coalesceMs ?? COALESCE_MS;
  }

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
    this.write(frame(event, data));
  }

  /**
   * Sends at most one `event` per `key` per coalesceMs: the first at once, the ones within the
   * window after it held back, and only the latest of those sent when the window closes.
   */
  sendLatest(event: string, key: string, data: unknown): void {
    const k = `${event}\0${key}`;
    const open = this.windows.get(k);
    if (open) {
      open.pending = frame(event, data);
      return;
    }
    this.send(event, data);
    this.openWindow(k);
  }

  private openWindow(k: string): void {
    const w: Window = {
      timer: this.timers.setTimeout(() => {
        this.windows.delete(k);
        if (w.pending === undefined) return;
        this.write(w.pending);
        this.openWindow(k);
      }, this.coalesceMs),
    };
    this.windows.set(k, w);
  }

  private write(text: string): void {
    for (const res of this.clients) {
      if (res.destroyed || res.writableEnded) {
        this.clients.delete(res);
        continue;
      }
      res.write(text);
      // writableLength: what the response and its socket still hold for this client.
      if (res.writableLength > this.maxBufferedBytes) {
        this.clients.delete(res);
        this.dropped++;
        // Destroyed, not ended: an ended response would keep its unsent bytes until the client reads.
        res.destroy();
      }
    }
  }

  /** Ends every stream (the server is stopping). */
  stop(): void {
    if (this.heartbeat !== undefined) this.timers.clearTimeout(this.heartbeat);
    this.heartbeat = undefined;
    for (const w of this.windows.values()) this.timers.clearTimeout(w.timer);
    this.windows.clear();
    for (const res of this.clients) res.end();
    this.clients.clear();
  }
}
