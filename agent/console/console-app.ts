/**
 * Wires one console: a backend (HQ or device mode) and the web server, with the rule that a
 * non-loopback address needs a password. Used by `earshot console` and by the tests, which run
 * it in-process on port 0.
 */
import path from 'node:path';
import type { Config } from '../../config/schema.js';
import { ConfigError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Timers } from '../timers.js';
import { DeviceConsole } from './device-console.js';
import { HqConsole } from './hq-console.js';
import { ConsoleServer } from './http-server.js';
import { isLoopback, type ListenAddress } from './listen-address.js';
import { readPasswordHash } from './password.js';
import { Sessions } from './sessions.js';
import { webFolder } from './static-files.js';

export interface ConsoleAppOptions {
  config: Config;
  mode: 'hq' | 'device';
  listen: ListenAddress;
  /** The console's data folder (default `<storage.dataDir>/console`). */
  dataDir?: string;
  url?: string;
  share?: string;
  version: string;
  logger: Logger;
  timers?: Timers;
  clock?: () => number;
  /** Test knobs. */
  heartbeatMs?: number;
  pollMs?: number;
  clipRetryDelaysMs?: readonly number[];
  clipIdleTimeoutMs?: number;
}

export interface RunningConsole {
  url: string;
  backend: HqConsole | DeviceConsole;
  server: ConsoleServer;
  dataDir: string;
  stop(): Promise<void>;
}

export function consoleDataDir(config: Config, flag?: string): string {
  return path.resolve(flag ?? path.join(config.storage.dataDir, 'console'));
}

/** Starts the console; ConfigError (78) for a non-loopback address without a password. */
export async function startConsole(opts: ConsoleAppOptions): Promise<RunningConsole> {
  const dataDir = consoleDataDir(opts.config, opts.dataDir);
  const password = readPasswordHash(dataDir);
  if (!password && !isLoopback(opts.listen.host)) {
    throw new ConfigError(
      `--listen ${opts.listen.host}:${opts.listen.port}: the console is reachable from other machines there, so it needs a password: set one with \`earshot console set-password\` (stored hashed in ${dataDir}), or listen on 127.0.0.1`,
      { component: 'console', code: 'console.password-required' },
    );
  }
  const logger = opts.logger.child({ component: 'console' });
  const backend =
    opts.mode === 'device'
      ? new DeviceConsole({ config: opts.config, version: opts.version, logger, ...(opts.timers ? { timers: opts.timers } : {}), ...(opts.pollMs ? { pollMs: opts.pollMs } : {}) })
      : new HqConsole({
          config: opts.config,
          dataDir,
          version: opts.version,
          logger,
          ...(opts.url ? { url: opts.url } : {}),
          ...(opts.share ? { share: opts.share } : {}),
          ...(opts.timers ? { timers: opts.timers } : {}),
          ...(opts.clock ? { clock: opts.clock } : {}),
          ...(opts.clipRetryDelaysMs ? { clipRetryDelaysMs: opts.clipRetryDelaysMs } : {}),
          ...(opts.clipIdleTimeoutMs ? { clipIdleTimeoutMs: opts.clipIdleTimeoutMs } : {}),
        });
  backend.start();
  // Login sessions outlive a restart in the HQ console's SQLite; device mode is read-only over the agent's data, so they stay in memory there.
  const keeper = backend instanceof HqConsole ? backend.store : undefined;
  const server = new ConsoleServer({
    backend,
    listen: opts.listen,
    webDir: webFolder(),
    logger,
    ...(password ? { password } : {}),
    sessions: new Sessions({ ...(keeper ? { keeper } : {}), ...(password ? { secret: `${password.salt}:${password.hash}` } : {}) }),
    ...(opts.timers ? { timers: opts.timers } : {}),
    ...(opts.heartbeatMs ? { heartbeatMs: opts.heartbeatMs } : {}),
  });
  try {
    await server.start();
  } catch (err) {
    await backend.stop();
    throw err;
  }
  return {
    url: server.url,
    backend,
    server,
    dataDir,
    stop: async () => {
      await server.stop();
      await backend.stop();
    },
  };
}
