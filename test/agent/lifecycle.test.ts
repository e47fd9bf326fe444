/**
 * The lifecycle in-process: a fake process (signals as events), a fake source (8 s of loud audio
 * at each start), a fake tagger, the real store; the agent's timers are manual (nothing the agent times runs on its
 * own). SIGTERM stops in order and resolves 0 with open events closed and clipped; SIGHUP keeps
 * the old configuration when the new one is invalid and restarts with a valid change, which the
 * restarted agent then uses; an unhandled rejection leads to an orderly stop with a non-zero code.
 */
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../config/load.js';
import type { Config } from '../../config/schema.js';
import { Agent, type AgentOptions } from '../../agent/agent.js';
import type { AudioSink, AudioSource } from '../../agent/capture/source.js';
import type { DetectionStack } from '../../agent/detect/open-detection.js';
import type { MelBatch, TaggerWindowScores } from '../../agent/detect/types.js';
import { ConfigError } from '../../agent/errors.js';
import type { HealthPayload } from '../../agent/health/health-payload.js';
import { runAgent } from '../../agent/lifecycle.js';
import { readRunState, RUN_STATE_KEY } from '../../agent/run-state.js';
import { silentLogger } from '../../agent/silent-logger.js';
import { openEventReader } from '../../agent/store/event-reader.js';
import { databasePath } from '../../agent/store/limits.js';
import { MN04_FRONTEND } from '../../dsp/frontend-params.js';
import { createMelFrontend } from '../../dsp/melspec.js';
import { compileClassMap, defaultClassMapPath, readClassMap } from '../../models/classmap.js';
import { ManualTimers } from '../helpers/manual-timers.js';
import { audiosetLabels } from '../helpers/model-labels.js';
import { waitFor } from '../helpers/wait-for.js';

const labels = audiosetLabels();
const classMap = compileClassMap(readClassMap(defaultClassMapPath(), labels), labels);
const GUN = labels.indexOf('Gunshot, gunfire');
const RATE = 32000;

/** Delivers 8 s of loud audio each time it is started: one gunshot event per agent. */
class LoudSource implements AudioSource {
  readonly kind = 'stdin' as const;
  readonly sampleRate = RATE;
  readonly description = 'fake';
  starts = 0;
  stops = 0;
  start(sink: AudioSink): void {
    this.starts++;
    sink.data(new Int16Array(8 * RATE).fill(1000));
  }
  async stop(): Promise<void> {
    this.stops++;
  }
}

function detection(): DetectionStack {
  const tagger = {
    async score(b: MelBatch): Promise<TaggerWindowScores[]> {
      return Array.from({ length: b.batch }, () => {
        const probabilities = new Float32Array(labels.length);
        probabilities[GUN] = 0.95;
        return { logits: probabilities, probabilities, embedding: new Float32Array(0) };
      });
    },
  };
  return { frontend: createMelFrontend(MN04_FRONTEND), tagger, classMap, modelRef: { name: 'fake', version: '1', sha256: '0'.repeat(64) }, close: async () => undefined } as unknown as DetectionStack;
}

/** Lets pending promise callbacks and immediates run. */
const settle = async () => {
  for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
};

function setup() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'earshot-life-'));
  const config = validateConfig({ device: { id: 'life' }, storage: { dataDir: dir, clipFormat: 'wav' }, mqtt: { enabled: false }, detection: { windowSec: 2, hopSec: 1 } }, 'test');
  const proc = new EventEmitter();
  const source = new LoudSource();
  const agents: Agent[] = [];
  const start = (reload: () => Config) =>
    runAgent({
      config,
      configFile: path.join(dir, 'c.yaml'),
      env: {},
      logger: silentLogger(),
      source,
      detection: detection(),
      reload,
      proc: proc as unknown as NodeJS.Process,
      clockSynced: () => false,
      timers: new ManualTimers(),
      createAgent: (o: AgentOptions) => {
        const agent = new Agent(o);
        agents.push(agent);
        return agent;
      },
    });
  /** Events the running agent has stored (read beside it, as `earshot events` does). */
  const events = () => agents.at(-1)?.store?.listEvents() ?? [];
  return { dir, config, proc, source, agents, start, events };
}

function readBack(dir: string) {
  const reader = openEventReader(databasePath({ dataDir: dir }));
  try {
    return {
      events: reader.queries.list({}),
      health: JSON.parse(reader.sync.latestHealth()!) as HealthPayload,
      run: readRunState(reader.sync.state(RUN_STATE_KEY)),
    };
  } finally {
    reader.close();
  }
}

describe('runAgent', () => {
  it('SIGTERM: stops capture, closes the open event with its alert and clip, records the stop, resolves 0', async () => {
    const s = setup();
    const done = s.start(() => s.config);
    await waitFor(() => s.events().length === 1, 5000, 'the gunshot event to open');
    expect(s.events()[0]).toMatchObject({ state: 'open', alert: 'queued' });
    s.proc.emit('SIGTERM');
    expect(await done).toBe(0);
    expect(s.source.stops).toBe(1);
    const back = readBack(s.dir);
    expect(back.events).toHaveLength(1);
    expect(back.events[0]).toMatchObject({ state: 'closed', alert: 'queued', event: { label: 'gunshot', device: 'life', clockSynced: false } });
    expect(back.events[0]!.clip?.format).toBe('wav');
    expect(back.run).toMatchObject({ state: 'stopped', pid: process.pid, source: 'alsa', description: 'fake' });
    expect(back.health.capture).toMatchObject({ running: false, samples: 8 * RATE, interruptedReason: 'agent stopped' });
    expect(s.proc.listenerCount('SIGTERM')).toBe(0);
  });

  it('SIGHUP: an invalid configuration is refused; a changed one restarts the agent, which then runs with it', async () => {
    const s = setup();
    let next: () => Config = () => {
      throw new ConfigError('c.yaml: 1 problem', { component: 'config', code: 'config.invalid' });
    };
    const done = s.start(() => next());
    await waitFor(() => s.events().length === 1, 5000, 'the first agent to detect');
    s.proc.emit('SIGHUP');
    await settle();
    expect([s.source.starts, s.source.stops, s.agents.length]).toEqual([1, 0, 1]);

    next = () => ({ ...s.config, device: { ...s.config.device, id: 'life-renamed' } });
    s.proc.emit('SIGHUP');
    await waitFor(() => s.agents.length === 2 && s.events().some((e) => e.event.device === 'life-renamed'), 5000, 'the restarted agent to detect');
    expect(s.source.stops).toBe(1);
    s.proc.emit('SIGINT');
    expect(await done).toBe(0);

    // The restarted agent ran with the new configuration: its event, health and run state say so.
    const back = readBack(s.dir);
    expect(back.events.map((e) => e.event.device)).toEqual(['life', 'life-renamed']);
    expect(back.health.device).toBe('life-renamed');
    expect(back.run?.state).toBe('stopped');
  });

  it('an unhandled rejection: orderly stop, non-zero exit', async () => {
    const s = setup();
    const done = s.start(() => s.config);
    await waitFor(() => s.source.starts === 1, 5000, 'capture to start');
    s.proc.emit('unhandledRejection', new Error('boom'));
    expect(await done).toBe(1);
    expect(s.source.stops).toBe(1);
  });
});
