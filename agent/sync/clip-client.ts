/**
 * The operator side of the request/response topics (DESIGN.md), for `earshot events clip` and,
 * later, the web console: send `<prefix>/<device>/request/<action>` with a fresh transaction
 * (signed when the devices use a request secret, request-auth.ts) and collect the responses on
 * `<prefix>/<device>/response/<action>` that carry that transaction — several share the topic.
 *
 * `fetchClip` asks `clip/get` (agent/sync/request-handlers.ts) for an event's clip: a header
 * (`{part: "header", bytes, sha256, chunks, chunkBytes, format, durationMs}`), base64 chunks
 * (`{part: "chunk", index, offset, data}`) and an end (`{part: "end", sha256}`), reassembles them
 * and checks the size and the sha256 before returning the bytes.
 *
 * Errors are the CLI's kinds, with the device's error code kept: no such event, no clip kept or
 * clip pruned → InputMissingError (66); the device's clip file is damaged or the transfer does not
 * match its sha256 → DataError (65); no answer in time, the device's retained status says
 * `offline`, or the device is busy with another transfer → UnavailableError (69).
 */
import crypto from 'node:crypto';
import { DataError, InputMissingError, UnavailableError } from '../errors.js';
import { systemTimers, type TimerHandle, type Timers } from '../timers.js';
import type { Broker, IncomingMessage } from './broker.js';
import { signRequest } from './request-auth.js';
import { topicsFor } from './topics.js';

const COMPONENT = 'sync.client';

export interface DeviceClientOptions {
  /** A connected broker (publish and subscribe need the link). */
  broker: Pick<Broker, 'on' | 'off' | 'publish' | 'subscribe' | 'url'>;
  prefix: string;
  device: string;
  /** The request secret of the devices (mqtt.requestSecretFile); requests are signed with it. */
  secret?: Buffer;
  /** Longest silence from the device while a request is open, in ms. */
  idleTimeoutMs: number;
  timers?: Timers;
  clock?: () => number;
}

/** An error response of the device: its `code` (e.g. `events.not-found`) and message. */
export class DeviceError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'DeviceError';
  }
}

interface ResponseBody {
  transaction?: unknown;
  status?: unknown;
  data?: unknown;
  error?: unknown;
  code?: unknown;
}

/** Requests to one device over the broker. */
export class DeviceClient {
  private readonly timers: Timers;
  private readonly clock: () => number;

  constructor(private readonly opts: DeviceClientOptions) {
    this.timers = opts.timers ?? systemTimers;
    this.clock = opts.clock ?? Date.now;
  }

  get device(): string {
    return this.opts.device;
  }

  /**
   * Sends `action` with `args`; every ok response of the transaction goes to `onData`, which
   * returns true for the last one (default: the first is the last). Resolves with the data of
   * the last; rejects with a DeviceError for an error response, UnavailableError when the device
   * is silent for idleTimeoutMs or its retained status says it is offline.
   */
  async request(action: string, args: Record<string, unknown>, onData: (data: unknown) => boolean = () => true): Promise<unknown> {
    const { broker, prefix, device } = this.opts;
    const topics = topicsFor(prefix, device);
    const responseTopic = topics.response(action);
    const requestTopic = `${prefix.replace(/\/+$/, '')}/${device}/request/${action}`;
    const transaction = `cli-${crypto.randomUUID()}`;
    let timer: TimerHandle | undefined;
    let onMessage!: (msg: IncomingMessage) => void;
    const answered = new Promise<unknown>((resolve, reject) => {
      const silence = () => {
        this.timers.clearTimeout(timer);
        timer = this.timers.setTimeout(
          () => reject(new UnavailableError(`device ${device} did not answer ${action} within ${Math.round(this.opts.idleTimeoutMs / 1000)} s on ${broker.url} (is it online and connected?)`, { component: COMPONENT, code: 'device.timeout' })),
          this.opts.idleTimeoutMs,
        );
      };
      onMessage = (msg) => {
        if (msg.topic === topics.status) {
          const state = parseJson(msg.payload) as { state?: unknown; startedAt?: unknown } | undefined;
          if (state?.state === 'offline') reject(new UnavailableError(`device ${device} is offline (its status on ${broker.url} says so); try again when it is connected`, { component: COMPONENT, code: 'device.offline' }));
          return;
        }
        if (msg.topic !== responseTopic) return;
        const body = parseJson(msg.payload) as ResponseBody | undefined;
        if (!body || body.transaction !== transaction) return; // someone else's
        silence();
        if (body.status === 'error') {
          reject(new DeviceError(String(body.code ?? 'error'), String(body.error ?? 'the device answered with an error')));
          return;
        }
        try {
          if (onData(body.data)) resolve(body.data);
        } catch (err) {
          reject(err as Error);
        }
      };
      silence();
    });
    // Settled here if the subscribe or publish fails first, so a rejection is never unhandled.
    answered.catch(() => undefined);
    broker.on('message', onMessage);
    try {
      await broker.subscribe([responseTopic, topics.status], 1);
      const request = { transaction, ...args };
      const payload = this.opts.secret ? signRequest(this.opts.secret, requestTopic, request, this.clock()) : JSON.stringify(request);
      await broker.publish(requestTopic, payload, { qos: 1 });
      return await answered;
    } finally {
      this.timers.clearTimeout(timer);
      broker.off('message', onMessage);
    }
  }
}

