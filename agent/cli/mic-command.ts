/**
 * `earshot mic test [--seconds N] [--json] [--detect]`: is the microphone working? Records from
 * the configured source (agent/mic/mic-test.ts), shows a live level meter on a terminal, prints a
 * summary (or JSON), exits 69 with the recorder's own message when it fails, and with --detect
 * runs the detection on what it heard ("clap or play a recording and see the event").
 */
import type { Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import { int16ToFloat32 } from '../../dsp/pcm.js';
import { createSource } from '../capture/create-source.js';
import { openDetection, type DetectionStack } from '../detect/open-detection.js';
import type { TrackedEvent } from '../detect/tracker.js';
import { recordMicTest } from '../mic/mic-test.js';
import { meterLine, summaryText } from '../mic/report.js';
import { silentLogger } from '../silent-logger.js';
import { globalOptions, type RegisterCommand } from './context.js';
import { numberOption } from './number-option.js';

const COMPONENT = 'cli.mic';

function fmt(sec: number): string {
  const m = Math.floor(sec / 60);
  return `${String(m).padStart(2, '0')}:${(sec - m * 60).toFixed(1).padStart(4, '0')}`;
}

function eventJson(e: TrackedEvent, rate: number) {
  return { label: e.label, category: e.category, confidence: Number(e.confidence.toFixed(4)), startSec: Number((e.startSample / rate).toFixed(3)), endSec: Number((e.endSample / rate).toFixed(3)), modelLabels: e.modelLabels.slice(0, 3).map((m) => ({ label: m.label, score: Number(m.score.toFixed(4)) })) };
}

export const registerMicCommand: RegisterCommand = (program, ctx) => {
  const mic = program.command('mic').description('check the microphone');
  mic
    .command('test')
    .description('record from the configured source: live level meter on a terminal (dBFS, peak, clipping, DC offset, noise floor), a summary, exit 69 when the recorder fails; --detect also runs detection on what was heard')
    .option('--seconds <n>', 'how long to record', '10')
    .option('--json', 'print one JSON object instead of the summary')
    .option('--detect', 'run detection on the recording and print the events (clap, or play a recording near the microphone)')
    .action(async (opts: { seconds: string; json?: boolean; detect?: boolean }, cmd: Command) => {
      const seconds = numberOption(COMPONENT, 'seconds', opts.seconds, 1, 600);
      const configFile = globalOptions(cmd).config;
      const { config } = loadConfig({ flag: configFile, env: ctx.env });
      // The model before the microphone: a missing model is exit 69 before anyone claps.
      const stack: DetectionStack | undefined = opts.detect ? await openDetection(config, { mirror: ctx.env.EARSHOT_MODEL_MIRROR, configFile }) : undefined;
      try {
        const source = createSource(config.audio, silentLogger());
        const live = ctx.isTTY && !opts.json;
        if (live) ctx.stderr(`listening to ${source.description} for ${seconds} s (Ctrl-C stops)\n`);
        const result = await recordMicTest({
          source,
          seconds,
          keepAudio: Boolean(stack),
          onAudio: live ? (m, heard) => m.block && ctx.stderr(`\r\x1b[2K${meterLine(m.block, m.summary(), heard, seconds)}`) : undefined,
        });
        if (live) ctx.stderr('\r\x1b[2K');
        let events: TrackedEvent[] | undefined;
        if (stack && result.audio) {
          const samples = int16ToFloat32(result.audio);
          // As `run` does: the configured digital gain before detection.
          const gain = 10 ** (config.audio.gainDb / 20);
          if (gain !== 1) for (let i = 0; i < samples.length; i++) samples[i]! *= gain;
          events = (await stack.analyzer().analyze(samples, result.sampleRate)).events;
        }
        if (opts.json) {
          const { audio: _audio, ...rest } = result;
          ctx.stdout(`${JSON.stringify({ source: source.description, ...rest, ...(events ? { events: events.map((e) => eventJson(e, result.sampleRate)) } : {}) })}\n`);
          return;
        }
        ctx.stdout(summaryText({ source: source.description, ...result }));
        if (events) {
          ctx.stdout(`events       ${events.length ? '' : 'none (clap, or play a recording near the microphone, and try again)'}\n`);
          for (const e of events) {
            const top = e.modelLabels[0];
            ctx.stdout(`  ${fmt(e.startSample / result.sampleRate)}–${fmt(e.endSample / result.sampleRate)}  ${e.label} ${e.confidence.toFixed(2)}${top ? ` (${top.label} ${top.score.toFixed(2)})` : ''}\n`);
          }
        }
      } finally {
        await stack?.close();
        // A recorder child left behind (see stopWithin) must not keep the command from ending.
        setTimeout(() => process.exit(), 500).unref();
      }
    });
};
