/**
 * Installs a model into `<dataDir>/models/<name>/` and re-checks installed files. Sources, in order:
 *  - `--from <folder|archive>` (a USB stick) when given, and then nothing else: a technician who
 *    names a stick does not want a silent download;
 *  - mirror folders (EARSHOT_MODEL_MIRROR, each holding `<name>/<file>`);
 *  - the copy bundled in the installed package (`<package>/models/<name>/<file>`, present only
 *    in a release built with `--with-model`);
 *  - the download URL: `<EARSHOT_MODEL_URL>/<name>/<file>` when that is set (a local web server
 *    over a mirror folder; the tests), else the manifest's `url` (the project's release assets).
 *
 * Safety rules, because a device in a forest may lose power at any moment:
 *  - every byte is hashed while it is copied into a temp file beside the target; the temp file
 *    is fsynced and renamed over the target only when size and sha256 match, so a partial or
 *    wrong file is never left under the real name;
 *  - `installed.json` is removed before anything changes and written (atomically) last, so the
 *    model counts as installed only when all its files were verified;
 *  - a file already in place with the right hash is not copied again (re-running is cheap and
 *    resumes an interrupted install).
 */
import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Logger } from '../agent/log.js';
import { DataError, EarshotError, InputMissingError, UnavailableError, errnoCode } from '../agent/errors.js';
import { writeFileAtomic } from '../agent/fs/atomic-write.js';
import { DownloadError, openDownload, type DownloadOptions } from './download.js';
import { extractTar, hashStream, isTarArchive, nodeInstallFs, type InstallFs, type WriteHandle } from './install-fs.js';
import { parseManifest, type ManifestFile, type ModelManifest } from './manifest.js';

const COMPONENT = 'models.installer';
export const MARKER_FILE = 'installed.json';
export const MIRROR_ENV = 'EARSHOT_MODEL_MIRROR';
/** Base URL replacing the manifest's: files are fetched from `<base>/<name>/<file>` (the mirror layout). */
export const URL_ENV = 'EARSHOT_MODEL_URL';

export function modelDir(dataDir: string, name: string): string {
  return path.join(dataDir, 'models', name);
}

/** EARSHOT_MODEL_MIRROR: colon-separated folders, relative ones taken from `cwd`. */
export function parseMirrorList(value: string | undefined, cwd: string): string[] {
  return (value ?? '')
    .split(':')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => path.resolve(cwd, s));
}

/**
 * The command a technician runs to install a model (quoted in every "not installed" error): with
 * the mirror in use when one is set; otherwise the download, and the USB-stick form for a device
 * without internet.
 */
export function installCommand(name: string, opts: { mirror?: string; configFile?: string } = {}): string {
  const config = opts.configFile ? ` --config ${opts.configFile}` : '';
  if (opts.mirror) return `${MIRROR_ENV}=${opts.mirror} earshot${config} models install ${name}`;
  return `earshot${config} models install ${name} (downloads it; offline: add --from /media/usb/models)`;
}

/** The URL of one file: `<base>/<name>/<file>` when a base is given, else the manifest's own. */
export function downloadUrl(name: string, f: ManifestFile, base?: string): string | undefined {
  if (base) return `${base.replace(/\/+$/, '')}/${encodeURIComponent(name)}/${encodeURIComponent(f.name)}`;
  return f.url;
}

export interface InstallProgress {
  file: string;
  bytes: number;
  total: number;
  source: string;
}

export interface InstallerDeps {
  fs?: InstallFs;
  fetch?: typeof fetch;
  /** Retries, idle time-out and back-off of downloads (tests shorten the waits). */
  download?: Omit<DownloadOptions, 'fetch'>;
  /** Unpacks a tar archive given to `--from` (default: the system `tar`). */
  extract?: (archive: string, into: string) => Promise<void>;
  logger?: Logger;
  onProgress?: (p: InstallProgress) => void;
  now?: () => Date;
}

export interface InstallOptions {
  dataDir: string;
  mirrors: readonly string[];
  /** A folder or tar archive (USB stick): the only source when set. */
  from?: string;
  /** A folder laid out like a mirror that ships with the package (a `--with-model` release). */
  bundled?: string;
  /** Replaces the manifest's URLs: `<urlBase>/<name>/<file>` (EARSHOT_MODEL_URL). */
  urlBase?: string;
}

