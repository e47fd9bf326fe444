/**
 * `npm run release [-- --with-model] [--out DIR]`: one tarball in `npm pack` shape that a Pi
 * installs with `npm install -g <tarball>`.
 *
 * What goes in: the compiled runtime (build/agent, build/config, build/dsp, build/models), the
 * model manifests, class map and shipped heads (models/), the default config, the `earshot`
 * launcher, README and CHANGELOG. Not the benchmarks, sources, tests or dev dependencies.
 *
 * The model weights are left out by default: `earshot models install` fetches them by sha256
 * (from the release assets, or `--from` a USB stick), so one tarball serves every model version.
 * `--with-model` copies them in (from EARSHOT_MODEL_MIRROR, default ../shared/models), verified
 * by the installer itself, for a device that has no internet after the npm install:
 * `earshot models install` then copies the bundled files, offline.
 *
 * Dependency versions are pinned by npm-shrinkwrap.json (the checkout's lock file). They are NOT bundled: better-sqlite3 and onnxruntime-node are native and must
 * match the Pi's CPU and Node ABI, so `npm install -g` takes them from the npm registry (a
 * prebuilt binary or a local build for better-sqlite3; onnxruntime-node ships its arm64 and x64
 * libraries inside its npm package).
 *
 * The package is assembled in a staging folder (build/release/stage) so the checkout is never
 * modified, then packed there with `npm pack`. Prints the tarball's path on stdout.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { parseMirrorList, ModelInstaller } from '../models/installer.js';
import { listManifests, packageRoot } from '../models/registry.js';

/** Runtime folders of the build; build/scripts (benchmarks, this script) stays out. */
const BUILD_DIRS = ['agent', 'config', 'dsp', 'models'];
/** Files under models/ and config/ that the runtime or the technician reads (no TypeScript). */
const DATA_FILE = /\.(json|yaml)$/;

interface ReleaseOptions {
  withModel?: boolean;
  out: string;
  mirror: string;
}

function copyTree(from: string, to: string, keep: (file: string) => boolean): void {
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    const src = path.join(from, entry.name);
    const dst = path.join(to, entry.name);
    if (entry.isDirectory()) copyTree(src, dst, keep);
    else if (entry.isFile() && keep(src)) {
      fs.mkdirSync(to, { recursive: true });
      fs.copyFileSync(src, dst);
    }
  }
}

/**
 * package.json as installed on a device: no scripts (nothing to run at install), and the staged
 * folders as `files`. devDependencies stay listed so that npm-shrinkwrap.json (the lock file)
 * still matches it; npm never installs a package's dev dependencies for `install -g`.
 */
function releasePackageJson(root: string): Record<string, unknown> {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as Record<string, unknown>;
  const { scripts: _scripts, ...rest } = pkg;
  return { ...rest, files: ['build', 'models', 'config', 'scripts/earshot', 'CHANGELOG.md', 'npm-shrinkwrap.json'] };
}

export async function buildRelease(opts: ReleaseOptions): Promise<string> {
  const root = packageRoot();
  if (!fs.existsSync(path.join(root, 'build', 'agent', 'cli.js'))) throw new Error('build/agent/cli.js is missing: run `npm run build` first (npm run release does)');
  const stage = path.join(opts.out, 'stage');
  fs.rmSync(stage, { recursive: true, force: true });
  fs.mkdirSync(stage, { recursive: true });

  fs.writeFileSync(path.join(stage, 'package.json'), `${JSON.stringify(releasePackageJson(root), null, 2)}\n`);
  // The lock file as npm-shrinkwrap.json (which npm honours for a package installed from a
  // tarball, unlike package-lock.json): a Pi gets exactly the dependency versions tested here.
  fs.copyFileSync(path.join(root, 'package-lock.json'), path.join(stage, 'npm-shrinkwrap.json'));
  for (const f of ['README.md', 'CHANGELOG.md', 'LICENSE']) if (fs.existsSync(path.join(root, f))) fs.copyFileSync(path.join(root, f), path.join(stage, f));
  // .js only: the maps point at TypeScript sources that are not shipped.
  for (const d of BUILD_DIRS) copyTree(path.join(root, 'build', d), path.join(stage, 'build', d), (f) => f.endsWith('.js'));
  copyTree(path.join(root, 'agent', 'console', 'web'), path.join(stage, 'build', 'agent', 'console', 'web'), () => true); // the console's page (agent/console/static-files.ts looks there)
  copyTree(path.join(root, 'models'), path.join(stage, 'models'), (f) => DATA_FILE.test(f));
  fs.mkdirSync(path.join(stage, 'config'));
  fs.copyFileSync(path.join(root, 'config', 'default.yaml'), path.join(stage, 'config', 'default.yaml'));
  fs.mkdirSync(path.join(stage, 'scripts'));
  fs.copyFileSync(path.join(root, 'scripts', 'earshot'), path.join(stage, 'scripts', 'earshot'));
  fs.chmodSync(path.join(stage, 'scripts', 'earshot'), 0o755);

  if (opts.withModel) {
    // The installer lays the files out as `<stage>/models/<name>/<file>` (+ installed.json) after
    // checking every sha256: the same layout `earshot models install` reads as the bundled copy.
    const mirrors = parseMirrorList(opts.mirror, process.cwd());
    for (const { manifest } of listManifests(path.join(stage, 'models'))) {
      await new ModelInstaller().install(manifest, { dataDir: stage, mirrors });
      fs.rmSync(path.join(stage, 'models', manifest.name, 'installed.json'));
    }
  }

  // Packed inside the stage, then moved: both variants are packed under the same npm name, and
  // one must not overwrite the other.
  const out = execFileSync('npm', ['pack', '--json'], { cwd: stage, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const [{ filename }] = JSON.parse(out) as { filename: string }[];
  const tarball = path.resolve(opts.out, opts.withModel ? filename.replace(/\.tgz$/, '-with-model.tgz') : filename);
  fs.renameSync(path.join(stage, filename), tarball);
  fs.rmSync(stage, { recursive: true, force: true });
  return tarball;
}

// Run as a script (not when a test imports buildRelease).
if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  const program = new Command('release')
    .description('build the release tarball (npm pack shape) for `npm install -g`')
    .option('--with-model', 'bundle the model weights (verified) for a device without internet')
    .option('--out <dir>', 'where to write the tarball', path.join(packageRoot(), 'build', 'release'))
    .option('--mirror <folders>', 'where --with-model takes the weights (EARSHOT_MODEL_MIRROR, default ../shared/models)', process.env.EARSHOT_MODEL_MIRROR || path.join(packageRoot(), '..', 'shared', 'models'))
    .action(async (o: ReleaseOptions) => {
      fs.mkdirSync(o.out, { recursive: true });
      const tarball = await buildRelease(o);
      process.stdout.write(`${tarball}\n`);
      process.stderr.write(`${(fs.statSync(tarball).size / (1 << 20)).toFixed(1)} MiB; install with: npm install -g ${tarball}\n`);
    });
  await program.parseAsync();
}
