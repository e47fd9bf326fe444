/**
 * The process around the agent: SIGTERM/SIGINT → orderly stop and exit 0 (well within systemd's
 * 5 s budget we set); SIGHUP → reload and validate the configuration, keep the old one if it is
 * invalid, restart the components with the new one if it changed; an unhandled rejection or
 * exception is logged and leads to an orderly stop with a non-zero exit (systemd restarts us),
 * never a silent stall. Under systemd (NOTIFY_SOCKET), READY=1 is sent once listening and
 * WATCHDOG=1 keep-alives at half of WATCHDOG_USEC while the event loop turns.
 *
 * A reloaded configuration is checked beyond its schema before the running agent is stopped: the
 * model must be installed and the site head (`detection.head`) must open and fit the model and
 * the class map, so a bad head file on SIGHUP keeps the old configuration running.
 */
import { spawn } from 'node:child_process';
import type { Config } from '../config/schema.js';
import { Agent, type AgentOptions } from './agent.js';
import { prepareDetection } from './detect/open-detection.js';
import { fileSha256, resolveHead } from './detect/open-head.js';
import { ExitCode } from './errors.js';
import type { Logger } from './log.js';

export interface RunOptions extends Omit<AgentOptions, 'config' | 'restart'> {
  config: Config;
  /** Re-reads the configuration (SIGHUP); throws a ConfigError when invalid. */
  reload: () => Config;
  /**
   * Checks a reloaded configuration beyond its schema; throws when it cannot run. Default: the
   * model and head checks of `prepareDetection` (none when a detection stack is injected).
   */
  validate?: (next: Config) => void;
  /** Process to attach signal handlers to (tests pass an EventEmitter). */
  proc?: NodeJS.Process;
  /** Builds an agent (tests inject fakes). Default: `new Agent(options)`. */
  createAgent?: (options: AgentOptions) => RunnableAgent;
}