export interface InstalledFileResult {
  name: string;
  action: 'present' | 'copied' | 'downloaded';
  /** File or URL it came from (absent when already present). */
  source?: string;
}

export interface InstallResult {
  name: string;
  version: string;
  dir: string;
  files: InstalledFileResult[];
  /** False when everything was already installed and verified. */
  changed: boolean;
}

/** What `installed.json` holds: the manifest the files were verified against, so an installed model describes itself. */
export interface InstallMarker {
  name: string;
  version: string;
  installedAt: string;
  manifest: ModelManifest;
  files: { name: string; sha256: string; size: number; source: string }[];
}

export type FileStatus = 'ok' | 'missing' | 'size-mismatch' | 'hash-mismatch';

export interface FileCheck {
  name: string;
  path: string;
  status: FileStatus;
  expectedSize: number;
  actualSize?: number;
  expectedSha256: string;
  actualSha256?: string;
}

export interface VerifyReport {
  name: string;
  version: string;
  dir: string;
  /** `installed.json` is present and matches this manifest. */
  installed: boolean;
  /** Version named by an `installed.json` that does not match this manifest. */
  staleVersion?: string;
  files: FileCheck[];
  /** Installed and every file hashes as the manifest says. */
  ok: boolean;
}

type Source = { kind: 'mirror' | 'from' | 'bundled'; location: string; mirror: string } | { kind: 'url'; location: string };

