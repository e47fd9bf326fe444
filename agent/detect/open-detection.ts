/**
 * Builds the detection stack from the configuration: the installed model, its front end,
 * the ONNX tagger, the class map and the site head (`detection.head`). One place, used by
 * `analyze`, the evaluation, the benchmarks and the agent.
 *
 * Everything that can be wrong with the configuration (model not installed, class map, a head
 * that is missing, damaged, trained on another model or for a label the class map lacks) is
 * checked by `prepareDetection`, synchronously and before any ONNX session is created; the agent
 * runs the same checks on a configuration reloaded on SIGHUP before it stops the running one.
 */
import { createMelFrontend, type MelFrontend } from '../../dsp/melspec.js';
import type { FrontendParams } from '../../dsp/frontend-params.js';
import { compileClassMap, defaultClassMapPath, readClassMap, usesVoice, type ClassMap } from '../../models/classmap.js';
import { openInstalledModel, type InstalledModel } from '../../models/installed.js';
import { getManifest } from '../../models/registry.js';
import type { Config } from '../../config/schema.js';
import { ConfigError } from '../errors.js';
import type { ModelRef } from '../event.js';
import { Analyzer, type AnalyzerOptions } from '../offline/analyzer.js';
import { HeadScorer, type HeadRef } from './head-scorer.js';
import { OnnxTagger } from './onnx-tagger.js';
import { openHead, resolveHead } from './open-head.js';
import { SileroVad } from './silero-vad.js';

const COMPONENT = 'detect.open';

export interface DetectionStack {
  model: InstalledModel;
  modelRef: ModelRef;
  frontend: MelFrontend;
  tagger: OnnxTagger;
  /** Silero VAD, when a label that takes voice evidence is enabled and `detection.voice` is on. */
  voice?: SileroVad;
  /** The class map, with the head's labels taking over (thresholds, categories) when a head runs. */
  classMap: ClassMap;
  /** The site head, when `detection.head` (or the `head` option) is not "none". */
  head?: HeadScorer;
  /** How events name the head (also `head.ref`). */
  headRef?: HeadRef;
  analyzer(opts?: Partial<Pick<AnalyzerOptions, 'minConfidence' | 'labels' | 'batchSize' | 'windowSec' | 'hopSec'>>): Analyzer;
  close(): Promise<void>;
}

export interface OpenDetectionOptions {
  /** Overrides `detection.threads`. */
  threads?: number;
  /** A class map file other than the shipped one. */
  classMapFile?: string;
  /** Overrides `detection.head`: "none", "default" or a head file. */
  head?: string;
  /** For the hint in "not installed" errors. */
  mirror?: string;
  configFile?: string;
}

/** What `prepareDetection` checked and built, before any ONNX session exists. */
export interface PreparedDetection {
  model: InstalledModel;
  modelRef: ModelRef;
  frontend: MelFrontend;
  classMap: ClassMap;
  head?: HeadScorer;
}

/** Frames of the longest window of `windowSec` (sizes the head's onset buffers). */
export function windowFramesFor(params: Pick<FrontendParams, 'sampleRate' | 'hop'>, windowSec: number): number {
  return Math.round((windowSec * params.sampleRate) / params.hop) + 1;
}

/**
 * The class map with a head's labels taking over; a head label the class map does not have is a
 * configuration error naming it (the head was made for another class map).
 */
export function applyHead(classMap: ClassMap, head: HeadScorer, file: string, config: Pick<Config['detection'], 'labels'>): ClassMap {
  const known = new Set(classMap.labels.map((l) => l.name));
  const unknown = head.labels.map((l) => l.name).filter((n) => !known.has(n));
  if (unknown.length) {
    throw new ConfigError(
      `${file}: the head scores label${unknown.length === 1 ? '' : 's'} ${unknown.join(', ')} that the class map does not have (it has ${[...known].join(', ')}); ` +
        'train the head with the class map\'s label names, or set detection.head to "none"',
      { component: COMPONENT, code: 'head.unknown-label' },
    );
  }
  return { ...classMap, labels: head.applyTo(classMap.labels, config.labels) };
}

/**
 * Opens the installed model's files (sizes only), the class map and the head, and checks them
 * together; creates no ONNX session. Throws what `openDetection` would (69 model not installed;
 * head: 66 missing, 65 damaged, 78 another model or an unknown label).
 */
export function prepareDetection(config: Config, opts: Pick<OpenDetectionOptions, 'classMapFile' | 'head' | 'mirror' | 'configFile'> = {}): PreparedDetection {
  const name = config.detection.model;
  const model = openInstalledModel(name, config.storage.dataDir, { expected: getManifest(name).manifest, mirror: opts.mirror, configFile: opts.configFile });
  const labelNames = model.labels.map((l) => l.name);
  let classMap = compileClassMap(readClassMap(opts.classMapFile ?? defaultClassMapPath(), labelNames), labelNames, config.detection.labels);
  const frontend = createMelFrontend(model.manifest.frontend as FrontendParams);
  const resolved = resolveHead(opts.head ?? config.detection.head);
  let head: HeadScorer | undefined;
  if (resolved) {
    head = openHead(resolved, { model: { name: model.name, sha256: model.sha256 }, modelLabels: labelNames, nMels: frontend.nMels, maxFrames: windowFramesFor(frontend.params, config.detection.windowSec) });
    classMap = applyHead(classMap, head, resolved.file, config.detection);
  }
  return { model, modelRef: { name: model.name, version: model.version, sha256: model.sha256 }, frontend, classMap, ...(head ? { head } : {}) };
}

/** Opens the configured model (exit 69 with the install command when it is missing) and head. */
export async function openDetection(config: Config, opts: OpenDetectionOptions = {}): Promise<DetectionStack> {
  // Every check first: a bad head must not cost a model load.
  const { model, modelRef, frontend, classMap, head } = prepareDetection(config, opts);
  const tagger = new OnnxTagger({ modelPath: model.modelPath, manifest: model.manifest, threads: opts.threads ?? config.detection.threads });
  await tagger.open();
  const voice = config.detection.voice && usesVoice(classMap) ? new SileroVad({ threads: 1 }) : undefined;
  await voice?.open();
  const labelNames = classMap.modelLabels;
  return {
    model,
    modelRef,
    frontend,
    tagger,
    voice,
    classMap,
    ...(head ? { head, headRef: head.ref } : {}),
    analyzer: (o = {}) => {
      const windowSec = o.windowSec ?? config.detection.windowSec;
      // A longer window than the configured one (analyze --window) needs larger onset buffers.
      const scorer = head && windowSec > config.detection.windowSec ? new HeadScorer(head.head, head.ref, labelNames, frontend.nMels, windowFramesFor(frontend.params, windowSec)) : head;
      return new Analyzer({
        frontend,
        tagger,
        voice,
        classMap,
        windowSec,
        hopSec: o.hopSec ?? config.detection.hopSec,
        batchSize: o.batchSize ?? 8,
        minConfidence: o.minConfidence,
        labels: o.labels,
        ...(scorer ? { head: scorer } : {}),
      });
    },
    close: async () => {
      await tagger.close();
      await voice?.close();
    },
  };
}
