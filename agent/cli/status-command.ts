/**
 * `earshot status`: what a running agent is doing, read from the data dir (the agent writes its
 * run state, health samples, events and link state there): source, sound level, gaps, inference
 * queue and drops, schedule, last events, outbox and broker link.
 */
import Database from 'better-sqlite3';
import { loadConfig } from '../../config/load.js';
import { AGENT_STATE_KEY } from '../agent.js';
import { databasePath } from '../store/limits.js';
import { openEventReader } from '../store/event-reader.js';
import { LINK_STATE_KEY } from '../sync/link-state.js';
import { globalOptions, type RegisterCommand } from './context.js';

function alive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const parse = <T>(text: string | undefined): T | undefined => {
  try {
    return text ? (JSON.parse(text) as T) : undefined;
  } catch {
    return undefined;
  }
};

interface RunState {
  state: string;
  pid: number;
  startedAt: string;
  updatedAt: string;
  source: string;
  description: string;
  version: string;
}

export const registerStatusCommand: RegisterCommand = (program, ctx) => {
  program
    .command('status')
    .description('show what the running agent is doing (source, levels, gaps, queue, last events, broker link), read from storage.dataDir')
    .option('--json', 'print one JSON object')
    .action((opts: { json?: boolean }, cmd) => {
      const { config } = loadConfig({ flag: globalOptions(cmd).config, env: ctx.env });
      const file = databasePath(config.storage);
      const reader = openEventReader(file);
      let run: RunState | undefined;
      let link: { connected: boolean; url: string; lastError?: string } | undefined;
      let summary;
      let events;
      try {
        run = parse<RunState>(reader.sync.state(AGENT_STATE_KEY));
        link = parse(reader.sync.state(LINK_STATE_KEY));
        summary = reader.sync.outboxSummary();
        events = reader.queries.list({ order: 'desc', limit: 5 });
      } finally {
        reader.close();
      }
      const db = new Database(file, { readonly: true, fileMustExist: true });
      let health: Record<string, unknown> | undefined;
      try {
        const row = db.prepare('SELECT data FROM health ORDER BY id DESC LIMIT 1').get() as { data: string } | undefined;
        health = parse(row?.data);
      } finally {
        db.close();
      }
      const running = run?.state === 'running' && alive(run.pid);
      const out = {
        agent: run ? { ...run, running } : { running: false },
        health: health ?? null,
        lastEvents: events.map((e) => ({ seq: e.event.seq, label: e.event.label, confidence: e.event.confidence, start: e.event.start, state: e.state, alert: e.alert })),
        queue: { depth: summary.depth, ...(summary.oldest ? { oldest: summary.oldest } : {}), lastAckAt: summary.lastSyncAt ?? null },
        link: link ?? null,
      };
      if (opts.json) {
        ctx.stdout(`${JSON.stringify(out, null, 2)}\n`);
        return;
      }
      const h = (health ?? {}) as { at?: string; soundLevelDbfs?: number; capture?: { running?: boolean; gaps?: number; lastGap?: { start: string; durationMs: number; reason: string }; interruptedReason?: string }; pipeline?: { queueDepth?: number; windowsDropped?: number; windowsScored?: number; windowsSkipped?: number }; schedule?: { mode?: string; battery?: string }; batteryPercent?: number; cpuTempC?: number };
      const lines = [
        `agent      ${running ? `running (pid ${run!.pid}, since ${run!.startedAt}, version ${run!.version})` : run ? `not running (last ${run.state} at ${run.updatedAt})` : 'has never run with this data dir'}`,
        `source     ${run ? `${run.source}: ${run.description}` : '-'}${h.capture ? (h.capture.running ? ', capturing' : `, NOT capturing${h.capture.interruptedReason ? ` (${h.capture.interruptedReason})` : ''}`) : ''}`,
        `level      ${h.soundLevelDbfs !== undefined ? `${h.soundLevelDbfs} dBFS` : '-'}${h.at ? ` (sample ${h.at})` : ''}`,
        `gaps       ${h.capture?.gaps ?? 0}${h.capture?.lastGap ? `; last ${h.capture.lastGap.start} for ${(h.capture.lastGap.durationMs / 1000).toFixed(1)} s: ${h.capture.lastGap.reason}` : ''}`,
        `inference  ${h.pipeline ? `${h.pipeline.windowsScored ?? 0} windows scored, ${h.pipeline.windowsSkipped ?? 0} skipped by the gate, ${h.pipeline.windowsDropped ?? 0} dropped, queue ${h.pipeline.queueDepth ?? 0}` : '-'}`,
        `schedule   ${h.schedule ? `${h.schedule.mode} (battery policy ${h.schedule.battery})` : '-'}${h.batteryPercent !== undefined ? `, battery ${h.batteryPercent} %` : ''}${h.cpuTempC !== undefined ? `, CPU ${h.cpuTempC} °C` : ''}`,
        `outbox     ${summary.depth} waiting${summary.lastSyncAt ? `, last ack ${summary.lastSyncAt}` : ''}`,
        `broker     ${link ? `${link.url}: ${link.connected && running ? 'connected' : 'not connected'}${link.lastError ? ` (last error: ${link.lastError})` : ''}` : config.mqtt.enabled ? 'no link recorded' : 'disabled'}`,
        `events     ${events.length ? '' : 'none yet'}`,
        ...events.map((e) => `  #${e.event.seq} ${e.event.start} ${e.event.label} ${e.event.confidence.toFixed(2)} ${e.state}, alert ${e.alert}`),
      ];
      ctx.stdout(`${lines.join('\n')}\n`);
    });
};
