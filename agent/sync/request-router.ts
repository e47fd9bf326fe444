/**
 * Requests from the operator side: `<prefix>/<device>/request/<action>` with a JSON object
 * `{"transaction": "...", ...args}`; each gets a response on `<prefix>/<device>/response/<action>`:
 * `{"transaction", "status": "ok"|"error", "data"?, "error"?, "code"?, "details"?}`.
 *
 * Whatever arrives, the router answers or ignores it and never throws: an oversize payload, bad
 * JSON, a missing transaction, an unknown action, wrong argument types and failing handlers all
 * become error responses (`code` says which). With a request secret configured, anything not
 * properly signed (request-auth.ts) is ignored without a response, so an open broker gives an
 * attacker nothing to work with; it is counted in `stats.ignored`.
 */
import type * as z from 'zod';
import { EarshotError } from '../errors.js';
import type { Logger } from '../log.js';
import { silentLogger } from '../silent-logger.js';
import type { Broker, IncomingMessage, PublishOptions } from './broker.js';
import { verifySignedRequest, type ReplayGuard } from './request-auth.js';
import type { Topics } from './topics.js';

export interface RequestContext {
  transaction: string;
  /** Publishes an intermediate ok response (e.g. a clip chunk); resolves on PUBACK. */
  send(data: unknown): Promise<void>;
  /** Runs `fn` once the final response has been published (or could not be). */
  afterResponse(fn: () => void): void;
}

export interface RequestHandler<A = unknown> {
  action: string;
  /** Validates the request without `transaction` and `ts`. */
  args: z.ZodType<A>;
  /** At most one at a time (clip transfers); another request meanwhile gets `request.busy`. */
  exclusive?: boolean;
  run(args: A, ctx: RequestContext): Promise<unknown> | unknown;
}

/** A handler of any argument type, as the router holds them. */
export type AnyRequestHandler = RequestHandler<never>;

export interface RequestAuth {
  secret: Buffer;
  maxSkewMs: number;
  replay: ReplayGuard;
}

export interface RequestRouterOptions {
  broker: Broker;
  topics: Topics;
  maxRequestBytes: number;
  handlers: readonly AnyRequestHandler[];
  auth?: RequestAuth;
  clock?: () => number;
  logger?: Logger;
}

export interface ResponsePayload {
  transaction: string | null;
  status: 'ok' | 'error';
  data?: unknown;
  error?: string;
  code?: string;
  details?: readonly string[];
}

export interface RequestStats {
  received: number;
  ok: number;
  errors: number;
  /** Unsigned or badly signed requests dropped without a response (secret configured). */
  ignored: number;
}

/** An error a handler throws to answer with a specific code. */
export class RequestError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details?: readonly string[],
  ) {
    super(message);
    this.name = 'RequestError';
  }
}

const TRANSACTION_MAX = 128;

export class RequestRouter {
  readonly stats: RequestStats = { received: 0, ok: 0, errors: 0, ignored: 0 };
  private readonly handlers: Map<string, AnyRequestHandler>;
  private readonly busy = new Set<string>();
  private readonly log: Logger;
  private readonly clock: () => number;
  private started = false;
  private readonly onConnect = () => void this.subscribe();
  private readonly onMessage = (msg: IncomingMessage) => void this.handle(msg);

  constructor(private readonly opts: RequestRouterOptions) {
    this.handlers = new Map(opts.handlers.map((h) => [h.action, h]));
    this.log = (opts.logger ?? silentLogger()).child({ component: 'sync.requests' });
    this.clock = opts.clock ?? Date.now;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.opts.broker.on('connect', this.onConnect);
    this.opts.broker.on('message', this.onMessage);
    if (this.opts.broker.connected) void this.subscribe();
  }

  stop(): void {
    if (!this.started) return;
    this.started = false;
    this.opts.broker.off('connect', this.onConnect);
    this.opts.broker.off('message', this.onMessage);
  }

  /** Handles one incoming message; never rejects. */
  async handle(msg: IncomingMessage): Promise<void> {
    const action = this.opts.topics.actionOf(msg.topic);
    if (action === undefined) return;
    this.stats.received++;
    try {
      await this.dispatch(action, msg);
    } catch (err) {
      this.log.error({ err, action }, 'request handling failed');
    }
  }

  private async subscribe(): Promise<void> {
    try {
      await this.opts.broker.subscribe([this.opts.topics.requests], 1);
    } catch (err) {
      this.log.warn({ err: (err as Error).message, topic: this.opts.topics.requests }, 'could not subscribe to requests');
    }
  }

