/**
 * Device mode (`earshot console --device`): the console's API over this device's own data folder,
 * read-only, through the agent's event reader — what a technician opens on a phone joined to the
 * Pi's hotspot. No broker: the device is "online" while its agent runs; clips are read from the
 * data folder; reviews are the HQ console's job (405 here). The agent writes from another
 * process, so new events and health are noticed by polling the database every `pollMs`.
 */
import fs from 'node:fs';
import { EventEmitter } from 'node:events';
import path from 'node:path';
import type { Config } from '../../config/schema.js';
import type { Logger } from '../log.js';
import { readRunState, RUN_STATE_KEY } from '../run-state.js';
import { openEventReader, type EventReader } from '../store/event-reader.js';
import { databasePath } from '../store/limits.js';
import type { StoredEvent } from '../store/types.js';
import { processAlive } from '../system/process-alive.js';
import { systemTimers, type TimerHandle, type Timers } from '../timers.js';
import type { BackendEvents, ConsoleBackend } from './backend.js';
import type { ClipResolution } from './clip-service.js';
import type { Alert, AlertQuery, ConsoleStatus, DeviceHealth, DeviceInfo } from './types.js';
import { DEFAULT_ALERT_LIMIT, MAX_ALERT_LIMIT } from './console-store.js';
import { deviceHealthFromJson, deviceHealthSamples } from './payloads.js';

/** Newest events looked at for a list (device mode sorts threats first among them). */
const WINDOW = 5000;

export interface DeviceConsoleOptions {
  config: Config;
  version: string;
  logger: Logger;
  timers?: Timers;
  pollMs?: number;
}

export function storedToAlert(s: StoredEvent): Alert {
  const e = s.event;
  const alert: Alert = {
    id: e.id,
    device: e.device,
    label: e.label,
    category: e.category,
    confidence: e.confidence,
    start: e.start,
    end: e.end,
    rev: Math.max(1, s.rev),
    state: s.state,
    modelLabels: e.modelLabels,
    seq: e.seq,
    model: e.model,
    clockSynced: e.clockSynced,
    // The agent keeps no arrival time: the event's start stands for it.
    receivedAt: e.start,
  };
  if (e.location) alert.location = e.location;
  if (e.head) alert.head = e.head;
  if (s.clip) alert.clip = { format: s.clip.format, durationMs: s.clip.durationMs, sha256: s.clip.sha256 };
  return alert;
}


export class DeviceConsole extends EventEmitter<BackendEvents> implements ConsoleBackend {
  readonly canReview = false;
  private reader?: EventReader;
  private timer?: TimerHandle;
  /** rev of the newest events seen, to announce new ones and higher revs. */
  private seen = new Map<string, number>();
  private lastDevice = '';

  constructor(private readonly opts: DeviceConsoleOptions) {
    super();
  }

  private get timers(): Timers {
    return this.opts.timers ?? systemTimers;
  }

  /** Opens the agent's database (InputMissingError 66 when the agent has stored nothing yet). */
  start(): void {
    this.reader = openEventReader(databasePath(this.opts.config.storage));
    for (const s of this.reader.queries.list({ order: 'desc', limit: 100 })) this.seen.set(s.event.id, s.rev);
    this.lastDevice = JSON.stringify(this.devices());
    const poll = () => {
      try {
        this.poll();
      } catch (err) {
        this.opts.logger.warn({ err: (err as Error).message }, 'reading the data folder failed; trying again');
      }
      this.timer = this.timers.setTimeout(poll, this.opts.pollMs ?? 1000);
    };
    this.timer = this.timers.setTimeout(poll, this.opts.pollMs ?? 1000);
  }

  stop(): void {
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    this.reader?.close();
    this.reader = undefined;
  }

  private get db(): EventReader {
    if (!this.reader) throw new Error('device console not started');
    return this.reader;
  }

  /** Announces events stored or re-sent since the last look, and a changed device. */
  poll(): void {
    const recent = this.db.queries.list({ order: 'desc', limit: 100 });
    for (const s of recent.reverse()) {
      const old = this.seen.get(s.event.id);
      if (old !== undefined && old >= s.rev) continue;
      this.seen.set(s.event.id, s.rev);
      this.emit('alert', storedToAlert(s));
    }
    if (this.seen.size > 1000) this.seen = new Map([...this.seen].slice(-500));
    const [device] = this.devices();
    const text = JSON.stringify(device);
    if (text !== this.lastDevice) {
      this.lastDevice = text;
      this.emit('device', device!);
    }
  }

  status(): ConsoleStatus {
    return { mode: 'device', version: this.opts.version };
  }

  healthHistory(device: string, sinceMs: number, limit: number): DeviceHealth[] | undefined {
    if (device !== this.opts.config.device.id) return undefined;
    return deviceHealthSamples(this.db.sync.healthSince(sinceMs, limit));
  }

  devices(): DeviceInfo[] {
    const { config } = this.opts;
    const run = readRunState(this.db.sync.state(RUN_STATE_KEY));
    const health = deviceHealthFromJson(this.db.sync.latestHealth());
    const running = run?.state === 'running' && processAlive(run.pid);
    const seen = [health?.at, running ? new Date().toISOString() : run?.updatedAt].filter((t): t is string => typeof t === 'string').sort();
    const d: DeviceInfo = { device: config.device.id, state: run ? (running ? 'online' : 'offline') : 'unknown', lastSeen: seen.length ? seen[seen.length - 1]! : null };
    if (run) {
      d.version = run.version;
      d.startedAt = run.startedAt;
    }
    if (config.device.location) d.location = config.device.location;
    if (health) d.health = health;
    return [d];
  }

  alerts(q: AlertQuery): Alert[] {
    if (q.device !== undefined && q.device !== this.opts.config.device.id) return [];
    const limit = Math.min(MAX_ALERT_LIMIT, q.limit ?? DEFAULT_ALERT_LIMIT);
    const list = this.db.queries
      .list({ order: 'desc', limit: WINDOW, ...(q.sinceMs !== undefined ? { sinceMs: q.sinceMs } : {}), ...(q.label !== undefined ? { label: q.label } : {}) })
      .map(storedToAlert)
      .filter((a) => q.untilMs === undefined || Date.parse(a.start) < q.untilMs);
    const threat = (a: Alert) => (a.category === 'threat' ? 1 : 0);
    list.sort((a, b) => threat(b) - threat(a) || Date.parse(b.start) - Date.parse(a.start) || (b.id < a.id ? -1 : 1));
    return list.slice(0, limit);
  }

  alert(id: string): Alert | undefined {
    const s = this.db.queries.get(id);
    return s && storedToAlert(s);
  }

  review(): Alert | undefined {
    throw new Error('device mode is read-only');
  }

  async clip(alert: Alert): Promise<ClipResolution> {
    const s = this.db.queries.get(alert.id);
    if (!s?.clip) return { kind: 'none', reason: 'no clip was kept for this event' };
    const file = path.resolve(this.opts.config.storage.dataDir, s.clip.path);
    if (!fs.existsSync(file)) return { kind: 'none', reason: 'the clip file was pruned' };
    return { kind: 'file', clip: { file, format: s.clip.format, bytes: s.clip.bytes } };
  }

  clipPreSec(): number {
    return this.opts.config.storage.clipPreSec;
  }
}
