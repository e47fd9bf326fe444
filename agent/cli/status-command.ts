/**
 * `earshot status`: what a running agent is doing, read from the data dir (the agent writes its
 * run state, health samples, events and link state there): source, sound level, gaps, inference
 * queue and drops, schedule, last events, outbox and broker link.
 */
import { loadConfig } from '../../config/load.js';
import type { HealthPayload } from '../health/health-payload.js';
import { readRunState, RUN_STATE_KEY, type RunState } from '../run-state.js';
import { databasePath } from '../store/limits.js';
import { openEventReader } from '../store/event-reader.js';
import { LINK_STATE_KEY, parseLinkState, type LinkState } from '../sync/link-state.js';
import { processAlive } from '../system/process-alive.js';
import { globalOptions, type RegisterCommand } from './context.js';

function parseHealth(text: string | undefined): HealthPayload | undefined {
  try {
    return text ? (JSON.parse(text) as HealthPayload) : undefined;
  } catch {
    return undefined;
  }
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
      let health: HealthPayload | undefined;
      let link: LinkState | undefined;
      let summary;
      let events;
      try {
        run = readRunState(reader.sync.state(RUN_STATE_KEY));
        link = parseLinkState(reader.sync.state(LINK_STATE_KEY));
        summary = reader.sync.outboxSummary();
        events = reader.queries.list({ order: 'desc', limit: 5 });
        health = parseHealth(reader.sync.latestHealth());
      } finally {
        reader.close();
      }
      const running = run?.state === 'running' && processAlive(run.pid);
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
      const h: Partial<HealthPayload> = health ?? {};
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
