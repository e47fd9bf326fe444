/** Shared pieces of the console's server tests: a console in-process, API calls, an SSE reader. */
import { startConsole, type RunningConsole } from '../../agent/console/console-app.js';
import { silentLogger } from '../../agent/silent-logger.js';
import type { Config } from '../../config/schema.js';

export async function startHq(config: Config, dataDir: string, extra: { share?: string; url?: string; clipRetryDelaysMs?: number[]; clipIdleTimeoutMs?: number } = {}): Promise<RunningConsole> {
  return startConsole({ config, mode: 'hq', listen: { host: '127.0.0.1', port: 0 }, dataDir, version: 'test', logger: silentLogger(), ...extra });
}

export async function getJson<T = Record<string, unknown>>(base: string, path: string, init: RequestInit = {}): Promise<{ status: number; body: T; headers: Headers }> {
  const res = await fetch(`${base}${path}`, init);
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T, headers: res.headers };
}

export function post(base: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${base}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Earshot-Request': '1', ...headers }, body: JSON.stringify(body) });
}

export interface SseEvent {
  event: string;
  data: unknown;
}

/** Reads `GET /api/stream` into `events` until close(). */
export class SseReader {
  readonly events: SseEvent[] = [];
  readonly comments: string[] = [];
  private readonly abort = new AbortController();
  opened!: Promise<void>;

  start(base: string, headers: Record<string, string> = {}): this {
    this.opened = (async () => {
      const res = await fetch(`${base}/api/stream`, { signal: this.abort.signal, headers });
      if (res.status !== 200) throw new Error(`stream answered ${res.status}`);
      const reader = res.body!.getReader();
      const decoder = new TextDecoder();
      let buf = '';
      void (async () => {
        try {
          for (;;) {
            const { value, done } = await reader.read();
            if (done) return;
            buf += decoder.decode(value, { stream: true });
            let i;
            while ((i = buf.indexOf('\n\n')) >= 0) {
              const block = buf.slice(0, i);
              buf = buf.slice(i + 2);
              let event = 'message';
              let data: string | undefined;
              for (const line of block.split('\n')) {
                if (line.startsWith(':')) this.comments.push(line);
                else if (line.startsWith('event: ')) event = line.slice(7);
                else if (line.startsWith('data: ')) data = line.slice(6);
              }
              if (data !== undefined) this.events.push({ event, data: JSON.parse(data) });
            }
          }
        } catch {
          // aborted
        }
      })();
    })();
    return this;
  }

  of(event: string): unknown[] {
    return this.events.filter((e) => e.event === event).map((e) => e.data);
  }

  close(): void {
    this.abort.abort();
  }
}
