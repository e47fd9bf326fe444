/**
 * `earshot service install|uninstall`: the systemd unit (Type=notify with a watchdog the agent
 * feeds through sd_notify, Restart=always, a dedicated `earshot` user in the `audio` group, and
 * sandboxing: read-only system, private /tmp, no new privileges, only ALSA devices) and the
 * sysusers.d entry that creates the user. Everything is written under an injectable root so tests
 * (and image builders) can install into a folder.
 */
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../fs/atomic-write.js';
import { NODE_MEMORY_ENV, NODE_MEMORY_FLAGS } from '../node-memory.js';

export interface UnitOptions {
  /** Absolute path of node. */
  node: string;
  /** Absolute path of build/agent/cli.js. */
  cli: string;
  configFile: string;
  dataDir: string;
  user?: string;
  watchdogSec?: number;
}

export const UNIT_PATH = 'etc/systemd/system/earshot.service';
export const SYSUSERS_PATH = 'usr/lib/sysusers.d/earshot.conf';

export function systemdUnit(o: UnitOptions): string {
  const user = o.user ?? 'earshot';
  const environment = Object.entries(NODE_MEMORY_ENV)
    .map(([k, v]) => `Environment=${k}=${v}`)
    .join('\n');
  return `# Written by \`earshot service install\`; removed by \`earshot service uninstall\`.
[Unit]
Description=Earshot acoustic detection agent
Documentation=https://github.com/earshot/earshot#deploy-on-a-raspberry-pi
Wants=network-online.target time-sync.target
After=network-online.target time-sync.target sound.target
StartLimitIntervalSec=0

[Service]
Type=notify
# The agent sends READY=1 and WATCHDOG=1 through systemd-notify (a child process).
NotifyAccess=all
WatchdogSec=${o.watchdogSec ?? 60}
# Memory: a fixed glibc mmap threshold, a small V8 young generation and an old generation that grows
# by half of what survives between collections (agent/node-memory.ts, docs/agent.md "Memory");
# they change where the agent's memory comes from, not what it does.
${environment}
ExecStart=${[o.node, ...NODE_MEMORY_FLAGS, o.cli].join(' ')} --config ${o.configFile} run
ExecReload=/bin/kill -HUP $MAINPID
Restart=always
RestartSec=5
TimeoutStopSec=10
KillMode=mixed
User=${user}
Group=${user}
SupplementaryGroups=audio
Environment=NODE_ENV=production
# Hardening
NoNewPrivileges=yes
ProtectSystem=strict
ReadWritePaths=${o.dataDir}
ProtectHome=yes
PrivateTmp=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictSUIDSGID=yes
RestrictRealtime=yes
RestrictNamespaces=yes
LockPersonality=yes
SystemCallArchitectures=native
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6
DevicePolicy=closed
DeviceAllow=char-alsa rw
CapabilityBoundingSet=
AmbientCapabilities=
UMask=0027
MemoryMax=400M

[Install]
WantedBy=multi-user.target
`;
}

export function sysusersEntry(dataDir: string, user = 'earshot'): string {
  return `# Written by \`earshot service install\`: the user the Earshot agent runs as.\nu ${user} - "Earshot agent" ${dataDir}\nm ${user} audio\n`;
}

export interface InstallResult {
  written: string[];
}

/** Writes the unit and the sysusers entry under `root` (default "/"). */
export function installService(o: UnitOptions & { root?: string }): InstallResult {
  const root = o.root ?? '/';
  const unit = path.join(root, UNIT_PATH);
  const users = path.join(root, SYSUSERS_PATH);
  for (const f of [unit, users]) fs.mkdirSync(path.dirname(f), { recursive: true });
  writeFileAtomic(unit, systemdUnit(o), { mode: 0o644 });
  writeFileAtomic(users, sysusersEntry(o.dataDir, o.user), { mode: 0o644 });
  return { written: [unit, users] };
}

/** Removes what installService wrote; returns what was there. */
export function uninstallService(root = '/'): string[] {
  const removed: string[] = [];
  for (const rel of [UNIT_PATH, SYSUSERS_PATH]) {
    const f = path.join(root, rel);
    if (fs.existsSync(f)) {
      fs.rmSync(f);
      removed.push(f);
    }
  }
  return removed;
}
