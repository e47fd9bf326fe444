import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runEarshot } from '../helpers/cli.js';
import { sharedModelsDir } from '../helpers/paths.js';

// One install shared by the steps below (each step depends on the previous one's state).
let tmp: string;
let env: NodeJS.ProcessEnv;
const modelDir = () => path.join(tmp, 'models', 'efficientat-mn04');

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'earshot-models-cli-'));
  env = { EARSHOT_STORAGE_DATA_DIR: tmp, EARSHOT_MODEL_MIRROR: '' };
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('earshot models (built CLI)', () => {
  it('list --json before install: known, not installed, verified null', () => {
    const r = runEarshot(['models', 'list', '--json'], { env });
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as { name: string; installed: boolean; verified: boolean | null; sizeBytes: number; licence: { model: string } }[];
    expect(rows.find((x) => x.name === 'efficientat-mn04')).toMatchObject({ installed: false, verified: null, sizeBytes: 4461405, licence: { model: 'MIT' } });
  });

  it('verify before install: exit 69, says the exact install command', () => {
    const r = runEarshot(['models', 'verify', 'efficientat-mn04'], { env });
    expect(r.code).toBe(69);
    expect(r.stderr).toContain('earshot models install efficientat-mn04 (downloads it; offline: add --from /media/usb/models)');
  });

  it('install with no mirror and the download unreachable: exit 69 naming the URL', () => {
    // Port 1 on loopback: nothing listens (test/models/installer.test.ts covers real downloads).
    const r = runEarshot(['models', 'install'], { env: { ...env, EARSHOT_MODEL_URL: 'http://127.0.0.1:1' } });
    expect(r.code).toBe(69);
    expect(r.stderr).toMatch(/download of http:\/\/127\.0\.0\.1:1\/efficientat-mn04\/mn04_as\.onnx failed: .*gave up after 4 attempts/);
    expect(fs.existsSync(path.join(modelDir(), 'installed.json'))).toBe(false);
  });

  it('install (default: detection.model) from the mirror, then again without copying', () => {
    const mirrorEnv = { ...env, EARSHOT_MODEL_MIRROR: `${path.join(tmp, 'nothing-here')}:${sharedModelsDir}` };
    const r = runEarshot(['models', 'install'], { env: mirrorEnv });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/mn04_as\.onnx\.data: copied from .*shared\/models\/efficientat-mn04\/mn04_as\.onnx\.data, sha256 ok/);
    expect(fs.readdirSync(modelDir()).sort()).toEqual(['class_labels_indices.csv', 'installed.json', 'mn04_as.onnx', 'mn04_as.onnx.data']);
    const again = runEarshot(['models', 'install', 'efficientat-mn04'], { env: mirrorEnv });
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/already installed and verified/);
  });

  it('verify: 0 when intact, 65 when a byte changed, 66 when a file is gone', () => {
    expect(runEarshot(['models', 'verify'], { env }).code).toBe(0);
    const list = JSON.parse(runEarshot(['models', 'list', '--json'], { env }).stdout) as { installed: boolean; verified: boolean }[];
    expect(list[0]).toMatchObject({ installed: true, verified: true });

    const weights = path.join(modelDir(), 'mn04_as.onnx.data');
    const buf = fs.readFileSync(weights);
    buf[1000] ^= 0xff;
    fs.writeFileSync(weights, buf);
    const bad = runEarshot(['models', 'verify'], { env });
    expect(bad.code).toBe(65);
    expect(bad.stderr).toMatch(/mn04_as\.onnx\.data: expected sha256 b0089be3.* found [0-9a-f]{64}/);

    fs.rmSync(path.join(modelDir(), 'mn04_as.onnx'));
    const gone = runEarshot(['models', 'verify'], { env });
    expect(gone.code).toBe(66);
    expect(gone.stderr).toMatch(/missing .*mn04_as\.onnx;.*earshot models install efficientat-mn04/);
  });

  it('an unknown model name is a usage error (2)', () => {
    const r = runEarshot(['models', 'install', 'mn99'], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/known models: efficientat-mn04/);
  });
});
