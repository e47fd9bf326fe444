/**
 * One HTTP(S) download as a single continuous byte stream, for the model installer.
 *
 * A Pi in the field often has a poor link: a connection that drops midway is resumed with an HTTP
 * Range request from the byte already received, so the consumer (which hashes and writes) sees
 * one uninterrupted stream and never has to rewind. A server that ignores Range (answers 200)
 * sends the file again: the bytes already delivered are skipped, so the stream stays correct,
 * only slower. A connection that stalls (no byte for `idleMs`) is aborted and resumed the same
 * way. Permanent answers (404, 403, ...) fail at once; network errors and 5xx/408/429 are retried.
 */

/** A download that cannot complete; `status` is the HTTP status when there was one. */
export class DownloadError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface DownloadOptions {
  fetch?: typeof fetch;
  /** Attempts in all, first included (default 4). */
  attempts?: number;
  /** Abort a connection that delivers nothing for this long (default 30 s). */
  idleMs?: number;
  /** Wait before attempt n (1-based retry count); default 1 s, 2 s, 4 s... */
  sleep?: (ms: number) => Promise<void>;
  backoffMs?: (retry: number) => number;
  /** Told before each retry, for the technician watching the terminal. */
  onRetry?: (info: { url: string; attempt: number; attempts: number; received: number; reason: string }) => void;
}

const RETRYABLE = new Set([408, 429, 500, 502, 503, 504]);

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Aborts a request when no chunk arrives for `ms`; `touch()` after each chunk. */
function idleGuard(ms: number): { signal: AbortSignal; touch(): void; stop(): void } {
  const ctl = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const touch = () => {
    clearTimeout(timer);
    timer = setTimeout(() => ctl.abort(new Error(`no data for ${Math.round(ms / 1000)} s`)), ms);
    timer.unref();
  };
  touch();
  return { signal: ctl.signal, touch, stop: () => clearTimeout(timer) };
}

/** `bytes 100-199/200` → 100 (the first byte sent), or undefined. */
function rangeStart(header: string | null): number | undefined {
  const m = header ? /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(header.trim()) : null;
  return m ? Number(m[1]) : undefined;
}

/**
 * Starts downloading `url` and returns its bytes. The first request is made before this resolves,
 * so "404" or "host unreachable" surfaces here, before the caller creates any file.
 */
export async function openDownload(url: string, opts: DownloadOptions = {}): Promise<AsyncIterable<Uint8Array>> {
  const doFetch = opts.fetch ?? globalThis.fetch;
  const attempts = Math.max(1, opts.attempts ?? 4);
  const idleMs = opts.idleMs ?? 30_000;
  const sleep = opts.sleep ?? defaultSleep;
  const backoff = opts.backoffMs ?? ((retry: number) => 1000 * 2 ** (retry - 1));
  let attempt = 0;

  /** One request from byte `from`; resolves to a body positioned at `from` (skip already applied by the caller). */
  const request = async (from: number, reason = ''): Promise<{ body: AsyncIterable<Uint8Array>; skip: number; guard: ReturnType<typeof idleGuard> }> => {
    let lastReason = reason;
    while (attempt < attempts) {
      attempt++;
      if (attempt > 1) {
        opts.onRetry?.({ url, attempt, attempts, received: from, reason: lastReason });
        await sleep(backoff(attempt - 1));
      }
      const guard = idleGuard(idleMs);
      let res: Response;
      try {
        res = await doFetch(url, { signal: guard.signal, headers: from > 0 ? { Range: `bytes=${from}-` } : {} });
      } catch (err) {
        guard.stop();
        lastReason = errorText(err);
        continue;
      }
      if (res.status === 206 && from > 0 && rangeStart(res.headers.get('content-range')) === from && res.body) {
        return { body: res.body as unknown as AsyncIterable<Uint8Array>, skip: 0, guard };
      }
      if (res.ok && res.body) {
        // A 200 (or a 206 for some other range): the whole file again; drop what we already have.
        return { body: res.body as unknown as AsyncIterable<Uint8Array>, skip: from, guard };
      }
      guard.stop();
      await res.body?.cancel().catch(() => undefined);
      const status = `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`;
      if (!RETRYABLE.has(res.status)) throw new DownloadError(status, res.status);
      lastReason = status;
    }
    throw new DownloadError(`${lastReason} (gave up after ${attempts} attempts${from > 0 ? `, ${from} bytes received` : ''})`);
  };

  const first = await request(0);

  async function* stream(): AsyncGenerator<Uint8Array> {
    let received = 0;
    let current: Awaited<ReturnType<typeof request>> = first;
    for (;;) {
      const { body, guard } = current;
      let skip = current.skip;
      try {
        for await (const chunk of body) {
          guard.touch();
          let c = chunk;
          if (skip > 0) {
            const drop = Math.min(skip, c.length);
            skip -= drop;
            c = c.subarray(drop);
            if (c.length === 0) continue;
          }
          received += c.length;
          yield c;
        }
        guard.stop();
        return;
      } catch (err) {
        guard.stop();
        if (attempt >= attempts) throw new DownloadError(`connection lost after ${received} bytes (${errorText(err)}); gave up after ${attempts} attempts`, undefined, { cause: err });
        // request() announces the retry and waits before it.
        current = await request(received, `connection lost: ${errorText(err)}`);
      }
    }
  }
  return stream();
}

function errorText(err: unknown): string {
  const e = err as Error & { cause?: { message?: string; code?: string } };
  const cause = e?.cause?.code ?? e?.cause?.message;
  return cause ? `${e.message}: ${cause}` : String(e?.message ?? err);
}
