/**
 * What the service user (`User=earshot` in the unit) must be able to read and write, and what the
 * unit's sandbox hides from it. `sudo earshot config init` writes a root-owned 0600 file, and
 * `sudo earshot models install` root-owned model files: the service then restart-loops with
 * "permission denied". `service install` hands them over:
 *  - the configuration file and the secret files it names (password, request secret, TLS key):
 *    owner kept, group = the service group, mode 0640 (readable by the service, never by others);
 *    a dedicated configuration folder (`/etc/earshot`) the same, 0750;
 *  - the data folder: created if missing, owned by the service user and group, folders 0750 and
 *    files 0640 (what the unit's UMask=0027 gives the files the agent makes), so an operator in the
 *    service group reads `earshot status` and `earshot events` without sudo.
 */
import fs from 'node:fs';
import path from 'node:path';
import { errnoCode } from '../errors.js';

export interface ServiceAccount {
  name: string;
  uid: number;
  gid: number;
}

/** Paths the unit makes invisible to the service, and the setting that does it. */
const HIDDEN: { prefix: string; by: string }[] = [
  { prefix: '/home', by: 'ProtectHome=yes' },
  { prefix: '/root', by: 'ProtectHome=yes' },
  { prefix: '/run/user', by: 'ProtectHome=yes' },
  { prefix: '/tmp', by: 'PrivateTmp=yes' },
  { prefix: '/var/tmp', by: 'PrivateTmp=yes' },
];

/** One warning per path the service will not see (it gets an empty /home or a private /tmp). */
export function hiddenPathWarnings(paths: readonly { what: string; path: string }[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    const abs = path.resolve(p.path);
    const hit = HIDDEN.find((h) => abs === h.prefix || abs.startsWith(`${h.prefix}/`));
    if (hit) {
      out.push(
        `${p.what} ${abs} is under ${hit.prefix}, which the service cannot see (${hit.by}): ` +
          (p.what === 'the build' || p.what === 'node'
            ? 'install Earshot system-wide (sudo npm install -g <tarball>) and run `sudo earshot service install` from there'
            : `move it out of ${hit.prefix} (e.g. the configuration to /etc/earshot, storage.dataDir to /var/lib/earshot)`),
      );
    }
  }
  return out;
}

/** Whether `account` may read (`want` 4) or search/write (1/2) a file with these stats, by its mode bits. */
export function permits(st: Pick<fs.Stats, 'uid' | 'gid' | 'mode'>, account: Pick<ServiceAccount, 'uid' | 'gid'>, want: number, groups: readonly number[] = []): boolean {
  if (account.uid === 0) return true;
  if (st.uid === account.uid) return ((st.mode >> 6) & want) === want;
  if (st.gid === account.gid || groups.includes(st.gid)) return ((st.mode >> 3) & want) === want;
  return (st.mode & want) === want;
}

/** The first folder above `file` the account cannot enter, if any. */
export function closedParent(file: string, account: ServiceAccount): string | undefined {
  let dir = path.dirname(path.resolve(file));
  const chain: string[] = [];
  for (;;) {
    chain.unshift(dir);
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  for (const d of chain) {
    const st = fs.statSync(d, { throwIfNoEntry: false });
    if (st && !permits(st, account, 1)) return d;
  }
  return undefined;
}

/** Group = the service group, mode without any bit for others and with group read (and search on folders). */
function shareWithGroup(p: string, account: ServiceAccount, done: string[]): void {
  const st = fs.statSync(p);
  const mode = st.isDirectory() ? (st.mode & 0o7770) | 0o050 : (st.mode & 0o7770) | 0o040;
  if (st.gid !== account.gid) fs.chownSync(p, st.uid, account.gid);
  if ((st.mode & 0o7777) !== mode) fs.chmodSync(p, mode);
  if (st.gid !== account.gid || (st.mode & 0o7777) !== mode) done.push(`${p}: group ${account.name}, mode ${mode.toString(8).padStart(4, '0')}`);
}

/**
 * Makes the configuration file (and its folder when it is a dedicated `earshot` folder) and the
 * secret files readable by the service group and by nobody else. Returns what it changed.
 */
export function shareConfig(configFile: string, secretFiles: readonly string[], account: ServiceAccount): string[] {
  const done: string[] = [];
  const dir = path.dirname(configFile);
  if (path.basename(dir) === 'earshot' && fs.existsSync(dir)) shareWithGroup(dir, account, done);
  if (fs.existsSync(configFile)) shareWithGroup(configFile, account, done);
  for (const f of secretFiles) if (fs.existsSync(f)) shareWithGroup(f, account, done);
  return done;
}

/**
 * Creates the data folder if needed and gives it, and everything in it, to the service user:
 * owner and group the service account, folders 0750, files 0640. Returns a summary line.
 */
export function ownDataDir(dataDir: string, account: ServiceAccount): string {
  let made = false;
  try {
    fs.mkdirSync(dataDir);
    made = true;
  } catch (err) {
    // A missing parent is reported by the caller's check: never create a whole tree here (an unmounted disk).
    if (errnoCode(err) !== 'EEXIST') throw err;
  }
  let count = 0;
  const walk = (p: string) => {
    const st = fs.lstatSync(p);
    if (st.isSymbolicLink()) return;
    if (st.uid !== account.uid || st.gid !== account.gid) fs.chownSync(p, account.uid, account.gid);
    const mode = st.isDirectory() ? 0o750 : (st.mode & 0o100) | 0o640;
    if ((st.mode & 0o7777) !== mode) fs.chmodSync(p, mode);
    count++;
    if (st.isDirectory()) for (const e of fs.readdirSync(p)) walk(path.join(p, e));
  };
  walk(dataDir);
  return `${dataDir}: ${made ? 'created, ' : ''}owner ${account.name}:${account.name}, folders 0750, files 0640 (${count} entries)`;
}
