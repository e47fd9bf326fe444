/**
 * Builds the shipped default head from the development corpus, reproducibly:
 * `npm run build:default-head -- [../shared/data/dev]`. Trains with fixed options and a fixed date
 * (SOURCE_DATE_EPOCH), keeps a float16 sample of its training rows (so `earshot train --base
 * default` can adapt it to a site without the training audio), and writes
 * models/heads/default.json with its sha256 in models/heads/heads.json, which the loader checks.
 */
import fs from 'node:fs';
import path from 'node:path';
import { runCli } from '../agent/cli/program.js';
import { processContext } from '../agent/cli/context.js';
import { fileSha256, shippedHeadsDir } from '../agent/detect/open-head.js';
import { readHead } from '../models/head.js';

/** Rows kept in the head: about 2 MB of JSON with base64 float16. */
const KEEP_ROWS = 1700;
/** 2026-12-01T00:00:00Z: the head's date, fixed so the file (and its sha256) rebuild the same. */
const SOURCE_DATE_EPOCH = '1796083200';

const corpus = process.argv[2] ?? path.join('..', 'shared', 'data', 'dev');
const dir = shippedHeadsDir();
const out = path.join(dir, 'default.json');
fs.mkdirSync(dir, { recursive: true });
const ctx = processContext();
ctx.env = { ...ctx.env, SOURCE_DATE_EPOCH };
const code = await runCli(['train', corpus, '--out', out, '--name', 'default', '--keep-rows', String(KEEP_ROWS), '--seed', '1', '--cache', path.join('.earshot', 'cache', 'default-head')], ctx);
if (code !== 0) process.exit(code);
const head = readHead(out);
const manifest = { default: { file: 'default.json', sha256: fileSha256(out), baseModel: head.baseModel.name } };
fs.writeFileSync(path.join(dir, 'heads.json'), `${JSON.stringify(manifest, null, 2)}\n`);
console.error(`models/heads/heads.json: default ${manifest.default.sha256}`);
