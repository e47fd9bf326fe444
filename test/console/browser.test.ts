/**
 * The console page in a real browser against the real parts (issue 14, "Tests in a real
 * browser"): Debian's Chromium, a real Mosquitto, a real `earshot run` replaying a dev gunshot
 * recording (the compiled CLI, the real model), and the real `earshot console` in HQ mode. The
 * page is opened before the agent starts, so the alert has to arrive over the live stream.
 *
 * One story, in order (each step builds on the last): the alert appears without a reload; its
 * spectrogram loads; its audio plays after a click; a review survives a reload and is exported
 * by `earshot console export-reviews`; a hostile device id renders as text; with the broker
 * stopped the page keeps the last state under an offline banner. A screenshot of the page goes
 * to build/console.png.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeWav } from '../../dsp/wav.js';
import { encodeWavInt16Mono } from '../../dsp/wav-encode.js';
import { float32ToInt16 } from '../../dsp/pcm.js';
import { installModel, modelEnv, spawnEarshot, startAgent, stop, writeAgentConfig, type EarshotProcess } from '../helpers/agent-process.js';
import { launchBrowser, watchPage, type PageWatch } from '../helpers/browser.js';
import { runEarshot } from '../helpers/cli.js';
import { freePort, startMosquitto, waitForPort, type Mosquitto } from '../helpers/mosquitto.js';
import { devCorpusDir, repoRoot } from '../helpers/paths.js';

const DEVICE = 'ranger-rig';
const HOSTILE = '<img src=x onerror=alert(1)>';
const HOSTILE_LABEL = '<script>window.__pwned = 1</script>';
/** A stand-in device (published to the broker by the test) that is offline when its clip is asked for. */
const SLEEPY = 'sleepy-rig';
const SCREENSHOT = path.join(repoRoot, 'build', 'console.png');

let dir: string;
let broker: Mosquitto;
let agentConfig: string;
let consoleConfig: string;
let consoleData: string;
let consoleUrl: string;
let agent: EarshotProcess | undefined;
let consoleProc: EarshotProcess | undefined;
let deviceConsole: EarshotProcess | undefined;
let browser: Browser;
let page: Page;
let watch: PageWatch;

/** The DOM as far as these tests look at it (the project's TypeScript has no DOM library). */
interface Img {
  complete: boolean;
  naturalWidth: number;
  naturalHeight: number;
}
interface Media {
  readyState: number;
  paused: boolean;
  ended: boolean;
  duration: number;
  pause(): void;
}
interface Doc {
  document: { querySelectorAll(selector: string): ArrayLike<{ textContent: string | null }> & Iterable<{ textContent: string | null }> };
}

/** What the processes said, for a failure message. */
const logs = () => `\n--- console ---\n${consoleProc?.log() ?? ''}${deviceConsole ? `\n--- console --device ---\n${deviceConsole.log()}` : ''}\n--- agent ---\n${agent?.log().slice(-4000) ?? ''}${broker?.log() ?? ''}`;

/** A locator wait with the processes' logs and the page's console in the error. */
async function see(what: string, wait: () => Promise<unknown>): Promise<void> {
  try {
    await wait();
  } catch (err) {
    throw new Error(`waiting for ${what}: ${(err as Error).message}\n--- page ---\n${[...watch.errors, ...watch.console].join('\n')}${logs()}`, { cause: err });
  }
}

/**
 * The recording the agent replays: background, a gunshot, background (dev corpus, 4 s each at
 * 8 kHz), so the event has the pre- and post-roll its clip needs before the replay ends.
 */
