/** `earshot models list|install|verify`, and `requireInstalledModel` for `run`/`analyze`. */
import path from 'node:path';
import type { Command } from 'commander';
import type { Config } from '../../config/schema.js';
import { loadConfig } from '../../config/load.js';
import { checkHeadBase, readHead } from '../../models/head.js';
import { installCommand, MIRROR_ENV, ModelInstaller, parseMirrorList, URL_ENV, type InstallProgress, type VerifyReport } from '../../models/installer.js';
import { openInstalledModel, type InstalledModel } from '../../models/installed.js';
import { manifestBytes, modelFile, type ModelManifest } from '../../models/manifest.js';
import { findManifest, getManifest, listManifests, shippedModelsDir } from '../../models/registry.js';
import { fileSha256, resolveHead } from '../detect/open-head.js';
import { DataError, EarshotError, InputMissingError, UnavailableError, exitCodeOf } from '../errors.js';
import { globalOptions, type CliContext, type RegisterCommand } from './context.js';

const COMPONENT = 'cli.models';

export interface RequireModelOptions {
  /** Environment for the mirror named in the hint (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** The `--config` file, so the hint installs into the same dataDir. */
  configFile?: string;
  /** Re-hash the files (default: sizes only). */
  verifyHashes?: boolean;
}

/**
 * The installed model `name` under `dataDir` (paths, manifest, labels), checked against the
 * manifest this build ships. Throws UnavailableError (exit 69) naming the install command.
 */
export function requireInstalledModel(name: string, dataDir: string, opts: RequireModelOptions = {}): InstalledModel {
  const env = opts.env ?? process.env;
  return openInstalledModel(name, dataDir, {
    expected: findManifest(name)?.manifest,
    verifyHashes: opts.verifyHashes,
    mirror: env[MIRROR_ENV],
    configFile: opts.configFile,
  });
}

function mib(bytes: number): string {
  return `${(bytes / (1 << 20)).toFixed(1)} MiB`;
}

function licenceText(m: ModelManifest): string {
  return m.licence.labels ? `${m.licence.model} (labels ${m.licence.labels})` : m.licence.model;
}

/** Percent progress on one stderr line, only on a terminal and only for files worth waiting for. */
function progressPrinter(ctx: CliContext): ((p: InstallProgress) => void) | undefined {
  if (!ctx.isTTY) return undefined;
  let last = '';
  return (p) => {
    if (p.total < 1 << 20) return;
    const pct = Math.floor((100 * p.bytes) / p.total);
    const line = `  ${p.file} ${pct}% of ${mib(p.total)}`;
    if (line === last) return;
    last = line;
    ctx.stderr(`\r${line}${p.bytes >= p.total ? '\n' : ''}`);
  };
}

function verifyFailure(r: VerifyReport, hint: string): Error | undefined {
  if (!r.installed) {
    const why = r.staleVersion ? `installed version ${r.staleVersion} differs from version ${r.version} of this Earshot` : `not installed in ${r.dir}`;
    return new UnavailableError(`model ${r.name}: ${why}; install it with: ${hint}`, { component: COMPONENT, code: 'model.not-installed' });
  }
  const missing = r.files.filter((f) => f.status === 'missing');
  if (missing.length > 0) {
    return new InputMissingError(`model ${r.name}: missing ${missing.map((f) => f.path).join(', ')}; reinstall with: ${hint}`, { component: COMPONENT, code: 'model.file-missing' });
  }
  const bad = r.files.filter((f) => f.status !== 'ok');
  if (bad.length > 0) {
    const lines = bad.map((f) => `  ${f.path}: expected sha256 ${f.expectedSha256} (${f.expectedSize} bytes), found ${f.actualSha256} (${f.actualSize} bytes)`);
    return new DataError(`model ${r.name}: ${bad.length} file(s) do not match the manifest\n${lines.join('\n')}\nreinstall with: ${hint}`, { component: COMPONENT, code: 'model.file-hash' });
  }
  return undefined;
}

/** What `train` measured for one label (keys as `earshot train` writes them; any may be missing). */
interface LabelReport {
  clips?: number;
  backgroundHours?: number;
  recall?: number;
  falseAlarmsPerHour?: number;
  recallAt1PerHour?: number;
  threshold?: number;
}