  private async dispatch(action: string, msg: IncomingMessage): Promise<void> {
    const auth = this.opts.auth;
    const reply = (payload: ResponsePayload) => this.respond(action, msg, payload);
    const fail = (transaction: string | null, code: string, error: string, details?: readonly string[]) => {
      this.stats.errors++;
      return reply({ transaction, status: 'error', code, error, ...(details ? { details } : {}) });
    };

    if (msg.payload.length > this.opts.maxRequestBytes) {
      if (auth) return this.ignore(action, 'oversize');
      return fail(null, 'request.too-large', `request of ${msg.payload.length} bytes is larger than mqtt.maxRequestBytes (${this.opts.maxRequestBytes})`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(msg.payload.toString('utf8'));
    } catch (err) {
      if (auth) return this.ignore(action, 'bad JSON');
      return fail(null, 'request.bad-json', `request is not valid JSON: ${(err as Error).message}`);
    }
    let body = parsed;
    if (auth) {
      const verified = verifySignedRequest(auth.secret, msg.topic, parsed, this.clock(), auth.maxSkewMs);
      if (!verified.ok) return this.ignore(action, verified.reason);
      body = verified.body;
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      return fail(null, 'request.bad-request', 'request must be a JSON object {"transaction": "...", ...}');
    }
    const { transaction, ts: _ts, ...args } = body as Record<string, unknown>;
    if (typeof transaction !== 'string' || transaction.length === 0 || transaction.length > TRANSACTION_MAX) {
      return fail(null, 'request.bad-transaction', `"transaction" must be text of 1–${TRANSACTION_MAX} characters, got ${transaction === undefined ? 'nothing' : JSON.stringify(transaction).slice(0, 40)}`);
    }
    if (auth && !auth.replay.accept(transaction, this.clock())) return this.ignore(action, `replayed transaction ${transaction}`);

    const handler = this.handlers.get(action);
    if (!handler) {
      return fail(transaction, 'request.unknown-action', `unknown action "${action}"; known: ${[...this.handlers.keys()].join(', ')}`);
    }
    const checked = handler.args.safeParse(args);
    if (!checked.success) {
      const details = checked.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(request)'}: ${i.message}`);
      return fail(transaction, 'request.bad-args', `bad arguments for ${action}: ${details.join('; ')}`, details);
    }
    if (handler.exclusive && this.busy.has(action)) {
      return fail(transaction, 'request.busy', `another ${action} is in progress; try again when it has finished`);
    }

    const after: (() => void)[] = [];
    const ctx: RequestContext = {
      transaction,
      send: (data) => this.respond(action, msg, { transaction, status: 'ok', data }, true),
      afterResponse: (fn) => after.push(fn),
    };
    if (handler.exclusive) this.busy.add(action);
    try {
      const data = await handler.run(checked.data as never, ctx);
      this.stats.ok++;
      await reply({ transaction, status: 'ok', ...(data === undefined ? {} : { data }) });
    } catch (err) {
      const { code, message, details } = errorParts(err);
      if (code === 'internal') this.log.error({ err, action }, 'request handler failed');
      await fail(transaction, code, message, details);
    } finally {
      if (handler.exclusive) this.busy.delete(action);
      for (const fn of after) {
        try {
          fn();
        } catch (err) {
          this.log.error({ err, action }, 'after-response action failed');
        }
      }
    }
  }

  private ignore(action: string, reason: string): void {
    this.stats.ignored++;
    this.log.warn({ action, reason }, 'ignored an unauthorised request');
  }

  /** Publishes a response; resolves when done. Intermediate sends (`strict`) reject when they fail. */
  private async respond(action: string, msg: IncomingMessage, payload: ResponsePayload, strict = false): Promise<void> {
    const opts: PublishOptions = { qos: 1 };
    const corr = msg.properties?.correlationData;
    if (corr) opts.properties = { correlationData: corr };
    try {
      await this.opts.broker.publish(this.opts.topics.response(action), JSON.stringify(payload), opts);
    } catch (err) {
      if (strict) throw err;
      this.log.warn({ err: (err as Error).message, action, transaction: payload.transaction }, 'could not publish a response');
    }
  }
}

function errorParts(err: unknown): { code: string; message: string; details?: readonly string[] } {
  if (err instanceof RequestError) return { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) };
  if (err instanceof EarshotError) {
    const issues = (err as { issues?: readonly string[] }).issues;
    return { code: err.code, message: err.message, ...(issues && issues.length > 1 ? { details: issues } : {}) };
  }
  return { code: 'internal', message: `internal error: ${(err as Error)?.message ?? String(err)}` };
}
