/**
 * Where the console gets an alert's clip: its cache first, else the device (HQ: `clip/get` through
 * clip-client's fetchClip). A device that is offline, silent or busy makes the clip "wanted": the
 * page hears 503 pending, and the fetch is retried when the device's status says online again
 * (after a short delay, since the device subscribes to requests as it publishes `online`).
 * Fetches to one device run one at a time: a device serves one clip/get at a time.
 */
import { EarshotError } from '../errors.js';
import type { Logger } from '../log.js';
import { systemTimers, type Timers } from '../timers.js';
import type { ClipCache, ClipFile } from './clip-cache.js';
import type { ConsoleStore } from './console-store.js';
import type { Alert, DeviceState } from './types.js';

export type ClipResolution =
  | { kind: 'file'; clip: ClipFile }
  /** Not here yet; asked for when the device is back (503). */
  | { kind: 'pending'; reason: string }
  /** There is no clip (404). */
  | { kind: 'none'; reason: string }
  /** The device sent something wrong (502). */
  | { kind: 'failed'; reason: string };

/** Fetches the bytes of an alert's clip from its device (sha256-checked by the fetcher). */
export type ClipFetcher = (alert: Alert) => Promise<Buffer>;

export interface ClipServiceOptions {
  store: Pick<ConsoleStore, 'getAlert' | 'wantClip' | 'unwantClip' | 'wantedClips' | 'getDevice'>;
  cache: Pick<ClipCache, 'get' | 'put'>;
  fetch: ClipFetcher;
  logger: Logger;
  timers?: Timers;
  clock?: () => number;
  /** Delays of the retries after a device comes back online (default 2, 5 and 15 s). */
  retryDelaysMs?: readonly number[];
}

export class ClipService {
  private readonly inFlight = new Map<string, Promise<ClipResolution>>();
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly retryTimers = new Set<ReturnType<Timers['setTimeout']>>();
  private stopped = false;

  constructor(private readonly opts: ClipServiceOptions) {}

  private get timers(): Timers {
    return this.opts.timers ?? systemTimers;
  }

  private state(device: string): DeviceState {
    return this.opts.store.getDevice(device)?.state ?? 'unknown';
  }

  /** The clip of `alert`, from the cache or its device; never rejects. */
  async resolve(alert: Alert): Promise<ClipResolution> {
    if (!alert.clip) return { kind: 'none', reason: 'no clip was kept for this event' };
    const cached = this.opts.cache.get(alert.clip);
    if (cached) return { kind: 'file', clip: cached };
    if (this.state(alert.device) === 'offline') {
      this.opts.store.wantClip(alert.id, alert.device, this.now(), 'device offline');
      return { kind: 'pending', reason: 'device offline' };
    }
    return this.fetchOnce(alert);
  }

  /** The device came online: fetch what was wanted from it, retrying a few times while it settles. */
  deviceOnline(device: string): void {
    const delays = this.opts.retryDelaysMs ?? [2000, 5000, 15_000];
    const attempt = (i: number) => {
      if (this.stopped || i >= delays.length) return;
      const t = this.timers.setTimeout(() => {
        this.retryTimers.delete(t);
        void this.fetchWanted(device).then((left) => {
          if (left > 0 && this.state(device) === 'online') attempt(i + 1);
        });
      }, delays[i]!);
      this.retryTimers.add(t);
    };
    if (this.opts.store.wantedClips(device).length > 0) attempt(0);
  }

  /** Fetches the wanted clips of a device; resolves with how many are still wanted. */
  async fetchWanted(device: string): Promise<number> {
    let left = 0;
    for (const id of this.opts.store.wantedClips(device)) {
      if (this.stopped) break;
      const alert = this.opts.store.getAlert(id);
      if (!alert) {
        this.opts.store.unwantClip(id);
        continue;
      }
      const r = await this.resolve(alert);
      if (r.kind === 'pending') left++;
    }
    return left;
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.retryTimers) this.timers.clearTimeout(t);
    this.retryTimers.clear();
  }

  private now(): number {
    return (this.opts.clock ?? Date.now)();
  }

  /** One fetch per alert at a time (a second request waits for the first), one per device at a time. */
  private fetchOnce(alert: Alert): Promise<ClipResolution> {
    const running = this.inFlight.get(alert.id);
    if (running) return running;
    const previous = this.queues.get(alert.device) ?? Promise.resolve();
    const p = previous.then(() => this.fetchNow(alert));
    const settled = p.finally(() => {
      if (this.inFlight.get(alert.id) === p) this.inFlight.delete(alert.id);
      if (this.queues.get(alert.device) === settled) this.queues.delete(alert.device);
    });
    this.inFlight.set(alert.id, p);
    this.queues.set(alert.device, settled);
    return p;
  }

  private async fetchNow(alert: Alert): Promise<ClipResolution> {
    const clip = alert.clip!;
    const cached = this.opts.cache.get(clip);
    if (cached) return { kind: 'file', clip: cached };
    try {
      const data = await this.opts.fetch(alert);
      const file = this.opts.cache.put(clip, data);
      this.opts.store.unwantClip(alert.id);
      this.opts.logger.info({ id: alert.id, device: alert.device, bytes: data.length }, 'clip fetched');
      return { kind: 'file', clip: file };
    } catch (err) {
      const message = (err as Error).message;
      const kind = err instanceof EarshotError ? err.kind : 'internal';
      if (kind === 'input-missing') {
        this.opts.store.unwantClip(alert.id);
        return { kind: 'none', reason: message };
      }
      if (kind === 'unavailable' || kind === 'transient') {
        this.opts.store.wantClip(alert.id, alert.device, this.now(), message);
        this.opts.logger.info({ id: alert.id, device: alert.device, reason: message }, 'clip wanted: device not reachable now');
        return { kind: 'pending', reason: /offline/.test(message) ? 'device offline' : message };
      }
      this.opts.logger.warn({ id: alert.id, device: alert.device, err: message }, 'clip fetch failed');
      return { kind: 'failed', reason: message };
    }
  }
}