/** What the lifecycle needs of an agent. */
export interface RunnableAgent {
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** sd_notify through `systemd-notify` (the unit sets NotifyAccess=all). No-op outside systemd. */
export function sdNotify(env: NodeJS.ProcessEnv, state: string, logger?: Logger): void {
  if (!env.NOTIFY_SOCKET) return;
  try {
    const child = spawn('systemd-notify', [state], { stdio: 'ignore', env });
    child.on('error', (err) => logger?.debug({ err: err.message }, 'systemd-notify failed'));
    child.unref();
  } catch {
    /* not under systemd after all */
  }
}

/**
 * What the configured head file holds (its sha256), so that SIGHUP after retraining a head in place
 * restarts the agent although the configuration text is the same.
 */
function headFileKey(config: Config): string {
  try {
    const resolved = resolveHead(config.detection.head);
    return resolved ? fileSha256(resolved.file) : 'none';
  } catch (err) {
    return `unreadable: ${(err as Error).message}`;
  }
}

/** Runs the agent until a signal or a fatal error; resolves to the exit code. */
export async function runAgent(opts: RunOptions): Promise<number> {
  const proc = opts.proc ?? process;
  const log = opts.logger.child({ component: 'lifecycle' });
  let config = opts.config;
  let agent: RunnableAgent | undefined;
  let exitCode: number = ExitCode.ok;
  let finish!: () => void;
  const finished = new Promise<void>((r) => (finish = r));
  let stopping = false;

  const shutdown = (code: number, why: string) => {
    if (stopping) return;
    stopping = true;
    exitCode = code;
    log.info({ why }, 'stopping');
    sdNotify(opts.env, 'STOPPING=1');
    // A restart in progress finishes first (it starts no further agent once stopping); then the
    // one agent that runs is stopped.
    void (restarting ?? Promise.resolve())
      .then(() => agent?.stop())
      .finally(finish);
  };
  const createAgent = opts.createAgent ?? ((o: AgentOptions) => new Agent(o));
  const make = (c: Config) => createAgent({ ...opts, config: c, restart: () => void restart('restart requested') });
  // Restarts are serialised: one runs at a time (after the first start); requests made meanwhile
  // coalesce into one more restart with the latest configuration asked for.
  let restarting: Promise<void> | undefined;
  let queued: { why: string; next: Config | undefined } | undefined;
  let initialStart: Promise<void> = Promise.resolve();
  const restart = (why: string, next?: Config): void => {
    if (stopping) return;
    queued = { why, next: next ?? queued?.next };
    restarting ??= drainRestarts();
  };
  const drainRestarts = async () => {
    try {
      await initialStart.catch(() => undefined);
      while (queued && !stopping) {
        const { why, next } = queued;
        queued = undefined;
        log.info({ why }, 'restarting the agent');
        await agent?.stop();
        agent = undefined;
        if (stopping) return;
        config = next ?? config;
        const started = make(config);
        agent = started;
        await started.start();
      }
    } catch (err) {
      fatal(err);
    } finally {
      restarting = undefined;
    }
  };

  const onTerm = () => shutdown(ExitCode.ok, 'SIGTERM');
  const onInt = () => shutdown(ExitCode.ok, 'SIGINT');
  const validate =
    opts.validate ?? (opts.detection ? () => undefined : (next: Config) => void prepareDetection(next, { mirror: opts.env.EARSHOT_MODEL_MIRROR, configFile: opts.configFile }));
  // An injected detection stack does not follow the configuration's head.
  const headKey = (c: Config) => (opts.detection ? '' : headFileKey(c));
  let runningHead = headKey(config);
  /** The configuration asked for last (running, or queued or being started by a restart). */
  let latest = config;
  const onHup = () => {
    let next: Config;
    try {
      next = opts.reload();
    } catch (err) {
      log.error({ err: (err as Error).message }, 'SIGHUP: the new configuration is invalid; keeping the old one');
      return;
    }
    const nextHead = headKey(next);
    const sameHead = nextHead === runningHead;
    if (JSON.stringify(next) === JSON.stringify(latest) && sameHead) {
      log.info('SIGHUP: configuration unchanged');
      return;
    }
    try {
      validate(next);
    } catch (err) {
      log.error({ err: (err as Error).message }, 'SIGHUP: the new configuration cannot run; keeping the old one');
      return;
    }
    runningHead = nextHead;
    latest = next;
    restart(sameHead ? 'SIGHUP: configuration changed' : 'SIGHUP: configuration or head file changed', next);
  };
  const fatal = (err: unknown) => {
    log.fatal({ err: err instanceof Error ? (err.stack ?? err.message) : String(err) }, 'unhandled error: stopping so the service manager restarts the agent');
    shutdown(ExitCode.software, 'fatal error');
  };
  proc.on('SIGTERM', onTerm);
  proc.on('SIGINT', onInt);
  proc.on('SIGHUP', onHup);
  proc.on('unhandledRejection', fatal);
  proc.on('uncaughtException', fatal);

  let watchdog: NodeJS.Timeout | undefined;
  try {
    const first = make(config);
    agent = first;
    initialStart = first.start();
    await initialStart;
    sdNotify(opts.env, 'READY=1', log);
    const usec = Number(opts.env.WATCHDOG_USEC);
    if (opts.env.NOTIFY_SOCKET && usec > 0) {
      watchdog = setInterval(() => sdNotify(opts.env, 'WATCHDOG=1', log), Math.max(1000, usec / 2000));
    }
    await finished;
  } catch (err) {
    log.fatal({ err: (err as Error).message }, 'the agent could not start');
    stopping = true;
    await agent?.stop();
    throw err;
  } finally {
    clearInterval(watchdog);
    proc.off('SIGTERM', onTerm);
    proc.off('SIGINT', onInt);
    proc.off('SIGHUP', onHup);
    proc.off('unhandledRejection', fatal);
    proc.off('uncaughtException', fatal);
  }
  return exitCode;
}