/** A failure of one source (bad hash, unreadable, HTTP error): the next source may still work. */
class SourceFailure extends Error {
  constructor(
    message: string,
    readonly mismatch: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Same file names, sizes and hashes: the marker was written for this manifest. */
function markerMatches(marker: InstallMarker, m: ModelManifest): boolean {
  if (marker.name !== m.name || marker.files.length !== m.files.length) return false;
  return m.files.every((f) => marker.files.some((g) => g.name === f.name && g.sha256 === f.sha256 && g.size === f.size));
}

export class ModelInstaller {
  private readonly fs: InstallFs;
  private readonly fetch: typeof fetch;
  private readonly logger: Logger | undefined;
  private readonly onProgress: ((p: InstallProgress) => void) | undefined;
  private readonly now: () => Date;
  private readonly downloadOpts: Omit<DownloadOptions, 'fetch'>;
  private readonly extract: InstallerDeps['extract'];

  constructor(deps: InstallerDeps = {}) {
    this.fs = deps.fs ?? nodeInstallFs;
    this.fetch = deps.fetch ?? globalThis.fetch;
    this.downloadOpts = deps.download ?? {};
    this.extract = deps.extract;
    this.logger = deps.logger;
    this.onProgress = deps.onProgress;
    this.now = deps.now ?? (() => new Date());
  }

  async install(m: ModelManifest, opts: InstallOptions): Promise<InstallResult> {
    const dir = modelDir(opts.dataDir, m.name);
    await this.fs.mkdir(dir).catch((err: unknown) => {
      throw this.writeError(dir, err);
    });
    await this.removeStaleParts(dir);
    if (opts.from === undefined) return this.installFrom(m, dir, opts, undefined);

    // --from: a folder is read in place; an archive is unpacked beside the model (same disk,
    // known to be writable) and removed afterwards.
    const from = path.resolve(opts.from);
    const info = await this.fs.stat(from);
    if (!info) throw new InputMissingError(`${from}: not found (--from expects a folder or a .tar/.tar.gz/.tgz archive holding the ${m.name} files)`, { component: COMPONENT, code: 'install.from-missing' });
    if (info.isFile && !isTarArchive(from)) {
      throw new DataError(`${from}: not a folder or a .tar/.tar.gz/.tgz archive; --from expects one of those, holding the ${m.name} files`, { component: COMPONENT, code: 'install.from-type' });
    }
    if (!info.isFile) return this.installFrom(m, dir, opts, fromFolders(from, m.name));
    const unpacked = path.join(dir, `.from.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    try {
      await (this.extract ?? extractTar)(from, unpacked).catch((err: unknown) => {
        throw new DataError(`${from}: cannot unpack the archive (${(err as Error).message})`, { component: COMPONENT, code: 'install.from-archive', cause: err });
      });
      return await this.installFrom(m, dir, opts, fromFolders(unpacked, m.name), from);
    } finally {
      await this.fs.rmTree(unpacked).catch(() => undefined);
    }
  }

  /** `fromDirs` set: only those folders are searched (`--from`); `label` names them in messages. */
  private async installFrom(m: ModelManifest, dir: string, opts: InstallOptions, fromDirs: string[] | undefined, label?: string): Promise<InstallResult> {

    // Plan first: a model with a file nobody can provide is refused before anything changes.
    const plan: { file: ManifestFile; sources: Source[] }[] = [];
    const results: InstalledFileResult[] = [];
    for (const file of m.files) {
      if (await this.fileMatches(path.join(dir, file.name), file)) {
        results.push({ name: file.name, action: 'present' });
        continue;
      }
      plan.push({ file, sources: fromDirs ? await this.fromSources(file, fromDirs, label) : await this.sourcesFor(m.name, file, opts) });
    }
    const orphans = plan.filter((p) => p.sources.length === 0).map((p) => p.file.name);
    if (orphans.length > 0 && fromDirs) {
      throw new InputMissingError(`${m.name}: ${orphans.join(', ')} not found in ${label ?? opts.from} (looked in ${fromDirs.map((d) => (label ? path.relative(path.dirname(fromDirs[0]!), d) || '.' : d)).join(', ')}); nothing installed`, {
        component: COMPONENT,
        code: 'install.from-incomplete',
      });
    }
    if (orphans.length > 0) throw this.noSourceError(m.name, orphans, opts.mirrors);

    const marker = await this.readMarker(dir);
    if (plan.length === 0 && marker && markerMatches(marker, m)) {
      return { name: m.name, version: m.version, dir, files: results, changed: false };
    }

    // From here the folder is in flux: it must not look installed until the marker is rewritten.
    await this.fs.rm(path.join(dir, MARKER_FILE));
    this.fs.fsyncDir(dir);

    for (const { file, sources } of plan) {
      results.push(await this.fetchFirstGood(m.name, dir, file, sources));
    }

    const order = new Map(m.files.map((f, i) => [f.name, i]));
    results.sort((a, b) => order.get(a.name)! - order.get(b.name)!);
    const newMarker: InstallMarker = {
      name: m.name,
      version: m.version,
      installedAt: this.now().toISOString(),
      manifest: m,
      files: m.files.map((f) => ({ name: f.name, sha256: f.sha256, size: f.size, source: results.find((r) => r.name === f.name)?.source ?? 'already present' })),
    };
    writeFileAtomic(path.join(dir, MARKER_FILE), `${JSON.stringify(newMarker, null, 2)}\n`, { mode: 0o644 });
    this.logger?.info({ model: m.name, version: m.version, dir }, 'model installed');
    return { name: m.name, version: m.version, dir, files: results, changed: true };
  }

  /** Re-hashes every file of an installed model against the manifest. */
  async verify(m: ModelManifest, dataDir: string): Promise<VerifyReport> {
    const dir = modelDir(dataDir, m.name);
    const marker = await this.readMarker(dir);
    const installed = marker !== undefined && markerMatches(marker, m);
    const files: FileCheck[] = [];
    for (const f of m.files) {
      const file = path.join(dir, f.name);
      const base = { name: f.name, path: file, expectedSize: f.size, expectedSha256: f.sha256 };
      const info = await this.fs.stat(file);
      if (!info?.isFile) {
        files.push({ ...base, status: 'missing' });
        continue;
      }
      const { sha256, size } = await hashStream(this.fs.read(file));
      const status: FileStatus = size !== f.size ? 'size-mismatch' : sha256 !== f.sha256 ? 'hash-mismatch' : 'ok';
      files.push({ ...base, status, actualSize: size, actualSha256: sha256 });
    }
    return {
      name: m.name,
      version: m.version,
      dir,
      installed,
      ...(marker && !installed ? { staleVersion: marker.version } : {}),
      files,
      ok: installed && files.every((f) => f.status === 'ok'),
    };
  }

  async readMarker(dir: string): Promise<InstallMarker | undefined> {
    const file = path.join(dir, MARKER_FILE);
    if (!(await this.fs.stat(file))?.isFile) return undefined;
    try {
      const chunks: Uint8Array[] = [];
      for await (const c of this.fs.read(file)) chunks.push(c);
      const raw = JSON.parse(Buffer.concat(chunks).toString('utf8')) as InstallMarker;
      return { ...raw, manifest: parseManifest(raw.manifest, file) };
    } catch (err) {
      // A damaged marker means "not installed": install rewrites it.
      this.logger?.warn({ file, err }, 'ignoring an unreadable install marker');
      return undefined;
    }
  }

  private async fileMatches(file: string, f: ManifestFile): Promise<boolean> {
    const info = await this.fs.stat(file);
    if (!info?.isFile || info.size !== f.size) return false;
    return (await hashStream(this.fs.read(file))).sha256 === f.sha256;
  }

  private async sourcesFor(name: string, f: ManifestFile, opts: InstallOptions): Promise<Source[]> {
    const out: Source[] = [];
    for (const mirror of opts.mirrors) {
      const location = path.join(mirror, name, f.name);
      if ((await this.fs.stat(location))?.isFile) out.push({ kind: 'mirror', location, mirror });
    }
    if (opts.bundled) {
      const location = path.join(opts.bundled, name, f.name);
      if ((await this.fs.stat(location))?.isFile) out.push({ kind: 'bundled', location, mirror: opts.bundled });
    }
    const url = downloadUrl(name, f, opts.urlBase);
    if (url) out.push({ kind: 'url', location: url });
    return out;
  }

  /** The first `--from` folder that holds the file (a stick may carry it in more than one layout). */
  private async fromSources(f: ManifestFile, dirs: string[], label: string | undefined): Promise<Source[]> {
    for (const d of dirs) {
      const location = path.join(d, f.name);
      if ((await this.fs.stat(location))?.isFile) return [{ kind: 'from', location, mirror: label ?? d }];
    }
    return [];
  }

  private noSourceError(name: string, files: string[], mirrors: readonly string[]): UnavailableError {
    const where =
      mirrors.length === 0
        ? `${MIRROR_ENV} is not set`
        : `not found in the ${MIRROR_ENV} folders (${mirrors.map((d) => path.join(d, name)).join(', ')})`;
    return new UnavailableError(
      `${name}: no source for ${files.join(', ')}: ${where} and the manifest gives no URL. ` +
        `Set ${MIRROR_ENV} to a colon-separated list of folders that hold ${name}/<file>, e.g. ${installCommand(name, { mirror: '/media/usb/models' })}`,
      { component: COMPONENT, code: 'install.no-source' },
    );
  }

  /** Tries each source in order; a bad mirror is reported and the next one tried. */
  private async fetchFirstGood(name: string, dir: string, f: ManifestFile, sources: Source[]): Promise<InstalledFileResult> {
    const failures: SourceFailure[] = [];
    for (const source of sources) {
      try {
        await this.copyVerified(dir, f, source);
        return { name: f.name, action: source.kind === 'url' ? 'downloaded' : 'copied', source: source.location };
      } catch (err) {
        if (!(err instanceof SourceFailure)) throw err;
        this.logger?.warn({ model: name, file: f.name, source: source.location }, err.message);
        failures.push(err);
      }
    }
    const detail = failures.map((e) => `  ${e.message}`).join('\n');
    if (failures.length === 1 && !failures[0]!.mismatch && sources.length === 1 && sources[0]!.kind === 'url') {
      // One download that failed: say so plainly, with the URL and how to install without it.
      throw new UnavailableError(`${name}: ${failures[0]!.message}; nothing installed. Without internet: earshot models install ${name} --from <folder or archive>`, {
        component: COMPONENT,
        code: 'install.download',
        cause: failures[0],
      });
    }
    const opts = { component: COMPONENT, code: 'install.verify', cause: failures[0] };
    const msg = `${name}: ${f.name} not installed: no source provided the expected file\n${detail}`;
    throw failures.some((e) => e.mismatch) ? new DataError(msg, opts) : new UnavailableError(msg, opts);
  }

  private async openSource(source: Source, f: ManifestFile): Promise<AsyncIterable<Uint8Array>> {
    if (source.kind !== 'url') return this.fs.read(source.location);
    try {
      return await openDownload(source.location, { ...this.downloadOpts, fetch: this.fetch });
    } catch (err) {
      const why = err instanceof DownloadError ? err.message : (err as Error).message;
      throw new SourceFailure(`${f.name}: download of ${source.location} failed: ${why}`, false, { cause: err });
    }
  }

  /**
   * Streams one source into `.<file>.<pid>.<random>.part`, hashing as it goes; renames it into
   * place only when size and sha256 match. Source-side problems throw SourceFailure; write-side
   * problems (disk full, I/O error) propagate as they are, since another source would not help.
   */
  private async copyVerified(dir: string, f: ManifestFile, source: Source): Promise<void> {
    const where = source.kind === 'url' ? source.location : `${source.kind === 'from' ? '' : `${source.kind} `}${source.mirror} (${source.location})`;
    const target = path.join(dir, f.name);
    const tmp = path.join(dir, `.${f.name}.${process.pid}.${randomBytes(4).toString('hex')}.part`);
    const stream = await this.openSource(source, f);
    const iterator = stream[Symbol.asyncIterator]();
    let handle: WriteHandle;
    try {
      handle = await this.fs.create(tmp);
    } catch (err) {
      await iterator.return?.().catch(() => undefined);
      throw this.writeError(target, err);
    }
    const hash = createHash('sha256');
    let bytes = 0;
    let done = false;
    try {
      while (true) {
        let step: IteratorResult<Uint8Array>;
        try {
          step = await iterator.next();
        } catch (err) {
          if (err instanceof DownloadError) throw new SourceFailure(`${f.name}: download of ${where} failed: ${err.message}`, false, { cause: err });
          throw new SourceFailure(`${f.name} from ${where}: read failed after ${bytes} bytes (${(err as Error).message})`, false, { cause: err });
        }
        if (step.done) break;
        const chunk = step.value;
        bytes += chunk.length;
        // Stop early on an oversized source rather than filling the disk with it.
        if (bytes > f.size) throw new SourceFailure(`${f.name} from ${where}: larger than the expected ${f.size} bytes; refused`, true);
        hash.update(chunk);
        await handle.write(chunk);
        this.onProgress?.({ file: f.name, bytes, total: f.size, source: source.location });
      }
      done = true;
      const actual = hash.digest('hex');
      if (bytes !== f.size || actual !== f.sha256) {
        throw new SourceFailure(
          `${f.name} from ${where}: sha256 mismatch: expected ${f.sha256} (${f.size} bytes), got ${actual} (${bytes} bytes); refused, nothing installed`,
          true,
        );
      }
      await handle.sync();
    } catch (err) {
      if (!done) await iterator.return?.().catch(() => undefined);
      await handle.close().catch(() => undefined);
      await this.fs.rm(tmp).catch(() => undefined);
      throw err instanceof SourceFailure || err instanceof EarshotError ? err : this.writeError(target, err);
    }
    await handle.close();
    await this.fs.rename(tmp, target).catch(async (err: unknown) => {
      await this.fs.rm(tmp).catch(() => undefined);
      throw this.writeError(target, err);
    });
    this.fs.fsyncDir(dir);
  }

  private writeError(target: string, err: unknown): Error {
    const code = errnoCode(err);
    const why =
      code === 'ENOSPC' ? 'the disk is full' : code === 'EACCES' || code === 'EPERM' ? 'permission denied (run as the earshot user or with sudo)' : (err as Error).message;
    return new UnavailableError(`${target}: cannot write: ${why}`, { component: COMPONENT, code: 'install.write', cause: err });
  }

  /** Removes what installs that died (their pid is gone) left behind. */
  private async removeStaleParts(dir: string): Promise<void> {
    for (const entry of await this.fs.readdir(dir)) {
      // `.part` files and `.tmp` folders (an unpacked --from archive) of a dead process.
      const m = /^\..+\.(\d+)\.[0-9a-f]+\.(part|tmp)$/.exec(entry);
      if (!m) continue;
      const pid = Number(m[1]);
      if (pid === process.pid || isAlive(pid)) continue;
      await this.fs.rmTree(path.join(dir, entry));
    }
  }
}

/** Where `--from <dir>` may hold the files: `<dir>/<name>/` (the mirror layout), `<dir>/` itself, or `<dir>/package/models/<name>/` (an Earshot release tarball). */
function fromFolders(dir: string, name: string): string[] {
  return [path.join(dir, name), dir, path.join(dir, 'package', 'models', name)];
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errnoCode(err) === 'EPERM';
  }
}
