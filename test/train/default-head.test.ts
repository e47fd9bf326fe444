/**
 * The shipped default head (agent/detect/open-head.ts, models/head.ts): "default" resolves
 * through models/heads/heads.json to a file and the sha256 it must have, and a head file that
 * differs from it by one byte is refused as damaged (exit 65) naming the sha256. When Earshot
 * ships no default head yet, the same is checked on a heads folder made here.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataError, ExitCode } from '../../agent/errors.js';
import { resolveHead, shippedHeads, shippedHeadsDir } from '../../agent/detect/open-head.js';
import { headJson, parseHead, readHead } from '../../models/head.js';
import { thrownBy } from '../helpers/errors.js';
import { testHead } from '../helpers/head.js';

const sha256 = (bytes: Buffer | string) => crypto.createHash('sha256').update(bytes).digest('hex');

let tmp: string;
/** A copy of the shipped heads folder, or one made here when none ships. */
let headsDir: string;
let shipped: boolean;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'earshot-default-head-'));
  headsDir = path.join(tmp, 'heads');
  shipped = fs.existsSync(path.join(shippedHeadsDir(), 'heads.json'));
  if (shipped) {
    fs.cpSync(shippedHeadsDir(), headsDir, { recursive: true });
  } else {
    fs.mkdirSync(headsDir, { recursive: true });
    const text = headJson(testHead({ name: 'default' }));
    fs.writeFileSync(path.join(headsDir, 'default.json'), text);
    fs.writeFileSync(path.join(headsDir, 'heads.json'), JSON.stringify({ default: { file: 'default.json', sha256: sha256(text), baseModel: 'efficientat-mn04' } }, null, 2));
  }
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('the default head', () => {
  it('the shipped manifest, when there is one, names a head file that reads with its sha256', () => {
    if (!shipped) {
      expect(shippedHeads()).toEqual({}); // nothing ships yet; the folder made here stands in for it below
      return;
    }
    const resolved = resolveHead('default')!;
    expect(resolved.shipped).toBe(true);
    expect(resolved.sha256).toBe(sha256(fs.readFileSync(resolved.file)));
    const head = readHead(resolved.file, { sha256: resolved.sha256 });
    expect(head.trainingSet, 'the default head ships its training rows for --base').toBeDefined();
  });

  it('resolveHead("default") reads the manifest: the file and its sha256; readHead accepts it', () => {
    const resolved = resolveHead('default', headsDir)!;
    const manifest = JSON.parse(fs.readFileSync(path.join(headsDir, 'heads.json'), 'utf8')) as Record<string, { file: string; sha256: string }>;
    expect(resolved).toEqual({ file: path.join(headsDir, manifest.default!.file), sha256: manifest.default!.sha256, shipped: true });
    expect(sha256(fs.readFileSync(resolved.file))).toBe(resolved.sha256);
    expect(readHead(resolved.file, { sha256: resolved.sha256 }).format).toBe('earshot-head');
    // "none" is no head; an unknown name is refused, listing the names it accepts.
    expect(resolveHead('none', headsDir)).toBeUndefined();
    const unknown = thrownBy(() => resolveHead('nonesuch', headsDir));
    expect(unknown).toBeInstanceOf(DataError);
    expect((unknown as DataError).message).toMatch(/no such shipped head; accepted: none, default/);
  });

  it('one byte changed in the head file: a DataError (exit 65) naming the sha256, though the JSON still parses', () => {
    const resolved = resolveHead('default', headsDir)!;
    const bytes = fs.readFileSync(resolved.file);
    // Change one digit of createdAt ("2026-…" → "2027-…" or similar): still a valid head.
    const m = /"createdAt"\s*:\s*"\d{3}/.exec(bytes.toString('latin1'));
    expect(m, 'a createdAt in the head file').not.toBeNull();
    const at = m!.index + m![0].length - 1;
    const changed = Buffer.from(bytes);
    changed[at] = changed[at] === 0x37 ? 0x38 : 0x37;
    expect(changed.equals(bytes)).toBe(false);
    fs.writeFileSync(resolved.file, changed);
    expect(() => parseHead(changed.toString('utf8'), resolved.file)).not.toThrow();

    const err = thrownBy(() => readHead(resolved.file, { sha256: resolved.sha256 }));
    expect(err).toBeInstanceOf(DataError);
    expect((err as DataError).exitCode).toBe(ExitCode.dataErr);
    expect((err as DataError).exitCode).toBe(65);
    expect((err as DataError).message).toContain(`${resolved.file}: not a usable Earshot head`);
    expect((err as DataError).message).toContain(`sha256 is ${sha256(changed)}, expected ${resolved.sha256}`);
    // Read as a plain file (no expected sha256) the same bytes are a valid head.
    expect(readHead(resolved.file).name).toBeTruthy();
  });
});
