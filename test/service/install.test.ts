/**
 * `earshot service install` hands the configuration and the data folder to the service user
 * (issue 13 item 2), checked with real users: the service user reads the configuration, nobody
 * else does, and an operator in the service group runs `earshot status` without sudo.
 * Needs root (useradd, chown); skipped otherwise.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { passwdLookup, setupService, type ServiceSystem } from '../../agent/service/install.js';
import { hiddenPathWarnings } from '../../agent/service/permissions.js';
import { UNIT_PATH } from '../../agent/service/systemd.js';
import { validateConfig } from '../../config/load.js';
import { runEarshot } from '../helpers/cli.js';
import { cliPath, repoRoot } from '../helpers/paths.js';

const isRoot = process.getuid?.() === 0;
const SVC = 'es-test-svc';
const OP = 'es-test-op';
const OTHER = 'es-test-other';

/** Runs a shell command as `user`; the exit code and output. */
function as(user: string, cmd: string): { code: number; out: string } {
  const r = spawnSync('su', [user, '-s', '/bin/sh', '-c', cmd], { encoding: 'utf8' });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

function ensureUser(name: string, args: string[]): void {
  if (spawnSync('id', [name]).status !== 0) expect(spawnSync('useradd', [...args, name]).status).toBe(0);
}

describe('hidden paths', () => {
  it('warns for the build under /home (ProtectHome) and the configuration under /tmp (PrivateTmp), not for /usr or /etc', () => {
    const w = hiddenPathWarnings([
      { what: 'the build', path: '/home/pi/earshot/build/agent/cli.js' },
      { what: 'the configuration', path: '/tmp/c.yaml' },
      { what: 'node', path: '/usr/bin/node' },
      { what: 'storage.dataDir', path: '/var/lib/earshot' },
    ]);
    expect(w).toHaveLength(2);
    expect(w[0]).toMatch(/^the build \/home\/pi\/earshot\/build\/agent\/cli.js is under \/home, which the service cannot see \(ProtectHome=yes\)/);
    expect(w[1]).toMatch(/^the configuration \/tmp\/c.yaml is under \/tmp, .*PrivateTmp=yes.*\/etc\/earshot/);
  });
});

describe.runIf(isRoot)('service install with real users', () => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'earshot-svc-'));
  const etc = path.join(base, 'etc', 'earshot');
  const configFile = path.join(etc, 'config.yaml');
  const dataDir = path.join(base, 'var', 'lib', 'earshot');
  const calls: string[][] = [];
  const system: ServiceSystem = { run: (cmd) => (calls.push([...cmd]), undefined), lookupUser: (n) => passwdLookup(n) };

  beforeAll(() => {
    ensureUser(SVC, ['--system', '--user-group', '--no-create-home']);
    ensureUser(OP, ['--no-create-home', '-G', SVC]);
    ensureUser(OTHER, ['--no-create-home']);
    // The folders above the test's root, as /etc and /var are: open to all.
    fs.chmodSync(base, 0o755);
    fs.mkdirSync(path.dirname(dataDir), { recursive: true, mode: 0o755 });
    // The Pi guide: sudo mkdir /etc/earshot; sudo earshot --config ... config init (root, 0600).
    fs.mkdirSync(etc, { recursive: true, mode: 0o755 });
    const init = runEarshot(['-c', configFile, 'config', 'init']);
    expect(init.code, init.stderr).toBe(0);
    expect(runEarshot(['-c', configFile, 'config', 'set', 'storage.dataDir', dataDir]).code).toBe(0);
    expect(fs.statSync(configFile).mode & 0o777).toBe(0o600);
    expect(as(SVC, `cat ${configFile}`).code).not.toBe(0); // the defect: the service cannot read it
  });

  it('the service user reads the configuration, others do not; the data folder is the service user\'s, group-readable', () => {
    const config = validateConfig({ storage: { dataDir } }, 't');
    const r = setupService({ root: path.join(base, 'root'), node: process.execPath, cli: cliPath, configFile, dataDir, user: SVC, config, live: true, system });
    expect(fs.existsSync(path.join(base, 'root', UNIT_PATH))).toBe(true);
    expect(calls).toEqual([['systemd-sysusers'], ['systemctl', 'daemon-reload']]);
    const svc = passwdLookup(SVC)!;
    const cf = fs.statSync(configFile);
    expect([cf.uid, cf.gid, cf.mode & 0o777]).toEqual([0, svc.gid, 0o640]);
    expect(as(SVC, `cat ${configFile}`).code).toBe(0);
    expect(as(OTHER, `cat ${configFile}`).code).not.toBe(0);
    const dd = fs.statSync(dataDir);
    expect([dd.uid, dd.gid, dd.mode & 0o777]).toEqual([svc.uid, svc.gid, 0o750]);
    expect(r.changed.join('\n')).toContain(`${dataDir}: created`);
    // The test lives under /tmp, which the unit's PrivateTmp hides: said so.
    expect(r.warnings.some((w) => w.includes('PrivateTmp=yes'))).toBe(true);
  });

  it('a later `sudo earshot config set` keeps the file readable by the service', () => {
    expect(runEarshot(['-c', configFile, 'config', 'set', 'device.id', 'guardian-07']).code).toBe(0);
    const cf = fs.statSync(configFile);
    expect([cf.uid, cf.gid, cf.mode & 0o777]).toEqual([0, passwdLookup(SVC)!.gid, 0o640]);
    expect(as(SVC, `cat ${configFile}`).out).toContain('guardian-07');
  });

  it('an operator in the service group runs `earshot status` without sudo, after the agent has stopped', () => {
    // The agent's database, made by the service user with the unit's UMask=0027, then closed (its -wal and -shm go).
    const script = path.join(base, 'make-db.mjs');
    fs.writeFileSync(
      script,
      `import { openStoreDatabase } from '${path.join(repoRoot, 'build', 'agent', 'store', 'sqlite-open.js')}';\n` +
        `import { silentLogger } from '${path.join(repoRoot, 'build', 'agent', 'silent-logger.js')}';\n` +
        `process.umask(0o027);\nconst { db } = openStoreDatabase(process.argv[2], { maxDatabaseBytes: 1 << 24, clock: Date.now, logger: silentLogger() });\ndb.close();\n`,
    );
    fs.chmodSync(script, 0o644);
    const made = as(SVC, `${process.execPath} ${script} ${path.join(dataDir, 'events.db')}`);
    expect(made.code, made.out).toBe(0);
    expect(fs.existsSync(path.join(dataDir, 'events.db-shm'))).toBe(false);
    const status = as(OP, `${process.execPath} ${cliPath} -c ${configFile} status --json`);
    expect(status.code, status.out).toBe(0);
    expect(JSON.parse(status.out)).toMatchObject({ agent: { running: false }, queue: { depth: 0 } });
    // Someone outside the group is refused (the folder is 0750).
    expect(as(OTHER, `${process.execPath} ${cliPath} -c ${configFile} status`).code).not.toBe(0);
  });

  it('service install without root is exit 77, one line naming the fix', () => {
    const r = as(OP, `${process.execPath} ${cliPath} -c ${configFile} service install`);
    expect(r.code).toBe(77);
    expect(r.out.trim()).toMatch(/^earshot: \/etc\/systemd\/system: permission denied: installing the service needs root \(sudo earshot service install\)/);
    expect(r.out).not.toMatch(/\n\s+at /);
  });
});
