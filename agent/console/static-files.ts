/**
 * The page's files (agent/console/web/), served as they are. The folder is found relative to the
 * installed package, so it works from the source tree (vitest), from build/ and from the release
 * tarball: `<package>/agent/console/web`, else `<package>/build/agent/console/web`.
 * Only plain file names in that folder are served (no sub-paths, no dot files).
 */
import fs from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../version.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
  '.txt': 'text/plain; charset=utf-8',
};

/** The folder of the page's files; undefined when the installation has none. */
export function webFolder(): string | undefined {
  const root = packageRoot();
  return [path.join(root, 'agent', 'console', 'web'), path.join(root, 'build', 'agent', 'console', 'web')].find((d) => fs.existsSync(path.join(d, 'index.html')));
}

export interface StaticFile {
  body: Buffer;
  type: string;
}

/** A file of the page by its plain name, or undefined (unknown, a path, a dot file, a type not served). */
export function readStaticFile(dir: string | undefined, name: string): StaticFile | undefined {
  if (!dir || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) return undefined;
  const type = TYPES[path.extname(name).toLowerCase()];
  if (!type) return undefined;
  try {
    return { body: fs.readFileSync(path.join(dir, name)), type };
  } catch {
    return undefined;
  }
}
