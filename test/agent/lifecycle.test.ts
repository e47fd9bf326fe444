/**
 * The lifecycle in-process: a fake process (signals as events), a fake source and tagger, the
 * real store. SIGTERM stops in order and resolves 0 with open events flushed; SIGHUP keeps the old
 * configuration when the new one is invalid and restarts with a valid change; an unhandled
 * rejection leads to an orderly stop with a non-zero code.
 */
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../config/load.js';
import type { Config } from '../../config/schema.js';
import type { AudioSink, AudioSource } from '../../agent/capture/source.js';
import type { DetectionStack } from '../../agent/detect/open-detection.js';
import type { MelBatch, TaggerWindowScores } from '../../agent/detect/types.js';
import { ConfigError } from '../../agent/errors.js';
import { runAgent } from '../../agent/lifecycle.js';
import { silentLogger } from '../../agent/log.js';
import { SqliteStore } from '../../agent/store/sqlite-store.js';
import { databasePath } from '../../agent/store/limits.js';
import { MN04_FRONTEND } from '../../dsp/frontend-params.js';
import { createMelFrontend } from '../../dsp/melspec.js';
import { compileClassMap, defaultClassMapPath, readClassMap } from '../../models/classmap.js';
import { audiosetLabels } from '../helpers/model-labels.js';

const labels = audiosetLabels();
const classMap = compileClassMap(readClassMap(defaultClassMapPath(), labels), labels);
const GUN = labels.indexOf('Gunshot, gunfire');

class LoudSource implements AudioSource {
  readonly kind = 'stdin' as const;
  readonly sampleRate = 32000;
  readonly description = 'fake';
  starts = 0;
  stops = 0;
  private timer?: NodeJS.Timeout;
  start(sink: AudioSink): void {
    this.starts++;
    // 8 s of audio at once, then 100 ms blocks.
    sink.data(new Int16Array(8 * 32000).fill(1000));
    this.timer = setInterval(() => sink.data(new Int16Array(3200).fill(1000)), 100);
  }
  async stop(): Promise<void> {
    this.stops++;
    clearInterval(this.timer);
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

function setup(): { config: Config; proc: EventEmitter; source: LoudSource; dir: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'earshot-life-'));
  const config = validateConfig({ device: { id: 'life' }, storage: { dataDir: dir, clipFormat: 'wav' }, mqtt: { enabled: false }, detection: { windowSec: 2, hopSec: 1 } }, 'test');
  return { config, proc: new EventEmitter(), source: new LoudSource(), dir };
}

const run = (s: ReturnType<typeof setup>, reload: () => Config) =>
  runAgent({ config: s.config, configFile: path.join(s.dir, 'c.yaml'), env: {}, logger: silentLogger(), source: s.source, detection: detection(), reload, proc: s.proc as unknown as NodeJS.Process, clockSynced: () => false });

const until = async (cond: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
};

function storedEvents(dir: string) {
  const store = new SqliteStore({ file: databasePath({ dataDir: dir }) });
  store.open();
  try {
    return store.listEvents();
  } finally {
    store.close();
  }
}

describe('runAgent', () => {
  it('SIGTERM: stops capture, closes the open event with its alert, resolves 0', async () => {
    const s = setup();
    const done = run(s, () => s.config);
    await until(() => s.source.starts === 1);
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    s.proc.emit('SIGTERM');
    expect(await done).toBe(0);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(s.source.stops).toBe(1);
    const events = storedEvents(s.dir);
    expect(events.length).toBe(1);
    expect(events[0]).toMatchObject({ state: 'closed', alert: 'queued', event: { label: 'gunshot', device: 'life', clockSynced: false } });
    expect(events[0]!.clip?.format).toBe('wav');
    expect(s.proc.listenerCount('SIGTERM')).toBe(0);
  });

  it('SIGHUP: an invalid configuration is refused; a changed one restarts the agent with it', async () => {
    const s = setup();
    let next: () => Config = () => {
      throw new ConfigError('c.yaml: 1 problem', { component: 'config', code: 'config.invalid' });
    };
    const done = run(s, () => next());
    await until(() => s.source.starts === 1);
    s.proc.emit('SIGHUP');
    await new Promise((r) => setTimeout(r, 100));
    expect(s.source.stops).toBe(0);
    next = () => ({ ...s.config, device: { ...s.config.device, name: 'renamed' } });
    s.proc.emit('SIGHUP');
    await until(() => s.source.starts === 2);
    expect(s.source.stops).toBe(1);
    s.proc.emit('SIGINT');
    expect(await done).toBe(0);
  });

  it('an unhandled rejection: orderly stop, non-zero exit', async () => {
    const s = setup();
    const done = run(s, () => s.config);
    await until(() => s.source.starts === 1);
    s.proc.emit('unhandledRejection', new Error('boom'));
    expect(await done).toBe(1);
    expect(s.source.stops).toBe(1);
  });
});
