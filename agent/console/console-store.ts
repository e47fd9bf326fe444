/**
 * The HQ console's SQLite store (<data>/console.db): alerts keyed by event id keeping the highest
 * rev (alert-consumer.ts's rule, made durable), reviews, devices with their last status and
 * health, a bounded health history, cached clips and the clips still wanted from offline devices.
 *
 * WAL with synchronous=NORMAL: the console is a consumer, a power cut may cost the last commits
 * but never consistency, and ingest from a fleet is many small commits (FULL would fsync each).
 */
import Database from 'better-sqlite3';
import { DataError } from '../errors.js';
import type { Logger } from '../log.js';
import { hasDatabaseHeader, isCorruptionError, makeFolder, moveAside, quickCheck } from '../store/sqlite-open.js';
import path from 'node:path';
import { migrateConsole } from './console-schema.js';
import type { SessionKeeper } from './sessions.js';
import { deviceHealthSamples, type DeviceStatus, type ParsedHealth } from './payloads.js';
import type { Alert, AlertQuery, DeviceHealth, DeviceInfo, DeviceState, Review, Verdict } from './types.js';

export type Arrival = 'new' | 'update' | 'duplicate' | 'stale';

export const DEFAULT_ALERT_LIMIT = 200;
export const MAX_ALERT_LIMIT = 2000;

export interface ConsoleStoreOptions {
  file: string;
  /** Health samples kept per device (default 2016: a week at the default 5 min). */
  healthPerDevice?: number;
  /**
   * A damaged file: `recover` (the console) moves it aside, starts a fresh one and copies every
   * table that can still be read, saying so through `logger`; `fail` (default: `export-reviews`)
   * throws a DataError (exit 65) naming the file and leaves it as it is.
   */
  onDamaged?: 'recover' | 'fail';
  logger?: Logger;
  clock?: () => number;
}

/** The console's tables, in the order a recovery copies them. */
const CONSOLE_TABLES = ['alerts', 'reviews', 'devices', 'health', 'clips', 'clip_wanted', 'sessions'] as const;

interface AlertRow {
  body: string;
  verdict: Verdict | null;
  note: string | null;
  at_ms: number | null;
}

interface DeviceRow {
  device: string;
  state: DeviceState;
  last_seen_ms: number | null;
  version: string | null;
  started_at: string | null;
  location: string | null;
  health: string | null;
}

export interface CachedClipRow {
  sha256: string;
  format: 'flac' | 'wav';
  bytes: number;
}

const ALERT_SELECT = 'SELECT a.body, r.verdict, r.note, r.at_ms FROM alerts a LEFT JOIN reviews r ON r.alert_id = a.id';

function rowToAlert(row: AlertRow): Alert {
  const alert = JSON.parse(row.body) as Alert;
  if (row.verdict) alert.review = { verdict: row.verdict, note: row.note ?? '', at: new Date(row.at_ms ?? 0).toISOString() };
  return alert;
}

/**
 * The same alert as JSON text, without parsing the stored body: JSON.stringify(rowToAlert(row)),
 * since the body is JSON.stringify's own output and the review is the last key rowToAlert adds.
 */
function rowToAlertJson(row: AlertRow): string {
  if (!row.verdict) return row.body;
  const review: Review = { verdict: row.verdict, note: row.note ?? '', at: new Date(row.at_ms ?? 0).toISOString() };
  return `${row.body.slice(0, -1)},"review":${JSON.stringify(review)}}`;
}

function rowToDevice(row: DeviceRow): DeviceInfo {
  const d: DeviceInfo = { device: row.device, state: row.state, lastSeen: row.last_seen_ms === null ? null : new Date(row.last_seen_ms).toISOString() };
  if (row.version !== null) d.version = row.version;
  if (row.started_at !== null) d.startedAt = row.started_at;
  if (row.location !== null) d.location = JSON.parse(row.location) as DeviceInfo['location'];
  if (row.health !== null) d.health = JSON.parse(row.health) as DeviceInfo['health'];
  return d;
}

