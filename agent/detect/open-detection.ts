/**
 * Builds the detection stack from the configuration: the installed model, its front end,
 * the ONNX tagger and the class map. One place, used by `analyze`, the evaluation, the
 * benchmarks and (later) the agent.
 */
import { createMelFrontend, type MelFrontend } from '../../dsp/melspec.js';
import type { FrontendParams } from '../../dsp/frontend-params.js';
import { compileClassMap, defaultClassMapPath, readClassMap, usesVoice, type ClassMap } from '../../models/classmap.js';
import { openInstalledModel, type InstalledModel } from '../../models/installed.js';
import { getManifest } from '../../models/registry.js';
import type { Config } from '../../config/schema.js';
import type { ModelRef } from '../event.js';
import { Analyzer, type AnalyzerOptions } from './analyzer.js';
import { OnnxTagger } from './onnx-tagger.js';
import { SileroVad } from './silero-vad.js';

export interface DetectionStack {
  model: InstalledModel;
  modelRef: ModelRef;
  frontend: MelFrontend;
  tagger: OnnxTagger;
  /** Silero VAD, when a label takes voice evidence and `detection.voice` is on. */
  voice?: SileroVad;
  classMap: ClassMap;
  analyzer(opts?: Partial<Pick<AnalyzerOptions, 'minConfidence' | 'labels' | 'batchSize' | 'windowSec' | 'hopSec'>>): Analyzer;
  close(): Promise<void>;
}

export interface OpenDetectionOptions {
  /** Overrides `detection.threads`. */
  threads?: number;
  /** A class map file other than the shipped one. */
  classMapFile?: string;
  /** For the hint in "not installed" errors. */
  mirror?: string;
  configFile?: string;
}

/** Opens the configured model (exit 69 with the install command when it is missing). */
export async function openDetection(config: Config, opts: OpenDetectionOptions = {}): Promise<DetectionStack> {
  const name = config.detection.model;
  const model = openInstalledModel(name, config.storage.dataDir, { expected: getManifest(name).manifest, mirror: opts.mirror, configFile: opts.configFile });
  const labelNames = model.labels.map((l) => l.name);
  const classMap = compileClassMap(readClassMap(opts.classMapFile ?? defaultClassMapPath(), labelNames), labelNames, config.detection.labels);
  const frontend = createMelFrontend(model.manifest.frontend as FrontendParams);
  const tagger = new OnnxTagger({ modelPath: model.modelPath, manifest: model.manifest, threads: opts.threads ?? config.detection.threads });
  await tagger.open();
  const voice = config.detection.voice && usesVoice(classMap) ? new SileroVad({ threads: 1 }) : undefined;
  await voice?.open();
  return {
    model,
    modelRef: { name: model.name, version: model.version, sha256: model.sha256 },
    frontend,
    tagger,
    voice,
    classMap,
    analyzer: (o = {}) =>
      new Analyzer({
        frontend,
        tagger,
        voice,
        classMap,
        windowSec: o.windowSec ?? config.detection.windowSec,
        hopSec: o.hopSec ?? config.detection.hopSec,
        batchSize: o.batchSize ?? 8,
        minConfidence: o.minConfidence,
        labels: o.labels,
      }),
    close: async () => {
      await tagger.close();
      await voice?.close();
    },
  };
}
