/**
 * The console page in Chromium, the parts that need no agent: the login form against a real
 * `earshot console` that has a password (set with `console set-password`), the phone layout,
 * and the first load's weight (issue 14's target: ≤ 300 KB transferred). A real Mosquitto
 * backs the console; test/console/browser.test.ts runs the whole story with a real agent.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, watchPage } from '../helpers/browser.js';
import { runEarshot } from '../helpers/cli.js';
import { freePort, startMosquitto, waitForPort, type Mosquitto } from '../helpers/mosquitto.js';
import { cliPath } from '../helpers/paths.js';

const PASSWORD = 'ranger station seven';
let dir: string;
let broker: Mosquitto;
let consoleChild: ChildProcess | undefined;
let consoleLog = '';
let url: string;
let browser: Browser;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'earshot-console-login-'));
  broker = await startMosquitto();
  const config = path.join(dir, 'console.yaml');
  const data = path.join(dir, 'console');
  fs.writeFileSync(config, `storage:\n  dataDir: ${path.join(dir, 'home')}\n`);
  const set = runEarshot(['-c', config, 'console', 'set-password', '--data', data], { input: `${PASSWORD}\n` });
  expect(set.code, set.stderr).toBe(0);
  const port = await freePort();
  url = `http://127.0.0.1:${port}/`;
  const clean: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('EARSHOT_')) clean[k] = v;
  consoleChild = spawn(process.execPath, [cliPath, '-c', config, 'console', '--url', broker.url, '--listen', `127.0.0.1:${port}`, '--data', data], { env: clean, stdio: ['ignore', 'pipe', 'pipe'] });
  consoleChild.stdout!.on('data', (d: Buffer) => (consoleLog += d.toString()));
  consoleChild.stderr!.on('data', (d: Buffer) => (consoleLog += d.toString()));
  const exited = new Promise<never>((_, reject) => consoleChild!.once('exit', (code) => reject(new Error(`earshot console exited (code ${code}): ${consoleLog}`))));
  await Promise.race([waitForPort(port, 30_000), exited]);
  browser = await launchBrowser();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  if (consoleChild && consoleChild.exitCode === null) {
    const gone = new Promise((r) => consoleChild!.once('exit', r));
    consoleChild.kill('SIGTERM');
    await gone;
  }
  await broker?.dispose();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('the console page (Chromium, a console with a password)', () => {
  it('asks for the password, refuses a wrong one, and opens with the right one', async () => {
    const page = await browser.newPage();
    const watch = watchPage(page);
    try {
      await page.goto(url);
      await page.locator('#login').waitFor({ timeout: 15_000 });
      await expect(page.locator('#app').isHidden()).resolves.toBe(true);
      await page.locator('#password').fill('not the password');
      await page.locator('#login-form button[type=submit]').click();
      await page.locator('#login-error', { hasText: 'Wrong password.' }).waitFor({ timeout: 10_000 });
      await expect(page.locator('#app').isHidden()).resolves.toBe(true);

      await page.locator('#password').fill(PASSWORD);
      await page.locator('#login-form button[type=submit]').click();
      await page.locator('#link .pill.online', { hasText: 'broker connected' }).waitFor({ timeout: 15_000 });
      await expect(page.locator('#login').isHidden()).resolves.toBe(true);
      await page.locator('#alert-empty').waitFor({ state: 'visible', timeout: 5_000 });
      await expect(page.locator('#alert-empty').isVisible()).resolves.toBe(true);
      // The session cookie keeps it open across a reload.
      await page.reload();
      await page.locator('#link .pill.online').waitFor({ timeout: 15_000 });
      await expect(page.locator('#login').isHidden()).resolves.toBe(true);
      expect(watch.errors).toEqual([]);
      expect(watch.dialogs).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('fits a phone screen and its first load stays under 300 KB', async () => {
    const context = await browser.newContext({ viewport: { width: 360, height: 740 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    const page = await context.newPage();
    const sizes: Promise<{ file: string; bytes: number }>[] = [];
    page.on('requestfinished', (req) => sizes.push(req.sizes().then((s) => ({ file: req.url(), bytes: s.responseBodySize + s.responseHeadersSize }))));
    try {
      await page.goto(url, { waitUntil: 'networkidle' });
      await page.locator('#login').waitFor({ timeout: 15_000 });
      // Everything the page needs to draw itself (HTML, script modules, style, icon) and its first API answers.
      const loaded = await Promise.all(sizes);
      expect(loaded.filter((f) => f.file.includes('/static/')).length).toBeGreaterThanOrEqual(5);
      const bytes = loaded.reduce((n, f) => n + f.bytes, 0);
      expect(bytes, loaded.map((f) => `${f.file} ${f.bytes}`).join('\n')).toBeLessThan(300 * 1024);
      await page.locator('#password').fill(PASSWORD);
      await page.locator('#login-form button[type=submit]').click();
      await page.locator('#link .pill.online').waitFor({ timeout: 15_000 });
      // Nothing wider than the screen (no sideways scrolling), and the feed comes before the devices.
      const layout = await page.evaluate(() => {
        const g = globalThis as unknown as {
          innerWidth: number;
          document: { documentElement: { scrollWidth: number }; getElementById(id: string): { getBoundingClientRect(): { top: number } } };
        };
        return {
          width: g.innerWidth,
          scrollWidth: g.document.documentElement.scrollWidth,
          alertsTop: g.document.getElementById('alerts').getBoundingClientRect().top,
          devicesTop: g.document.getElementById('devices').getBoundingClientRect().top,
        };
      });
      expect(layout.scrollWidth).toBeLessThanOrEqual(layout.width);
      expect(layout.alertsTop).toBeLessThan(layout.devicesTop);
      // Touch targets: the filters and buttons are at least 44 px tall.
      const heights = await page.locator('#filters select, #login-form button').evaluateAll((els) => els.map((e) => (e as unknown as { getBoundingClientRect(): { height: number } }).getBoundingClientRect().height));
      for (const h of heights.filter((x) => x > 0)) expect(h).toBeGreaterThanOrEqual(44);
    } finally {
      await context.close();
    }
  });
});