function writeRecording(file: string): void {
  const parts = ['background_other/belize_no_gunshot_552.wav', 'gunshot/belize_gunshot_552.wav', 'background_other/belize_no_gunshot_1552.wav'].map((f) =>
    decodeWav(fs.readFileSync(path.join(devCorpusDir, f))),
  );
  const rate = parts[0]!.sampleRate;
  for (const p of parts) expect(p.sampleRate).toBe(rate);
  const all = new Float32Array(parts.reduce((n, p) => n + p.mono.length, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p.mono, at);
    at += p.mono.length;
  }
  fs.writeFileSync(file, encodeWavInt16Mono(float32ToInt16(all), rate));
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'earshot-console-page-'));
  broker = await startMosquitto();
  const recording = path.join(dir, 'shot.wav');
  writeRecording(recording);
  agentConfig = path.join(dir, 'agent.yaml');
  // The recording replayed as fast as the model goes: the event and its clip are ready within
  // seconds; the agent then stays up (capture interrupted, broker link kept) to answer the
  // console's clip requests.
  writeAgentConfig(agentConfig, {
    device: DEVICE,
    location: { lat: -17.25, lon: -88.77 },
    dataDir: path.join(dir, 'agent-data'),
    audio: { file: recording },
    brokerUrl: broker.url,
    healthIntervalSec: 10,
  });
  installModel(agentConfig);

  consoleData = path.join(dir, 'console');
  consoleConfig = path.join(dir, 'console.yaml');
  fs.writeFileSync(consoleConfig, [`storage:\n  dataDir: ${path.join(dir, 'console-home')}`, `mqtt:\n  reconnectMinSec: 0.2\n  reconnectMaxSec: 1`, ''].join('\n'));
  const port = await freePort();
  consoleUrl = `http://127.0.0.1:${port}/`;
  consoleProc = spawnEarshot(['-c', consoleConfig, 'console', '--url', broker.url, '--listen', `127.0.0.1:${port}`, '--data', consoleData]);
  await Promise.race([
    waitForPort(port, 30_000),
    consoleProc.exited.then(({ code }) => Promise.reject(new Error(`earshot console exited (code ${code}) before listening${logs()}`))),
  ]);
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  watch = watchPage(page);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await stop(deviceConsole);
  await stop(agent);
  await stop(consoleProc);
  await broker?.dispose();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** The page's row of the agent's gunshot. */
const gunshotRow = () => page.locator('li.alert').filter({ hasText: DEVICE }).filter({ has: page.locator('.alert-label', { hasText: /^gunshot$/ }) });

