import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file is test/helpers/paths.ts). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** `../shared` beside the checkout (read-only): models, golden fixtures, the dev corpus. */
export const sharedDir = process.env.EARSHOT_SHARED ?? path.resolve(repoRoot, '..', 'shared');
export const frontendFixturesDir = path.join(sharedDir, 'fixtures', 'frontend');
export const devCorpusDir = path.join(sharedDir, 'data', 'dev');
export const sharedModelsDir = path.join(sharedDir, 'models');

/** The compiled CLI, for tests that spawn `earshot` as a user would. */
export const cliPath = path.join(repoRoot, 'build', 'agent', 'cli.js');
