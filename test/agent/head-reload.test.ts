/**
 * `earshot run` with `detection.head`, in-process: the real model and the real detection stack
 * (not injected, so the lifecycle's own checks run), a fake source replaying a real gunshot, the
 * real store. SIGHUP with a head that cannot be used (another model's, damaged, missing) keeps
 * the running agent; a good head restarts it and its events name the head; retraining the head in
 * place (same configuration, new file) is picked up on SIGHUP too.
 */
import { EventEmitter } from 'node:events';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AudioSink, AudioSource } from '../../agent/capture/source.js';
import { loadModelRateAudio } from '../../agent/audio/load-model-rate.js';
import { prepareDetection } from '../../agent/detect/open-detection.js';
import { runAgent } from '../../agent/lifecycle.js';
import { silentLogger } from '../../agent/log.js';
import { databasePath } from '../../agent/store/limits.js';
import { SqliteStore } from '../../agent/store/sqlite-store.js';
import { loadConfig } from '../../config/load.js';
import { float32ToInt16 } from '../../dsp/pcm.js';
import { ModelInstaller, parseMirrorList } from '../../models/installer.js';
import { getManifest } from '../../models/registry.js';
import { writeTestHead } from '../helpers/head.js';
import { devCorpusDir, sharedModelsDir } from '../helpers/paths.js';
import { waitFor } from '../helpers/wait-for.js';

const RATE = 32000;
let dir: string;
let shot: Int16Array;

/** Each start: a real gunshot, then two seconds of near-silence; nothing more until stopped. */
class ShotSource implements AudioSource {
  readonly kind = 'stdin' as const;
  readonly sampleRate = RATE;
  readonly description = 'fake';
  starts = 0;
  stops = 0;
  start(sink: AudioSink): void {
    this.starts++;
    sink.data(shot);
    sink.data(new Int16Array(2 * RATE).fill(3));
  }
  async stop(): Promise<void> {
    this.stops++;
  }
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'earshot-head-reload-'));
  await new ModelInstaller().install(getManifest('efficientat-mn04').manifest, { dataDir: dir, mirrors: parseMirrorList(sharedModelsDir, dir) });
  shot = float32ToInt16(await loadModelRateAudio(path.join(devCorpusDir, 'gunshot/belize_gunshot_0.wav'), RATE));
}, 60_000);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Lets pending promise callbacks and immediates run (a refused SIGHUP would have begun a restart by then). */
const settle = async () => {
  for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
};
const sha = (file: string) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

describe('SIGHUP with detection.head', () => {
  it('a head that cannot be used keeps the old configuration running; a good one (or a retrained file) restarts with it', async () => {
    const cfgFile = path.join(dir, 'config.yaml');
    const writeConfig = (head: string) =>
      fs.writeFileSync(cfgFile, `device:\n  id: reload\nstorage:\n  dataDir: ${dir}\n  clipFormat: wav\nmqtt:\n  enabled: false\ndetection:\n  head: ${JSON.stringify(head)}\n`);
    writeConfig('none');
    const reload = () => loadConfig({ flag: cfgFile, env: {} }).config;
    const proc = new EventEmitter();
    const source = new ShotSource();
    const done = runAgent({ config: reload(), configFile: cfgFile, env: {}, logger: silentLogger(), source, reload, proc: proc as unknown as NodeJS.Process, clockSynced: () => false });
    await waitFor(() => source.starts === 1, 10_000, 'the first start');

    // Heads the running agent must not be swapped for.
    const foreign = writeTestHead(dir, { file: 'foreign.json', baseModel: { name: 'efficientat-mn04', sha256: '0'.repeat(64) } });
    const damaged = path.join(dir, 'damaged.json');
    fs.writeFileSync(damaged, '{"format":"earshot-head"');
    for (const bad of [foreign, damaged, path.join(dir, 'missing.json')]) {
      writeConfig(bad);
      expect(() => prepareDetection(reload())).toThrow(bad);
      proc.emit('SIGHUP');
      await settle();
      expect(source.stops).toBe(0);
      expect(source.starts).toBe(1);
    }

    // A good head: restart with it.
    const head = writeTestHead(dir, { name: 'site-v1' });
    const v1 = sha(head);
    writeConfig(head);
    proc.emit('SIGHUP');
    await waitFor(() => source.starts === 2, 10_000, 'the restart with the good head');
    expect(source.stops).toBe(1);

    // The same configuration again: nothing to do.
    proc.emit('SIGHUP');
    await settle();
    expect([source.starts, source.stops]).toEqual([2, 1]);

    // The head retrained in place (same path, new weights): SIGHUP picks it up.
    writeTestHead(dir, { name: 'site-v2', seed: 99 });
    const v2 = sha(head);
    expect(v2).not.toBe(v1);
    proc.emit('SIGHUP');
    await waitFor(() => source.starts === 3, 10_000, 'the restart with the retrained head');

    proc.emit('SIGINT');
    expect(await done).toBe(0);

    const store = new SqliteStore({ file: databasePath({ dataDir: dir }) });
    store.open();
    try {
      const shots = store.listEvents().map((s) => s.event).filter((e) => e.label === 'gunshot').sort((a, b) => a.seq - b.seq);
      // One shot per run: the class map's, then each head's.
      expect(shots.map((e) => e.head)).toEqual([undefined, { name: 'site-v1', sha256: v1 }, { name: 'site-v2', sha256: v2 }]);
    } finally {
      store.close();
    }
  }, 60_000);
});