/** The SQL of an alert list (threats first, then newest first) and its parameters; exported so a test can ask SQLite for its plan. */
export function alertListQuery(q: AlertQuery): { sql: string; params: Record<string, unknown> } {
  const where: string[] = [];
  const params: Record<string, unknown> = {};
  if (q.label !== undefined) {
    where.push('a.label = @label');
    params.label = q.label;
  }
  if (q.device !== undefined) {
    where.push('a.device = @device');
    params.device = q.device;
  }
  if (q.sinceMs !== undefined) {
    where.push('a.start_ms >= @since');
    params.since = Math.floor(q.sinceMs);
  }
  if (q.untilMs !== undefined) {
    where.push('a.start_ms < @until');
    params.until = Math.floor(q.untilMs);
  }
  params.limit = Math.min(MAX_ALERT_LIMIT, Math.max(1, Math.floor(q.limit ?? DEFAULT_ALERT_LIMIT)));
  const sql = `${ALERT_SELECT}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY a.threat DESC, a.start_ms DESC, a.id DESC LIMIT @limit`;
  return { sql, params };
}

/** The console connection's settings, its migrations and fresh planner statistics. */
function prepareConnection(db: Database.Database): Database.Database {
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    migrateConsole(db);
    // Fresh planner statistics for the alert indexes (a label + device filter picks the device
    // index only when SQLite knows a device has far fewer alerts than a label); the cheap
    // form SQLite recommends for a long-lived connection on open, then optimize() hourly.
    db.pragma('optimize = 0x10002');
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

export class ConsoleStore implements SessionKeeper {
  private db?: Database.Database;

  constructor(private readonly opts: ConsoleStoreOptions) {}

  /** Prepared statements by SQL text: ingest runs the same few for every message. */
  private readonly statements = new Map<string, Database.Statement>();

  /** One transaction wrapper for the connection, made at open: each write runs its work in it (BEGIN IMMEDIATE). */
  private inTransaction?: Database.Transaction<(work: () => unknown) => unknown>;

  /** The statement for `sql`, prepared once per connection. */
  private prepare(sql: string): Database.Statement {
    const db = this.db;
    if (!db) throw new Error('console store is not open');
    let s = this.statements.get(sql);
    if (!s) {
      s = db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  /** `work` in one immediate transaction (one commit). */
  private transact<T>(work: () => T): T {
    if (!this.inTransaction) throw new Error('console store is not open');
    return this.inTransaction.immediate(work) as T;
  }

  private use(db: Database.Database): void {
    this.db = db;
    this.inTransaction = db.transaction((work: () => unknown) => work());
  }

  open(): void {
    if (this.db) return;
    const file = this.opts.file;
    makeFolder(path.dirname(file));
    // A file that is not a database is moved aside exactly as found (SQLite would delete its -wal on close).
    if (!hasDatabaseHeader(file)) return this.damaged('file is not a database (no SQLite header)');
    let db: Database.Database | undefined;
    try {
      db = new Database(file);
      const damage = quickCheck(db);
      if (damage === undefined) {
        this.use(prepareConnection(db));
        return;
      }
      db.close();
      return this.damaged(`quick_check: ${damage}`);
    } catch (err) {
      try {
        db?.close();
      } catch {
        // a damaged file may fail to close cleanly; it is being reported or moved aside anyway
      }
      if (!isCorruptionError(err)) throw err;
      return this.damaged((err as Error).message);
    }
  }

  /** A damaged console.db: fail naming it, or move it aside and go on with what can be read. */
  private damaged(reason: string): void {
    const file = this.opts.file;
    if (this.opts.onDamaged !== 'recover') {
      throw new DataError(`${file} is damaged (${reason}); the console moves it aside and starts a fresh one at its next start`, { component: 'console.store', code: 'console.db-damaged' });
    }
    const log = this.opts.logger;
    log?.error({ file, reason }, 'CONSOLE DATABASE DAMAGED: moving it aside and copying what can be read');
    const movedTo = moveAside(file, (this.opts.clock ?? Date.now)());
    const db = prepareConnection(new Database(file));
    const copied: Record<string, number> = {};
    const lost: string[] = [];
    try {
      db.prepare('ATTACH DATABASE ? AS damaged').run(movedTo);
      for (const table of CONSOLE_TABLES) {
        // A table scan (NOT INDEXED), row by row (WHERE 1 turns off SQLite's copy of whole
        // b-trees, which would carry a damaged index over): what the table itself still holds.
        try {
          copied[table] = db.prepare(`INSERT OR IGNORE INTO main.${table} SELECT * FROM damaged.${table} NOT INDEXED WHERE 1`).run().changes;
        } catch (err) {
          lost.push(`${table} (${(err as Error).message})`);
        }
      }
      db.prepare('DETACH DATABASE damaged').run();
    } catch (err) {
      lost.push(`every table (${(err as Error).message})`);
    }
    this.use(db);
    log?.error({ file, movedTo, copied, lost }, 'CONSOLE DATABASE RECOVERED: the damaged file is kept beside it; what could be read was copied into a fresh one');
  }

  loadSessions(nowMs: number): [digest: string, untilMs: number][] {
    return (this.prepare('SELECT digest, until_ms FROM sessions WHERE until_ms > ?').raw().all(Math.floor(nowMs)) as [string, number][]).map(([d, u]) => [d, u]);
  }

  saveSession(digest: string, untilMs: number): void {
    this.prepare('INSERT OR REPLACE INTO sessions (digest, until_ms) VALUES (?, ?)').run(digest, Math.floor(untilMs));
  }

  removeSession(digest: string): void {
    this.prepare('DELETE FROM sessions WHERE digest = ?').run(digest);
  }

  removeExpiredSessions(nowMs: number): void {
    this.prepare('DELETE FROM sessions WHERE until_ms <= ?').run(Math.floor(nowMs));
  }

  /** Refreshes the planner's statistics where they are stale (`PRAGMA optimize`; cheap when nothing changed). */
  optimize(): void {
    this.db?.pragma('optimize');
  }

  close(): void {
    this.statements.clear();
    this.db?.close();
    this.db = undefined;
    this.inTransaction = undefined;
  }

  /** Stores an alert unless a rev at least as high is already there; returns what it was and the stored alert. */
  putAlert(alert: Alert): { arrival: Arrival; alert?: Alert } {
    return this.transact(() => this.storeAlert(alert));
  }

  /**
   * An event message: the alert (as putAlert) and the device's sign of life (as touchDevice) in one
   * transaction, so each message is one commit.
   */
  putEvent(alert: Alert, nowMs: number): { arrival: Arrival; alert?: Alert; device: DeviceInfo } {
    return this.transact(() => {
      const stored = this.storeAlert(alert);
      return { ...stored, device: this.storeTouch(alert.device, nowMs, alert.location) };
    });
  }

  private storeAlert(alert: Alert): { arrival: Arrival; alert?: Alert } {
    const old = this.prepare('SELECT rev FROM alerts WHERE id = ?').pluck().get(alert.id) as number | undefined;
    if (old !== undefined && alert.rev <= old) return { arrival: alert.rev === old ? 'duplicate' : 'stale' } as const;
    const { review: _review, ...body } = alert;
    this.prepare(
      `INSERT INTO alerts (id, device, label, threat, start_ms, rev, received_ms, body) VALUES (@id, @device, @label, @threat, @start, @rev, @received, @body)
       ON CONFLICT (id) DO UPDATE SET device = excluded.device, label = excluded.label, threat = excluded.threat, start_ms = excluded.start_ms,
         rev = excluded.rev, received_ms = excluded.received_ms, body = excluded.body`,
    ).run({
      id: alert.id,
      device: alert.device,
      label: alert.label,
      threat: alert.category === 'threat' ? 1 : 0,
      start: Date.parse(alert.start),
      rev: alert.rev,
      received: Date.parse(alert.receivedAt),
      body: JSON.stringify(body),
    });
    return { arrival: old === undefined ? 'new' : 'update', alert: this.getAlert(alert.id) } as const;
  }

  getAlert(id: string): Alert | undefined {
    const row = this.prepare(`${ALERT_SELECT} WHERE a.id = ?`).get(id) as AlertRow | undefined;
    return row && rowToAlert(row);
  }

  /** Threats first, then newest first (by the event's start). */
  listAlerts(q: AlertQuery = {}): Alert[] {
    return this.alertRows(q).map(rowToAlert);
  }

  /** listAlerts as the JSON text of each alert, without parsing the stored bodies (the API's list). */
  listAlertsJson(q: AlertQuery = {}): string[] {
    return this.alertRows(q).map(rowToAlertJson);
  }

  private alertRows(q: AlertQuery): AlertRow[] {
    const { sql, params } = alertListQuery(q);
    return this.prepare(sql).all(params) as AlertRow[];
  }

  /** Saves (or with null, clears) the review of an alert; undefined when the alert is unknown. */
  setReview(id: string, review: Omit<Review, 'at'> | null, nowMs: number): Alert | undefined {
    return this.transact(() => {
      if (this.prepare('SELECT 1 FROM alerts WHERE id = ?').get(id) === undefined) return undefined;
      if (review === null) this.prepare('DELETE FROM reviews WHERE alert_id = ?').run(id);
      else
        this.prepare('INSERT INTO reviews (alert_id, verdict, note, at_ms) VALUES (?, ?, ?, ?) ON CONFLICT (alert_id) DO UPDATE SET verdict = excluded.verdict, note = excluded.note, at_ms = excluded.at_ms').run(
          id,
          review.verdict,
          review.note,
          Math.floor(nowMs),
        );
      return this.getAlert(id);
    });
  }

  /** Every reviewed alert, oldest review first (export-reviews). */
  *reviewed(): Generator<Alert> {
    let after = -1;
    let afterId = '';
    for (;;) {
      const rows = this.prepare(`${ALERT_SELECT} WHERE r.alert_id IS NOT NULL AND (r.at_ms, a.id) > (?, ?) ORDER BY r.at_ms, a.id LIMIT 500`)
        .all(after, afterId) as AlertRow[];
      for (const row of rows) {
        const a = rowToAlert(row);
        after = row.at_ms ?? 0;
        afterId = a.id;
        yield a;
      }
      if (rows.length < 500) return;
    }
  }

  alertCount(): number {
    return this.prepare('SELECT count(*) FROM alerts').pluck().get() as number;
  }

  private deviceRow(device: string): DeviceRow | undefined {
    return this.prepare('SELECT * FROM devices WHERE device = ?').get(device) as DeviceRow | undefined;
  }

  private ensureDevice(device: string): void {
    this.prepare("INSERT INTO devices (device, state) VALUES (?, 'unknown') ON CONFLICT (device) DO NOTHING").run(device);
  }

  getDevice(device: string): DeviceInfo | undefined {
    const row = this.deviceRow(device);
    return row && rowToDevice(row);
  }

  devices(): DeviceInfo[] {
    return (this.prepare('SELECT * FROM devices ORDER BY device').all() as DeviceRow[]).map(rowToDevice);
  }

  /**
   * A status message. Online means the device is connected now, so it counts as seen now; an
   * offline status (often the Last Will, or retained from long ago) says nothing about when.
   */
  putStatus(device: string, status: DeviceStatus, nowMs: number): DeviceInfo {
    return this.transact(() => {
      this.ensureDevice(device);
      this.prepare(
        `UPDATE devices SET state = @state, version = coalesce(@version, version), started_at = coalesce(@startedAt, started_at),
           last_seen_ms = CASE WHEN @state = 'online' THEN max(coalesce(last_seen_ms, 0), @now) ELSE last_seen_ms END
         WHERE device = @device`,
      ).run({ device, state: status.state, version: status.version ?? null, startedAt: status.startedAt ?? null, now: Math.floor(nowMs) });
      return rowToDevice(this.deviceRow(device)!);
    });
  }

  /** A health sample: the device's last health, its position if it says, and one history row (the oldest beyond the bound go). */
  putHealth(device: string, parsed: ParsedHealth, raw: string, nowMs: number): DeviceInfo {
    const atMs = Math.min(Date.parse(parsed.health.at), nowMs);
    return this.transact(() => {
      this.ensureDevice(device);
      this.prepare(
        `UPDATE devices SET health = @health, location = coalesce(@location, location), last_seen_ms = max(coalesce(last_seen_ms, 0), @at) WHERE device = @device`,
      ).run({ device, health: JSON.stringify(parsed.health), location: parsed.location ? JSON.stringify(parsed.location) : null, at: Math.floor(atMs) });
      this.prepare('INSERT INTO health (device, at_ms, data) VALUES (?, ?, ?)').run(device, Math.floor(atMs), raw);
      const keep = this.opts.healthPerDevice ?? 2016;
      this.prepare('DELETE FROM health WHERE device = @device AND id < (SELECT id FROM health WHERE device = @device ORDER BY id DESC LIMIT 1 OFFSET @skip)').run({ device, skip: keep - 1 });
      return rowToDevice(this.deviceRow(device)!);
    });
  }

  /** A device's health samples since `sinceMs`, the newest `limit` of them, oldest first; undefined for an unknown device. */
  healthHistory(device: string, sinceMs: number, limit: number): DeviceHealth[] | undefined {
    if (!this.deviceRow(device)) return undefined;
    const rows = this.prepare('SELECT data FROM health WHERE device = ? AND at_ms >= ? ORDER BY id DESC LIMIT ?').pluck().all(device, Math.floor(sinceMs), limit) as string[];
    return deviceHealthSamples(rows.reverse());
  }

  /** An event arrived from the device: it is alive now; its position, if it says. */
  touchDevice(device: string, nowMs: number, location?: { lat: number; lon: number }): DeviceInfo {
    return this.transact(() => this.storeTouch(device, nowMs, location));
  }

  private storeTouch(device: string, nowMs: number, location?: { lat: number; lon: number }): DeviceInfo {
    this.ensureDevice(device);
    this.prepare('UPDATE devices SET last_seen_ms = max(coalesce(last_seen_ms, 0), @now), location = coalesce(@location, location) WHERE device = @device').run({
      device,
      now: Math.floor(nowMs),
      location: location ? JSON.stringify(location) : null,
    });
    return rowToDevice(this.deviceRow(device)!);
  }

  cachedClip(sha256: string): CachedClipRow | undefined {
    return this.prepare('SELECT sha256, format, bytes FROM clips WHERE sha256 = ?').get(sha256) as CachedClipRow | undefined;
  }

  putCachedClip(clip: CachedClipRow, nowMs: number): void {
    this.prepare('INSERT OR REPLACE INTO clips (sha256, format, bytes, cached_ms) VALUES (?, ?, ?, ?)').run(clip.sha256, clip.format, clip.bytes, Math.floor(nowMs));
  }

  forgetCachedClip(sha256: string): void {
    this.prepare('DELETE FROM clips WHERE sha256 = ?').run(sha256);
  }

  /** Remembers that the clip of an alert is wanted (its device was offline or busy). */
  wantClip(alertId: string, device: string, nowMs: number, lastError?: string): void {
    this.prepare('INSERT INTO clip_wanted (alert_id, device, since_ms, last_error) VALUES (?, ?, ?, ?) ON CONFLICT (alert_id) DO UPDATE SET last_error = excluded.last_error')
      .run(alertId, device, Math.floor(nowMs), lastError ?? null);
  }

  unwantClip(alertId: string): void {
    this.prepare('DELETE FROM clip_wanted WHERE alert_id = ?').run(alertId);
  }

  wantedClips(device: string): string[] {
    return this.prepare('SELECT alert_id FROM clip_wanted WHERE device = ? ORDER BY since_ms').pluck().all(device) as string[];
  }

  isClipWanted(alertId: string): boolean {
    return this.prepare('SELECT 1 FROM clip_wanted WHERE alert_id = ?').get(alertId) !== undefined;
  }
}
