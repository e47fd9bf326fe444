import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let cachedRoot: string | undefined;
let cachedVersion: string | undefined;

/** The folder holding earshot's package.json (found upwards from this module: source or build/). */
export function packageRoot(): string {
  if (cachedRoot) return cachedRoot;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg)) {
      const { name, version } = JSON.parse(fs.readFileSync(pkg, 'utf8')) as { name?: string; version?: string };
      if (name === 'earshot') {
        cachedVersion = version;
        return (cachedRoot = dir);
      }
    }
    dir = path.dirname(dir);
  }
  throw new Error(`cannot find the earshot package root above ${fileURLToPath(import.meta.url)}`);
}

/** The package version from package.json. */
export function packageVersion(): string {
  packageRoot();
  return cachedVersion ?? '0.0.0';
}
