/**
 * `earshot service install` as a whole: the unit and sysusers entry (systemd.ts), the user
 * (systemd-sysusers), the configuration and data folders handed to that user (permissions.ts),
 * warnings for paths the sandbox hides, and `systemctl daemon-reload`. The system tools and the
 * user database are injected, so tests install into a folder and check ownership with real users.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../../config/schema.js';
import { EarshotError, ExitCode, errnoCode } from '../errors.js';
import { closedParent, hiddenPathWarnings, permits, ownDataDir, shareConfig, type ServiceAccount } from './permissions.js';
import { installService, type UnitOptions } from './systemd.js';

const COMPONENT = 'service';

/** Not enough permission (exit 77, EX_NOPERM): installing the service needs root. */
export class NoPermissionError extends EarshotError {
  override readonly kind = 'usage' as const;
  override get exitCode(): ExitCode {
    return ExitCode.noPerm;
  }
}

export interface ServiceSystem {
  /** Runs a system tool; undefined when it worked, else what went wrong. */
  run(cmd: readonly string[]): string | undefined;
  /** The account `name` (after systemd-sysusers made it), undefined when there is none. */
  lookupUser(name: string): ServiceAccount | undefined;
}

/** The account from /etc/passwd (systemd-sysusers writes there; no NSS lookup in Node). */
export function passwdLookup(name: string, passwd = '/etc/passwd'): ServiceAccount | undefined {
  let text: string;
  try {
    text = fs.readFileSync(passwd, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f.length >= 4) return { name, uid: Number(f[2]), gid: Number(f[3]) };
  }
  return undefined;
}

export const liveSystem: ServiceSystem = {
  run(cmd) {
    const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8' });
    return r.status === 0 ? undefined : (r.error?.message ?? (r.stderr.trim() || `exit ${r.status}`));
  },
  lookupUser: (name) => passwdLookup(name),
};

export interface SetupOptions extends UnitOptions {
  /** Where the unit files go ("/" on a device). */
  root: string;
  /** The configuration in use (names the secret files to share with the service). */
  config: Config;
  /** Run the system tools and hand the folders over (installing on this system, not into an image folder). */
  live: boolean;
  system: ServiceSystem;
}

export interface SetupResult {
  written: string[];
  /** Ownership and mode changes made. */
  changed: string[];
  warnings: string[];
}

function writeError(err: unknown, target: string): Error {
  const code = errnoCode(err);
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return new NoPermissionError(`${target}: permission denied: installing the service needs root (sudo earshot service install), or --root DIR to write into an image folder`, {
      component: COMPONENT,
      code: 'service.no-permission',
      cause: err,
    });
  }
  return err as Error;
}

export function setupService(o: SetupOptions): SetupResult {
  const user = o.user ?? 'earshot';
  const secretFiles = [o.config.mqtt.passwordFile, o.config.mqtt.requestSecretFile, o.config.mqtt.tls.key].filter((f): f is string => Boolean(f)).map((f) => path.resolve(f));
  const publicFiles = [o.config.mqtt.tls.ca, o.config.mqtt.tls.cert].filter((f): f is string => Boolean(f)).map((f) => path.resolve(f));
  let written: string[];
  try {
    written = installService(o).written;
  } catch (err) {
    throw writeError(err, path.join(o.root, 'etc/systemd/system'));
  }
  const warnings = hiddenPathWarnings([
    { what: 'node', path: o.node },
    { what: 'the build', path: o.cli },
    { what: 'the configuration', path: o.configFile },
    { what: 'storage.dataDir', path: o.dataDir },
    ...[...secretFiles, ...publicFiles].map((f) => ({ what: 'the file', path: f })),
  ]);
  const changed: string[] = [];
  if (!o.live) return { written, changed, warnings };

  const sysusers = o.system.run(['systemd-sysusers']);
  if (sysusers) warnings.push(`\`systemd-sysusers\` failed: ${sysusers}; create the user yourself (sudo useradd --system --user-group --groups audio ${user})`);
  const account = o.system.lookupUser(user);
  if (!account) {
    warnings.push(`user ${user} does not exist: the configuration and ${o.dataDir} were not handed over; create it and run \`sudo earshot service install\` again`);
  } else {
    try {
      changed.push(...shareConfig(o.configFile, secretFiles, account));
      changed.push(ownDataDir(o.dataDir, account));
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'EACCES' || code === 'EPERM') throw writeError(err, o.dataDir);
      if (code === 'ENOENT') warnings.push(`storage.dataDir ${o.dataDir}: its parent folder does not exist (is its disk mounted?); create it, then run \`sudo earshot service install\` again`);
      else throw err;
    }
    if (!fs.existsSync(o.configFile)) warnings.push(`the configuration ${o.configFile} does not exist: create it (sudo earshot --config ${o.configFile} config init)`);
    for (const f of [o.configFile, o.cli, ...publicFiles]) {
      const st = fs.statSync(f, { throwIfNoEntry: false });
      if (!st) continue;
      const closed = closedParent(f, account);
      if (closed) warnings.push(`${f}: the folder ${closed} is closed to ${user}, so the service cannot read it: sudo chmod o+x ${closed} (or move the file)`);
      else if (!permits(st, account, 4)) warnings.push(`${f}: not readable by ${user}: sudo chgrp ${user} ${f} && sudo chmod g+r ${f}`);
    }
  }
  const reload = o.system.run(['systemctl', 'daemon-reload']);
  if (reload) warnings.push(`\`systemctl daemon-reload\` failed: ${reload}; run it yourself`);
  return { written, changed, warnings };
}
