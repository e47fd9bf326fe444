/**
 * The actions a device answers: status, config/get, config/set, sync/now, events/list,
 * clip/get and restart. Each validates its arguments with a strict schema (unknown arguments
 * are errors, so a typo is reported rather than ignored) and uses only injected dependencies.
 */
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import * as z from 'zod';
import { findKey, parseValueText } from '../../config/keys.js';
import { getPath } from '../../config/load.js';
import { REDACTED, redactConfig } from '../../config/redact.js';
import type { Config } from '../../config/schema.js';
import { checkConfigPath, updateConfigFile, type ConfigUpdate } from '../../config/update.js';
import { errnoCode } from '../errors.js';
import type { Store } from '../store/types.js';
import { RequestError, type AnyRequestHandler, type RequestHandler } from './request-router.js';

export interface RequestDeps {
  store: Pick<Store, 'listEvents' | 'getEvent'>;
  /** Data of the `status` response. */
  status: () => unknown;
  config: {
    /** The file `config/set` writes (the agent's configuration file). */
    file: string;
    env: NodeJS.ProcessEnv;
    /** The configuration the agent runs with (file + environment). */
    current: () => Config;
    /** Applies a written change live if it can; false: a restart is needed. */
    apply: (update: ConfigUpdate) => boolean;
  };
  /** Drains the outbox now. */
  syncNow: () => { queued: number };
  /** Restarts the agent (the service manager starts it again); absent: not supported. */
  restart?: () => void;
  /** Waits until `bytes` may be sent under the rate limits. */
  pace?: (bytes: number) => Promise<void>;
}

const DEFAULT_CHUNK = 32 * 1024;
const MAX_CLIP_BYTES = 64 * 1024 * 1024;
const MAX_EVENTS = 200;

function handler<A>(h: RequestHandler<A>): AnyRequestHandler {
  return h as unknown as AnyRequestHandler;
}

export function createRequestHandlers(deps: RequestDeps): AnyRequestHandler[] {
  return [
    handler({
      action: 'status',
      args: z.strictObject({}),
      run: () => deps.status(),
    }),

    handler({
      action: 'config/get',
      args: z.strictObject({ key: z.string().min(1).max(200).optional() }),
      run: ({ key }) => {
        const config = redactConfig(deps.config.current());
        if (key === undefined) return { value: config };
        try {
          checkConfigPath(key);
        } catch (err) {
          throw new RequestError('config.unknown-key', (err as Error).message);
        }
        return { key, value: getPath(config, key.split('.')) ?? null };
      },
    }),

    handler({
      action: 'config/set',
      args: z.strictObject({ key: z.string().min(1).max(200), value: z.unknown() }),
      run: ({ key, value }) => {
        if (value === undefined) throw new RequestError('request.bad-args', 'bad arguments for config/set: value: missing');
        const info = findKey(key);
        // Text for a non-text key is read as on the command line ("true", "5000").
        const typed = typeof value === 'string' && info && info.kind !== 'string' ? parseValueText(info, value) : value;
        const update = updateConfigFile({ file: deps.config.file, keyPath: key, value: typed, env: deps.config.env });
        const applied = update.changed ? deps.config.apply(update) : true;
        return {
          key,
          value: update.secret ? REDACTED : typed,
          file: update.file,
          changed: update.changed,
          applied,
          restartRequired: !applied,
          ...(update.shadowedBy ? { warning: `${update.shadowedBy.envName} is set and overrides this value at run time` } : {}),
        };
      },
    }),

    handler({
      action: 'sync/now',
      args: z.strictObject({}),
      run: () => deps.syncNow(),
    }),

    handler({
      action: 'events/list',
      args: z.strictObject({
        since: z.union([z.number(), z.iso.datetime({ offset: true }), z.iso.date()]).optional(),
        label: z.string().min(1).max(64).optional(),
        undelivered: z.boolean().optional(),
        limit: z.number().int().min(1).max(MAX_EVENTS).optional(),
        order: z.enum(['asc', 'desc']).optional(),
      }),
      run: (args) => {
        const sinceMs = args.since === undefined ? undefined : typeof args.since === 'number' ? args.since : Date.parse(args.since);
        const events = deps.store.listEvents({
          ...(sinceMs === undefined ? {} : { sinceMs }),
          ...(args.label === undefined ? {} : { label: args.label }),
          ...(args.undelivered ? { undelivered: true } : {}),
          limit: args.limit ?? 20,
          order: args.order ?? 'desc',
        });
        return {
          count: events.length,
          events: events.map((s) => ({ ...s.event, state: s.state, alert: s.alert, ...(s.deliveredAt ? { deliveredAt: s.deliveredAt } : {}) })),
        };
      },
    }),

    handler({
      action: 'clip/get',
      exclusive: true,
      args: z.strictObject({
        id: z.string().min(1).max(64),
        chunkBytes: z.number().int().min(1024).max(256 * 1024).optional(),
        from: z.number().int().min(0).optional(),
      }),
      run: async ({ id, chunkBytes = DEFAULT_CHUNK, from = 0 }, ctx) => {
        const stored = deps.store.getEvent(id);
        if (!stored) throw new RequestError('events.not-found', `no event with id ${id}`);
        const clip = stored.clip;
        if (!clip) throw new RequestError('clip.none', `event ${id} has no clip kept`);
        if (clip.bytes > MAX_CLIP_BYTES) throw new RequestError('clip.too-large', `clip of ${clip.bytes} bytes is larger than ${MAX_CLIP_BYTES}`);
        let data: Buffer;
        try {
          data = await fs.readFile(clip.path);
        } catch (err) {
          throw new RequestError('clip.missing', `clip file of event ${id} cannot be read (${errnoCode(err) ?? (err as Error).message}); it may have been pruned`);
        }
        const sha256 = crypto.createHash('sha256').update(data).digest('hex');
        if (sha256 !== clip.sha256) throw new RequestError('clip.damaged', `clip file of event ${id} does not match its recorded sha256`);
        const chunks = Math.max(1, Math.ceil(data.length / chunkBytes));
        if (from >= chunks) throw new RequestError('request.bad-args', `from ${from} is past the last chunk (${chunks - 1})`);
        const header = { part: 'header', id, format: clip.format, durationMs: clip.durationMs, bytes: data.length, sha256, chunkBytes, chunks };
        await ctx.send(header);
        for (let i = from; i < chunks; i++) {
          const part = data.subarray(i * chunkBytes, (i + 1) * chunkBytes);
          await deps.pace?.(part.length);
          await ctx.send({ part: 'chunk', id, index: i, chunks, offset: i * chunkBytes, data: part.toString('base64') });
        }
        return { part: 'end', id, chunks, bytes: data.length, sha256 };
      },
    }),

    handler({
      action: 'restart',
      args: z.strictObject({}),
      run: (_args, ctx) => {
        const restart = deps.restart;
        if (!restart) throw new RequestError('request.unsupported', 'restart is not available in this process');
        ctx.afterResponse(restart);
        return { restarting: true };
      },
    }),
  ];
}