/** The configured head as `models list` shows it. */
export interface HeadSummary {
  /** `detection.head` as configured. */
  setting: string;
  name: string;
  file: string;
  shipped: boolean;
  sha256: string;
  baseModel: { name: string; sha256: string };
  createdAt: string;
  labels: { label: string; category: string; headThreshold: number; alertThreshold: number; report?: LabelReport }[];
  /** The head's training report as stored (free-form). */
  report: Record<string, unknown>;
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** The configured head, read and checked against detection.model; undefined for "none". Throws 65/66/78 like `run`. */
export function describeHead(config: Config): HeadSummary | undefined {
  const setting = config.detection.head;
  const resolved = resolveHead(setting);
  if (!resolved) return undefined;
  const head = readHead(resolved.file, { sha256: resolved.sha256 });
  const manifest = findManifest(config.detection.model)?.manifest;
  if (manifest) checkHeadBase(head, resolved.file, { name: manifest.name, sha256: modelFile(manifest).sha256 });
  const reportLabels = (typeof head.report.labels === 'object' && head.report.labels !== null ? head.report.labels : {}) as Record<string, unknown>;
  return {
    setting,
    name: head.name,
    file: resolved.file,
    shipped: resolved.shipped,
    sha256: resolved.sha256 ?? fileSha256(resolved.file),
    baseModel: head.baseModel,
    createdAt: head.createdAt,
    labels: Object.entries(head.labels).map(([label, l]) => {
      const r = reportLabels[label];
      const rec = (typeof r === 'object' && r !== null ? r : undefined) as Record<string, unknown> | undefined;
      const report: LabelReport | undefined = rec
        ? Object.fromEntries(
            (['clips', 'backgroundHours', 'recall', 'falseAlarmsPerHour', 'recallAt1PerHour', 'threshold'] as const).flatMap((k) => (num(rec[k]) === undefined ? [] : [[k, num(rec[k])]])),
          )
        : undefined;
      return { label, category: l.category, headThreshold: l.threshold, alertThreshold: config.detection.labels[label]?.threshold ?? 0.5, ...(report ? { report } : {}) };
    }),
    report: head.report,
  };
}

function fixed(v: number | undefined, digits: number): string {
  return v === undefined ? '-' : v.toFixed(digits);
}

function columns(table: string[][], indent = ''): string {
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  return table.map((row) => `${indent}${row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')}\n`).join('');
}

/** The head section of `models list` (text). */
export function headText(h: HeadSummary): string {
  let out = `head (detection.head = ${h.setting}):\n`;
  out += `  name       ${h.name}\n  file       ${h.file}${h.shipped ? ' (shipped)' : ''}\n  sha256     ${h.sha256.slice(0, 12)}\n`;
  out += `  base model ${h.baseModel.name} (sha256 ${h.baseModel.sha256.slice(0, 12)})\n  created    ${h.createdAt}\n`;
  const table = [['LABEL', 'CATEGORY', 'HEAD THRESHOLD', 'ALERT AT', 'CLIPS', 'BACKGROUND H', 'RECALL (CV)', 'FALSE ALARMS/H', 'RECALL AT ≤1 FA/H']];
  for (const l of h.labels) {
    const r = l.report ?? {};
    table.push([l.label, l.category, l.headThreshold.toFixed(3), l.alertThreshold.toFixed(2), r.clips === undefined ? '-' : String(r.clips), fixed(r.backgroundHours, 2), fixed(r.recall, 3), fixed(r.falseAlarmsPerHour, 2), fixed(r.recallAt1PerHour, 3)]);
  }
  out += columns(table, '  ');
  // The report's other plain entries (how it was trained and measured), one per line.
  for (const [key, value] of Object.entries(h.report)) {
    if (key !== 'labels' && ['string', 'number', 'boolean'].includes(typeof value)) out += `  ${key}: ${String(value)}\n`;
  }
  return out;
}

export const registerModelsCommands: RegisterCommand = (program, ctx) => {
  const models = program.command('models').description('list, install and verify the detection models');
  const setup = (cmd: Command) => {
    const configFile = globalOptions(cmd).config;
    const { config } = loadConfig({ flag: configFile, env: ctx.env });
    const hint = (name: string) => installCommand(name, { mirror: ctx.env[MIRROR_ENV], configFile });
    return { config, configFile, hint };
  };

  models
    .command('list')
    .description('models this Earshot knows, whether each is installed and intact')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const { config } = setup(cmd);
      const installer = new ModelInstaller();
      const manifests = listManifests().map((x) => x.manifest);
      const rows = [];
      for (const manifest of manifests) {
        const r = await installer.verify(manifest, config.storage.dataDir);
        rows.push({
          name: manifest.name,
          version: manifest.version,
          description: manifest.description,
          installed: r.installed,
          // Only meaningful for an installed model.
          verified: r.installed ? r.ok : null,
          sizeBytes: manifestBytes(manifest),
          licence: manifest.licence,
          source: manifest.source,
          dir: r.dir,
          default: manifest.name === config.detection.model,
        });
      }
      // The configured head (detection.head), on the row of the model it runs on.
      let head: HeadSummary | undefined;
      let headError: EarshotError | undefined;
      try {
        head = describeHead(config);
      } catch (err) {
        headError = err instanceof EarshotError ? err : new DataError(`head ${config.detection.head}: ${(err as Error).message}`, { component: COMPONENT, code: 'head.unreadable' });
      }
      const headJson = headError
        ? { setting: config.detection.head, error: headError.message, exitCode: exitCodeOf(headError) }
        : (head ?? null);
      if (opts.json) {
        const withHead = rows.map((r) => (r.default ? { ...r, head: headJson } : r));
        ctx.stdout(`${JSON.stringify(withHead, null, 2)}\n`);
        if (headError) throw headError;
        return;
      }
      const table = [['NAME', 'VERSION', 'INSTALLED', 'VERIFIED', 'SIZE', 'LICENCE']];
      rows.forEach((r, i) => {
        table.push([`${r.name}${r.default ? ' *' : ''}`, r.version, r.installed ? 'yes' : 'no', r.verified === null ? '-' : r.verified ? 'yes' : 'NO', mib(r.sizeBytes), licenceText(manifests[i])]);
      });
      const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
      for (const row of table) ctx.stdout(`${row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]))).join('  ')}\n`);
      ctx.stdout(`(* = detection.model; installed under ${config.storage.dataDir}/models)\n`);
      if (head) ctx.stdout(`\n${headText(head)}`);
      else if (!headError) ctx.stdout('\nhead: none (detection.head; the class map scores every label)\n');
      else {
        ctx.stdout(`\nhead (detection.head = ${config.detection.head}): cannot be used, see below\n`);
        throw headError;
      }
    });

  models
    .command('install')
    .description(
      `install a model into storage.dataDir/models, verifying every sha256: from --from when given, else from ${MIRROR_ENV} folders, ` +
        `the copy bundled in a --with-model release, or a download (the manifest's URL, or ${URL_ENV}/<name>/<file>)`,
    )
    .argument('[name]', 'model name (default: detection.model from the configuration)')
    .option('--from <folder|archive>', 'install only from here (a USB stick): a folder holding <name>/<file> or the files themselves, or a .tar/.tar.gz/.tgz of either (an Earshot release tarball works too)')
    .action(async (nameArg: string | undefined, opts: { from?: string }, cmd: Command) => {
      const { config } = setup(cmd);
      const { manifest } = getManifest(nameArg ?? config.detection.model);
      const installer = new ModelInstaller({
        onProgress: progressPrinter(ctx),
        download: { onRetry: (r) => ctx.stderr(`\n  ${r.url}: ${r.reason}; retrying (attempt ${r.attempt} of ${r.attempts}${r.received > 0 ? `, resuming at byte ${r.received}` : ''})\n`) },
      });
      const mirrors = parseMirrorList(ctx.env[MIRROR_ENV], ctx.cwd);
      const r = await installer.install(manifest, {
        dataDir: config.storage.dataDir,
        mirrors,
        ...(opts.from !== undefined ? { from: path.resolve(ctx.cwd, opts.from) } : {}),
        bundled: shippedModelsDir(),
        ...(ctx.env[URL_ENV] ? { urlBase: ctx.env[URL_ENV] } : {}),
      });
      for (const f of r.files) {
        ctx.stdout(`  ${f.name}: ${f.action === 'present' ? 'already present, sha256 ok' : `${f.action} from ${f.source}, sha256 ok`}\n`);
      }
      ctx.stdout(r.changed ? `installed ${r.name} ${r.version} in ${r.dir}\n` : `${r.name} ${r.version} is already installed and verified in ${r.dir}\n`);
    });

  models
    .command('verify')
    .description('re-hash the installed files of a model (exit 0 ok, 65 damaged, 66/69 missing)')
    .argument('[name]', 'model name (default: detection.model from the configuration)')
    .action(async (nameArg: string | undefined, _opts: unknown, cmd: Command) => {
      const { config, hint } = setup(cmd);
      const { manifest } = getManifest(nameArg ?? config.detection.model);
      const r = await new ModelInstaller().verify(manifest, config.storage.dataDir);
      const failure = verifyFailure(r, hint(manifest.name));
      if (failure) throw failure;
      for (const f of r.files) ctx.stdout(`  ${f.name}: ok (${f.actualSha256})\n`);
      ctx.stdout(`${r.name} ${r.version}: all ${r.files.length} files match the manifest (${r.dir})\n`);
    });
};
