/**
 * The console's security rules (issue 14 item 5): a non-loopback address without a password
 * refuses to start (exit 78, naming the fix; run as a user would); `set-password` stores an
 * scrypt hash; with it, the API answers 401 without a session and a login sets an HttpOnly
 * SameSite=Strict cookie; POSTs without the JSON type, the X-Earshot-Request header or with a
 * foreign Origin are 403; every response carries the CSP and nosniff headers.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startConsole, type RunningConsole } from '../../agent/console/console-app.js';
import { CONTENT_SECURITY_POLICY } from '../../agent/console/http-security.js';
import { silentLogger } from '../../agent/silent-logger.js';
import { runEarshot } from '../helpers/cli.js';
import { cliPath } from '../helpers/paths.js';
import { tempDir, testConfig, waitFor } from '../sync/helpers.js';
import { getJson, post } from './helpers.js';

const PASSWORD = 'correct horse battery staple';

describe('console security', () => {
  let dir: string;
  let configFile: string;
  let consoleDir: string;
  let hq: RunningConsole;

  beforeAll(async () => {
    expect(fs.existsSync(cliPath), `${cliPath} missing: run \`npm run build\` first`).toBe(true);
    dir = tempDir('earshot-console-sec-');
    consoleDir = path.join(dir, 'console');
    configFile = path.join(dir, 'config.yaml');
    // A broker nobody listens on: the console must start and serve anyway.
    fs.writeFileSync(configFile, `device:\n  id: hq\nstorage:\n  dataDir: ${JSON.stringify(dir)}\nmqtt:\n  url: mqtt://127.0.0.1:9\n`);
  });

  afterAll(async () => {
    await hq?.stop();
  });

  it('refuses a non-loopback address without a password: exit 78, naming the fix', () => {
    const r = runEarshot(['-c', configFile, 'console', '--listen', '0.0.0.0:0']);
    expect(r.code, r.stderr).toBe(78);
    expect(r.stderr).toContain('--listen 0.0.0.0:0: the console is reachable from other machines there, so it needs a password: set one with `earshot console set-password`');
  });

  it('refuses bad options with exit 2, naming them', () => {
    const listen = runEarshot(['-c', configFile, 'console', '--listen', 'example.com:80']);
    expect(listen.code).toBe(2);
    expect(listen.stderr).toContain('"example.com" is not an IP address');
    const share = runEarshot(['-c', configFile, 'console', '--share', 'a/b']);
    expect(share.code).toBe(2);
    expect(share.stderr).toContain('--share "a/b": expected a group name');
    const both = runEarshot(['-c', configFile, 'console', '--device', '--url', 'mqtt://x:1']);
    expect(both.code).toBe(2);
  });

  it('set-password: a short one is refused (65); a good one is stored as an scrypt hash, never in clear', () => {
    const short = runEarshot(['-c', configFile, 'console', 'set-password'], { input: 'short\n' });
    expect(short.code).toBe(65);
    expect(short.stderr).toContain('expected at least 10');
    const ok = runEarshot(['-c', configFile, 'console', 'set-password'], { input: `${PASSWORD}\n` });
    expect(ok.code, ok.stderr).toBe(0);
    const file = path.join(consoleDir, 'password.json');
    expect(ok.stdout).toContain(file);
    const text = fs.readFileSync(file, 'utf8');
    expect(text).not.toContain(PASSWORD);
    expect(JSON.parse(text)).toMatchObject({ algorithm: 'scrypt', N: 32768, r: 8, p: 1 });
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  });

  it('with a password, a non-loopback address starts (the real CLI) and the API needs a session', async () => {
    const child = spawn(process.execPath, [cliPath, '-c', configFile, 'console', '--listen', '0.0.0.0:0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await waitFor(() => /http:\/\/0\.0\.0\.0:\d+\//.test(out), 10_000, 'the console to say where it listens');
      const port = /:(\d+)\//.exec(out)![1];
      const res = await getJson(`http://127.0.0.1:${port}`, '/api/alerts');
      expect(res).toMatchObject({ status: 401, body: { error: 'login required', login: true } });
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  });

  it('login sets an HttpOnly SameSite=Strict cookie that opens the API; a wrong password is 401', async () => {
    hq = await startConsole({ config: testConfig(dir, { url: 'mqtt://127.0.0.1:9' }), mode: 'hq', listen: { host: '127.0.0.1', port: 0 }, dataDir: consoleDir, version: 't', logger: silentLogger() });
    const page = await fetch(`${hq.url}/`);
    expect(page.status).toBe(200); // the page (with its login form) needs no session
    for (const route of ['/api/status', '/api/devices', '/api/alerts', '/api/alerts/x', '/api/alerts/x/clip', '/api/stream']) {
      expect((await fetch(`${hq.url}${route}`)).status, route).toBe(401);
    }
    expect((await post(hq.url, '/api/alerts/x/review', { verdict: 'confirmed' })).status).toBe(401);
    const wrong = await post(hq.url, '/api/login', { password: 'not it at all' });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('set-cookie')).toBeNull();
    const login = await post(hq.url, '/api/login', { password: PASSWORD });
    expect(login.status).toBe(200);
    const cookie = login.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^earshot_session=[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Strict; Path=\/; Max-Age=\d+$/);
    const session = cookie.split(';')[0]!;
    const status = await getJson(hq.url, '/api/status', { headers: { Cookie: session } });
    expect(status).toMatchObject({ status: 200, body: { mode: 'hq', broker: { url: 'mqtt://127.0.0.1:9', connected: false } } });
    expect((await getJson(hq.url, '/api/alerts', { headers: { Cookie: 'earshot_session=forged' } })).status).toBe(401);
    const logout = await post(hq.url, '/api/logout', {}, { Cookie: session });
    expect(logout.status).toBe(200);
    expect((await getJson(hq.url, '/api/status', { headers: { Cookie: session } })).status).toBe(401);
  });

  it('a session outlives a console restart; a new password ends it', async () => {
    const start = () => startConsole({ config: testConfig(dir, { url: 'mqtt://127.0.0.1:9' }), mode: 'hq', listen: { host: '127.0.0.1', port: 0 }, dataDir: consoleDir, version: 't', logger: silentLogger() });
    let running = await start();
    const session = (await post(running.url, '/api/login', { password: PASSWORD })).headers.get('set-cookie')!.split(';')[0]!;
    await running.stop();
    running = await start();
    try {
      expect((await getJson(running.url, '/api/status', { headers: { Cookie: session } })).status).toBe(200);
    } finally {
      await running.stop();
    }
    const changed = runEarshot(['-c', configFile, 'console', 'set-password'], { input: `${PASSWORD} but new\n` });
    expect(changed.code, changed.stderr).toBe(0);
    running = await start();
    try {
      expect((await getJson(running.url, '/api/status', { headers: { Cookie: session } })).status).toBe(401);
      expect((await post(running.url, '/api/login', { password: `${PASSWORD} but new` })).status).toBe(200);
    } finally {
      await running.stop();
      // The other tests' consoles start with the first password.
      expect(runEarshot(['-c', configFile, 'console', 'set-password'], { input: `${PASSWORD}\n` }).code).toBe(0);
    }
  });

  it('refuses POSTs without the JSON type, without X-Earshot-Request, or from a foreign Origin (403)', async () => {
    const url = `${hq.url}/api/login`;
    const body = JSON.stringify({ password: PASSWORD });
    const form = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'text/plain', 'X-Earshot-Request': '1' }, body });
    const noHeader = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
    const foreign = await post(hq.url, '/api/login', { password: PASSWORD }, { Origin: 'https://evil.example' });
    const sameOrigin = await post(hq.url, '/api/login', { password: PASSWORD }, { Origin: hq.url });
    expect([form.status, noHeader.status, foreign.status, sameOrigin.status]).toEqual([403, 403, 403, 200]);
    expect(((await foreign.json()) as { error: string }).error).toContain('origin https://evil.example refused');
    expect(foreign.headers.get('set-cookie')).toBeNull();
  });

  it('puts the CSP and nosniff headers on every response, errors included', async () => {
    for (const route of ['/', '/static/app.js', '/api/status', '/nope', '/static/../package.json']) {
      const res = await fetch(`${hq.url}${route}`);
      expect(res.headers.get('content-security-policy'), route).toBe(CONTENT_SECURITY_POLICY);
      expect(res.headers.get('x-content-type-options'), route).toBe('nosniff');
    }
    expect(CONTENT_SECURITY_POLICY).toBe("default-src 'self'; img-src 'self' data:; media-src 'self'; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
    expect((await fetch(`${hq.url}/static/app.js`)).headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect((await fetch(`${hq.url}/static/%2e%2e%2fpackage.json`)).status).toBe(404);
  });
});
