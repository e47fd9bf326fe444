/**
 * The part of a health sample the store, the process and the operating system know: uptime,
 * load, memory, CPU temperature, disk, outbox depth, losses and the last broker acknowledgement.
 */
import fs from 'node:fs';
import os from 'node:os';
import type { Store } from '../store/types.js';
import type { HealthPayload } from './health-payload.js';

/** CPU temperature from the first thermal zone (Raspberry Pi), if there is one. */
export function readCpuTempC(file = '/sys/class/thermal/thermal_zone0/temp'): number | undefined {
  try {
    const milli = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isFinite(milli) ? Math.round(milli / 100) / 10 : undefined;
  } catch {
    return undefined;
  }
}

export function systemHealth(store: Pick<Store, 'storeHealth'>, startedAtMs: number, nowMs: number): HealthPayload {
  const sh = store.storeHealth();
  const payload: HealthPayload = {
    at: new Date(nowMs).toISOString(),
    uptimeSec: Math.round((nowMs - startedAtMs) / 1000),
    systemUptimeSec: Math.round(os.uptime()),
    load: os.loadavg().map((x) => Math.round(x * 100) / 100),
    memory: { rssBytes: process.memoryUsage.rss(), freeBytes: os.freemem(), totalBytes: os.totalmem() },
    queue: { depth: sh.outbox.depth, byPriority: sh.outbox.byPriority, ...(sh.outbox.oldest ? { oldest: sh.outbox.oldest } : {}) },
    losses: sh.losses,
  };
  const temp = readCpuTempC();
  if (temp !== undefined) payload.cpuTempC = temp;
  if (sh.disk) payload.disk = sh.disk;
  if (sh.lastSyncAt) payload.lastSyncAt = sh.lastSyncAt;
  return payload;
}