function parseJson(payload: Buffer): unknown {
  try {
    return JSON.parse(payload.toString('utf8'));
  } catch {
    return undefined;
  }
}

export interface ClipHeader {
  id: string;
  format: string;
  durationMs: number;
  bytes: number;
  sha256: string;
  chunkBytes: number;
  chunks: number;
}

export interface FetchedClip {
  header: ClipHeader;
  data: Buffer;
}

export interface FetchClipOptions {
  chunkBytes?: number;
  /** Called after each chunk (bytes received so far, of total). */
  onProgress?: (received: number, total: number) => void;
}

/** Fetches the clip of event `id` from the device; checks size and sha256 (see the file comment). */
export async function fetchClip(client: DeviceClient, id: string, opts: FetchClipOptions = {}): Promise<FetchedClip> {
  let header: ClipHeader | undefined;
  const parts = new Map<number, Buffer>();
  let received = 0;
  const damaged = (why: string) => new DataError(`clip of event ${id}: ${why}`, { component: COMPONENT, code: 'clip.transfer' });
  let end: { sha256?: unknown; bytes?: unknown };
  try {
    end = (await client.request('clip/get', { id, ...(opts.chunkBytes ? { chunkBytes: opts.chunkBytes } : {}) }, (data) => {
      const d = data as { part?: unknown; index?: unknown; data?: unknown } | undefined;
      if (d?.part === 'header') {
        header = d as unknown as ClipHeader;
        return false;
      }
      if (d?.part === 'chunk') {
        if (!header) throw damaged('a chunk came before the header');
        if (typeof d.index !== 'number' || typeof d.data !== 'string') throw damaged('a chunk without index or data');
        const bytes = Buffer.from(d.data, 'base64');
        if (!parts.has(d.index)) received += bytes.length;
        parts.set(d.index, bytes);
        opts.onProgress?.(received, header.bytes);
        return false;
      }
      return d?.part === 'end';
    })) as { sha256?: unknown; bytes?: unknown };
  } catch (err) {
    if (err instanceof DeviceError) throw fromDeviceError(err, id, client);
    throw err;
  }
  if (!header) throw damaged('no header arrived');
  const missing = Array.from({ length: header.chunks }, (_, i) => i).filter((i) => !parts.has(i));
  if (missing.length) throw damaged(`chunk${missing.length === 1 ? '' : 's'} ${missing.slice(0, 5).join(', ')} of ${header.chunks} missing`);
  const data = Buffer.concat(Array.from({ length: header.chunks }, (_, i) => parts.get(i)!));
  const sha256 = crypto.createHash('sha256').update(data).digest('hex');
  if (data.length !== header.bytes) throw damaged(`received ${data.length} bytes, the device announced ${header.bytes}`);
  if (sha256 !== header.sha256 || sha256 !== end.sha256) throw damaged(`sha256 ${sha256} of what arrived does not match the device's ${String(header.sha256)}; try again`);
  return { header, data };
}

function fromDeviceError(err: DeviceError, id: string, client: DeviceClient): Error {
  const message = `device ${client.device}: ${err.message}`;
  const opts = { component: COMPONENT, code: err.code, cause: err };
  switch (err.code) {
    case 'events.not-found':
    case 'clip.none':
    case 'clip.missing':
      return new InputMissingError(message, opts);
    case 'clip.damaged':
    case 'clip.too-large':
      return new DataError(message, opts);
    default:
      // request.busy (another transfer), request.* refusals, internal errors: not now.
      return new UnavailableError(`${message} (${err.code}) while fetching the clip of ${id}`, opts);
  }
}

/** Starts `broker` and resolves once connected; UnavailableError (69) after `timeoutMs` without a connection. */
export async function connectWithin(broker: Pick<Broker, 'on' | 'off' | 'url'> & { start(): void }, timeoutMs: number, timers: Timers = systemTimers): Promise<void> {
  let lastError: string | undefined;
  let timer: TimerHandle | undefined;
  const onError = (e: { message: string }) => (lastError = e.message);
  let onConnect!: () => void;
  try {
    await new Promise<void>((resolve, reject) => {
      onConnect = resolve;
      broker.on('connect', onConnect);
      broker.on('linkError', onError);
      timer = timers.setTimeout(
        () => reject(new UnavailableError(`broker unreachable: ${lastError ?? `${broker.url}: no connection within ${Math.round(timeoutMs / 1000)} s`}`, { component: COMPONENT, code: 'sync.unreachable' })),
        timeoutMs,
      );
      broker.start();
    });
  } finally {
    timers.clearTimeout(timer);
    broker.off('connect', onConnect);
    broker.off('linkError', onError);
  }
}
