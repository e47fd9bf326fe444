import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { NODE_MEMORY_ENV, NODE_MEMORY_FLAGS } from '../../agent/node-memory.js';
import { installService, SYSUSERS_PATH, systemdUnit, UNIT_PATH, uninstallService } from '../../agent/service/systemd.js';
import { runEarshot } from '../helpers/cli.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'earshot-service-'));

describe('systemd unit', () => {
  const unit = systemdUnit({ node: '/usr/bin/node', cli: '/opt/earshot/build/agent/cli.js', configFile: '/etc/earshot/config.yaml', dataDir: '/var/lib/earshot', watchdogSec: 45 });
  it('restarts always, is watched by the watchdog it is fed through sd_notify, runs as a dedicated user', () => {
    const lines = unit.split('\n');
    for (const l of ['Type=notify', 'NotifyAccess=all', 'WatchdogSec=45', 'Restart=always', 'User=earshot', 'Group=earshot', 'SupplementaryGroups=audio', 'ExecReload=/bin/kill -HUP $MAINPID', 'WantedBy=multi-user.target']) expect(lines).toContain(l);
    expect(lines).toContain('ExecStart=/usr/bin/node --max-semi-space-size=1 --heap-growing-percent=50 /opt/earshot/build/agent/cli.js --config /etc/earshot/config.yaml run');
  });
  it('starts node with the memory settings of the agent (agent/node-memory.ts)', () => {
    const lines = unit.split('\n');
    expect(lines).toContain('Environment=MALLOC_MMAP_THRESHOLD_=131072');
    expect(unit).toContain(`ExecStart=/usr/bin/node ${NODE_MEMORY_FLAGS.join(' ')} /opt/earshot/`);
    for (const [k, v] of Object.entries(NODE_MEMORY_ENV)) expect(lines).toContain(`Environment=${k}=${v}`);
  });
  it('is sandboxed: read-only system except the data dir, no new privileges, only ALSA devices', () => {
    const lines = unit.split('\n');
    for (const l of ['NoNewPrivileges=yes', 'ProtectSystem=strict', 'ReadWritePaths=/var/lib/earshot', 'ProtectHome=yes', 'PrivateTmp=yes', 'DevicePolicy=closed', 'DeviceAllow=char-alsa rw', 'CapabilityBoundingSet=']) expect(lines).toContain(l);
  });
  it('install writes the unit and the sysusers entry under the root; uninstall removes them', () => {
    const root = tmp();
    const r = installService({ root, node: '/usr/bin/node', cli: '/x/cli.js', configFile: '/etc/earshot/config.yaml', dataDir: '/var/lib/earshot' });
    expect(r.written).toEqual([path.join(root, UNIT_PATH), path.join(root, SYSUSERS_PATH)]);
    expect(fs.readFileSync(path.join(root, SYSUSERS_PATH), 'utf8')).toMatch(/^u earshot - "Earshot agent" \/var\/lib\/earshot$/m);
    expect(uninstallService(root)).toHaveLength(2);
    expect(fs.existsSync(path.join(root, UNIT_PATH))).toBe(false);
    expect(uninstallService(root)).toEqual([]);
  });
  it('the CLI installs with the configured paths and uninstalls', () => {
    const dir = tmp();
    const cfg = path.join(dir, 'c.yaml');
    fs.writeFileSync(cfg, `storage:\n  dataDir: ${path.join(dir, 'data')}\n`);
    const root = path.join(dir, 'root');
    const i = runEarshot(['-c', cfg, 'service', 'install', '--root', root]);
    expect(i.code, i.stderr).toBe(0);
    const unit = fs.readFileSync(path.join(root, UNIT_PATH), 'utf8');
    expect(unit).toContain(`--config ${cfg} run`);
    expect(unit).toContain(`ReadWritePaths=${path.join(dir, 'data')}`);
    const u = runEarshot(['-c', cfg, 'service', 'uninstall', '--root', root]);
    expect(u.code).toBe(0);
    expect(u.stdout).toContain('removed');
    expect(fs.existsSync(path.join(root, UNIT_PATH))).toBe(false);
  });
});