describe('the console page in Chromium, against a real agent, broker and console', () => {
  it('shows an alert published by the agent without a reload, with its device online', async () => {
    const res = await page.goto(consoleUrl);
    // The page runs under the console's strict policy (checked for violations at the end).
    expect(res?.headers()['content-security-policy']).toMatch(/script-src 'self'.*connect-src 'self'/);
    await see('the page connected to a connected console', () => page.locator('#link .pill.online', { hasText: 'broker connected' }).waitFor({ timeout: 15_000 }));
    // Marks this document: a reload would lose it.
    await page.evaluate(() => ((globalThis as unknown as { pageMark: number }).pageMark = 1));
    agent = startAgent(agentConfig);

    await see('the gunshot in the feed', () => gunshotRow().first().waitFor({ timeout: 45_000 }));
    expect(await page.evaluate(() => (globalThis as unknown as { pageMark?: number }).pageMark)).toBe(1);
    const row = gunshotRow().first();
    await expect(row.locator('.confidence').textContent()).resolves.toMatch(/^\d+ %$/);
    await expect(row.locator('.model-labels').textContent()).resolves.toMatch(/Gunshot/i);
    await see('the device online in the devices panel', () => page.locator(`li.device.online[data-device="${DEVICE}"]`).waitFor({ timeout: 15_000 }));
    // Its position (device.location) is drawn on the map.
    // Device updates reach the page at most once a second, so the map may draw it a moment later.
    await see('the device on the map', () => page.locator(`#map .map-device[data-device="${DEVICE}"] circle`).waitFor({ timeout: 5_000 }));
    await expect(page.locator(`#map .map-device[data-device="${DEVICE}"] circle`).count()).resolves.toBe(1);
    // Its last 24 h of health, drawn from /api/devices/<id>/health (and redrawn as samples come: every 10 s here).
    const card = page.locator(`li.device[data-device="${DEVICE}"]`);
    await card.locator('button.history-toggle').click();
    await see('a health sparkline of the device', () => card.locator('.spark polyline').first().waitFor({ state: 'attached', timeout: 30_000 }));
    await expect(card.locator('.spark polyline').first().getAttribute('points')).resolves.toMatch(/^\d+(\.\d)?,\d+\.\d( \d+(\.\d)?,\d+\.\d)+$/);
    await expect(card.locator('button.history-toggle').getAttribute('aria-expanded')).resolves.toBe('true');
  });

  it('loads the spectrogram of the clip the console fetched from the device', async () => {
    const row = gunshotRow().first();
    // The version with the kept clip (a later rev) replaces the first one in place.
    await see('the clip on the alert', () => row.locator('summary', { hasText: /Spectrogram and audio \(/ }).waitFor({ timeout: 30_000 }));
    await row.locator('summary').click();
    const img = row.locator('img.spectrogram');
    await see('the spectrogram to load', async () => page.waitForFunction((el) => (el as unknown as Img).complete && (el as unknown as Img).naturalWidth > 0, await img.elementHandle(), { timeout: 30_000 }));
    const size = await img.evaluate((el) => [(el as unknown as Img).naturalWidth, (el as unknown as Img).naturalHeight]);
    expect(size[0]).toBeGreaterThan(100);
    expect(size[1]).toBeGreaterThan(50);
    await expect(row.locator('.media-note').isVisible()).resolves.toBe(false);
  });

  it('plays the audio after a click on play', async () => {
    const audio = gunshotRow().first().locator('audio');
    await audio.scrollIntoViewIfNeeded();
    expect(await audio.evaluate((el) => (el as unknown as Media).paused)).toBe(true);
    const box = (await audio.boundingBox())!;
    // The play button of Chromium's own controls sits at their left end.
    await audio.click({ position: { x: 22, y: box.height / 2 } });
    const handle = await audio.elementHandle();
    await see('the audio to play', () =>
      page.waitForFunction(
        (el) => {
          const a = el as unknown as Media;
          return a.readyState >= 2 && (!a.paused || a.ended);
        },
        handle,
        { timeout: 20_000 },
      ),
    );
    const { readyState, duration } = await audio.evaluate((el) => ({ readyState: (el as unknown as Media).readyState, duration: (el as unknown as Media).duration }));
    expect(readyState).toBeGreaterThanOrEqual(2);
    expect(duration).toBeGreaterThan(1);
    await audio.evaluate((el) => (el as unknown as Media).pause());
  });

  it('keeps a review across a reload, and export-reviews writes its clip under the label', async () => {
    let row = gunshotRow().first();
    const id = (await row.getAttribute('data-id'))!;
    await row.locator('textarea.note').fill('Two shots north of the ridge; patrol sent');
    await row.locator('button.confirm').click();
    await see('the review saved', () => row.locator('.review-badge', { hasText: 'confirmed' }).waitFor({ timeout: 10_000 }));
    await expect(row.locator('.review-status').textContent()).resolves.toBe('Saved.');
    await page.evaluate(() => (globalThis as unknown as { scrollTo(x: number, y: number): void }).scrollTo(0, 0));
    fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT });

    await page.reload();
    row = page.locator(`li.alert[data-id="${id}"]`);
    await see('the alert after the reload', () => row.waitFor({ timeout: 15_000 }));
    await expect(row.locator('button.confirm').getAttribute('aria-pressed')).resolves.toBe('true');
    await expect(row.locator('button.false-alarm').getAttribute('aria-pressed')).resolves.toBe('false');
    await expect(row.locator('textarea.note').inputValue()).resolves.toBe('Two shots north of the ridge; patrol sent');

    // The exported clip is the clip the device kept (same bytes: its sha256 is in the alert).
    const alert = (await (await page.request.get(`${consoleUrl}api/alerts/${id}`)).json()) as { clip: { sha256: string } };
    const out = path.join(dir, 'reviews');
    const r = runEarshot(['-c', consoleConfig, 'console', 'export-reviews', out, '--data', consoleData], { env: modelEnv });
    expect(r.code, r.stderr + r.stdout).toBe(0);
    // Confirmed clips go under their label (in a folder per device: API.md).
    const files = fs.readdirSync(path.join(out, 'gunshot'), { recursive: true, withFileTypes: true }).filter((f) => f.isFile());
    expect(files.map((f) => f.name)).toHaveLength(1);
    const bytes = fs.readFileSync(path.join(files[0]!.parentPath, files[0]!.name));
    expect(crypto.createHash('sha256').update(bytes).digest('hex')).toBe(alert.clip.sha256);
  });

  it('renders a hostile device id and label as text', async () => {
    const pub = await mqtt.connectAsync(broker.url, { clientId: 'hostile-publisher', protocolVersion: 5 });
    try {
      const now = new Date().toISOString();
      await pub.publishAsync(`earshot/${HOSTILE}/status`, JSON.stringify({ state: 'online', version: '<b>9</b>', startedAt: now }), { qos: 1, retain: true });
      const event = {
        id: crypto.randomUUID(),
        seq: 1,
        device: HOSTILE,
        label: HOSTILE_LABEL,
        category: 'threat',
        confidence: 0.9,
        start: now,
        end: now,
        modelLabels: [{ label: '<img src=y onerror=alert(2)>', score: 0.9 }],
        model: { name: 'efficientat-mn04', version: '1', sha256: 'x' },
        clockSynced: true,
        state: 'closed',
        rev: 1,
      };
      await pub.publishAsync(`earshot/${HOSTILE}/events`, JSON.stringify(event), { qos: 1 });
    } finally {
      await pub.endAsync();
    }
    const deviceName = page.locator('li.device .device-name').filter({ hasText: HOSTILE });
    await see('the hostile device in the devices panel', () => deviceName.waitFor({ timeout: 15_000 }));
    await expect(deviceName.textContent()).resolves.toBe(HOSTILE);
    const label = page.locator('li.alert .alert-label').filter({ hasText: HOSTILE_LABEL });
    await see('the hostile alert in the feed', () => label.waitFor({ timeout: 15_000 }));
    await expect(label.textContent()).resolves.toBe(HOSTILE_LABEL);
    await expect(page.locator('li.alert .model-label').filter({ hasText: '<img src=y onerror=alert(2)>' }).count()).resolves.toBe(1);
    // Nothing was parsed as markup and nothing ran.
    expect(await page.evaluate(() => (globalThis as unknown as Doc).document.querySelectorAll('img[src="x"], img[src="y"], main script').length)).toBe(0);
    expect(await page.evaluate(() => (globalThis as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(watch.dialogs).toEqual([]);
    expect(watch.errors).toEqual([]);
  });

  it('replaces an alert by its next version in place, and says when the device is offline for its clip', async () => {
    const id = crypto.randomUUID();
    const start = new Date(Date.now() - 3000).toISOString();
    const version = (rev: number, extra: object) => ({
      id, seq: 1, device: SLEEPY, label: 'chainsaw', category: 'threat', start, end: new Date().toISOString(),
      modelLabels: [{ label: 'Chainsaw', score: 0.8 }], model: { name: 'efficientat-mn04', version: '1', sha256: 'x' }, clockSynced: true, rev, ...extra,
    });
    const pub = await mqtt.connectAsync(broker.url, { clientId: 'sleepy-device', protocolVersion: 5 });
    const row = page.locator(`li.alert[data-id="${id}"]`);
    try {
      // A device that went offline (its status says so) right after sending an event.
      await pub.publishAsync(`earshot/${SLEEPY}/status`, JSON.stringify({ state: 'offline', version: '0.1.0' }), { qos: 1, retain: true });
      await pub.publishAsync(`earshot/${SLEEPY}/events`, JSON.stringify(version(1, { confidence: 0.61, state: 'open' })), { qos: 1 });
      await see('the open version', () => row.locator('.alert-state', { hasText: 'ongoing' }).waitFor({ timeout: 15_000 }));
      await expect(row.locator('.confidence').textContent()).resolves.toBe('61 %');
      const clip = { path: '/var/lib/earshot/clips/x.wav', format: 'wav', durationMs: 6000, sha256: 'ab'.repeat(32) };
      await pub.publishAsync(`earshot/${SLEEPY}/events`, JSON.stringify(version(2, { confidence: 0.87, state: 'closed', clip })), { qos: 1 });
      await see('the closed version', () => row.locator('.confidence', { hasText: '87 %' }).waitFor({ timeout: 15_000 }));
    } finally {
      await pub.endAsync();
    }
    await expect(row.count()).resolves.toBe(1);
    await expect(row.locator('.alert-state').isHidden()).resolves.toBe(true);
    await row.locator('summary').click();
    await see('the device-offline note', () => row.locator('.media-note', { hasText: 'Device offline — the clip will be fetched when it returns.' }).waitFor({ timeout: 20_000 }));
    await expect(row.locator('img.spectrogram').isHidden()).resolves.toBe(true);
    await see('the device offline in the panel', () => page.locator(`li.device.offline[data-device="${SLEEPY}"]`).waitFor({ timeout: 10_000 }));
  });

  it('filters the feed by label and by device', async () => {
    const labels = () => page.locator('li.alert .alert-label').allTextContents();
    await page.locator('#filter-label').selectOption('gunshot');
    await see('only gunshots', () => page.waitForFunction(() => [...(globalThis as unknown as Doc).document.querySelectorAll('li.alert .alert-label')].every((e) => e.textContent === 'gunshot')));
    expect(new Set(await labels())).toEqual(new Set(['gunshot']));
    await page.locator('#filter-label').selectOption('');
    await page.locator('#filter-device').selectOption(SLEEPY);
    await see('only the sleepy device', () => page.waitForFunction(() => (globalThis as unknown as Doc).document.querySelectorAll('li.alert').length === 1));
    await expect(page.locator('li.alert .alert-device').allTextContents()).resolves.toEqual([SLEEPY]);
    // A time window before any of them: nothing matches (asked of the API as since/until).
    await page.locator('#filter-device').selectOption('');
    await page.locator('#filter-range').selectOption('custom');
    await page.locator('#filter-until').fill('2020-01-01T00:00');
    await page.locator('#filter-until').dispatchEvent('change');
    await see('no alert in 2019', () => page.locator('#alert-empty').waitFor({ timeout: 10_000 }));
    await expect(page.locator('li.alert').count()).resolves.toBe(0);
    await page.locator('#filters button[type=reset]').click();
    await see('every alert again', () => page.waitForFunction(() => (globalThis as unknown as Doc).document.querySelectorAll('li.alert').length >= 3));
    // The feed, grown from live updates, is in the console's order (threats first, then newest).
    const api = (await (await page.request.get(`${consoleUrl}api/alerts`)).json()) as { alerts: { id: string }[] };
    await expect(page.locator('li.alert').evaluateAll((els) => els.map((e) => e.getAttribute('data-id')))).resolves.toEqual(api.alerts.map((a) => a.id));
  });

  it('keeps the last state under an offline banner when the broker stops, and after a reload', async () => {
    const banner = page.locator('#banner');
    expect(await banner.isVisible(), `${await banner.textContent()}${logs()}`).toBe(false);
    await broker.stop();
    await see('the offline banner', () => banner.filter({ hasText: /broker/i }).waitFor({ timeout: 20_000 }));
    await expect(banner.textContent()).resolves.toMatch(/^Offline: .*last state/);
    await expect(gunshotRow().first().isVisible()).resolves.toBe(true);
    await expect(page.locator(`li.device[data-device="${DEVICE}"]`).isVisible()).resolves.toBe(true);

    // A page opened during the outage shows the stored state and the banner from the start.
    await page.reload();
    await see('the banner after a reload', () => banner.filter({ hasText: /broker/i }).waitFor({ timeout: 15_000 }));
    await see('the stored alert after a reload', () => gunshotRow().first().waitFor({ timeout: 15_000 }));
    await expect(page.locator('#link .pill.offline').textContent()).resolves.toBe('broker offline');
    expect(watch.errors).toEqual([]);
  });

  it('is the same page on the device itself (console --device, no broker): the alert and its spectrogram, no review buttons', async () => {
    const port = await freePort();
    deviceConsole = spawnEarshot(['-c', agentConfig, 'console', '--device', '--listen', `127.0.0.1:${port}`]);
    await Promise.race([
      waitForPort(port, 30_000),
      deviceConsole.exited.then(({ code }) => Promise.reject(new Error(`earshot console --device exited (code ${code}) before listening${logs()}`))),
    ]);
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 } });
    const phoneWatch = watchPage(phone);
    try {
      await phone.goto(`http://127.0.0.1:${port}/`);
      const row = phone.locator('li.alert').filter({ has: phone.locator('.alert-label', { hasText: /^gunshot$/ }) }).first();
      await see('the gunshot on the device console', () => row.waitFor({ timeout: 15_000 }));
      await expect(phone.locator('#link').textContent()).resolves.toBe('this device');
      await expect(row.locator('.review').isHidden()).resolves.toBe(true);
      await row.locator('summary').click();
      const img = await row.locator('img.spectrogram').elementHandle();
      await see('the spectrogram from the data folder', () => phone.waitForFunction((el) => (el as unknown as Img).complete && (el as unknown as Img).naturalWidth > 0, img, { timeout: 20_000 }));
      // No broker in device mode: no offline banner for it.
      await expect(phone.locator('#banner').isHidden()).resolves.toBe(true);
      expect(phoneWatch.errors).toEqual([]);
    } finally {
      await phone.close();
    }
  });

  it('ran under the strict Content-Security-Policy without a violation', () => {
    expect(watch.console.filter((l) => /Content Security Policy|Refused to/i.test(l))).toEqual([]);
  });
});
