/**
 * A real browser for the console's page tests: Debian's Chromium (`apt-get install chromium`;
 * .ci/run installs it) driven by playwright-core, which downloads no browser of its own.
 * `--no-sandbox` because CI runs the tests as root, where Chromium's sandbox refuses to start.
 * Nothing is skipped: without the browser the tests fail and say how to install it.
 */
import fs from 'node:fs';
import { chromium, type Browser, type ConsoleMessage, type Dialog, type Page } from 'playwright-core';

const CANDIDATES = [process.env.CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'];

/** The Chromium binary, or an error that says how to get one. */
export function chromiumBinary(): string {
  for (const c of CANDIDATES) if (c && fs.existsSync(c)) return c;
  throw new Error('chromium not found: the console page tests need a real browser (Debian/Ubuntu: `sudo apt-get install chromium`; or set CHROMIUM=/path/to/chromium)');
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumBinary(), args: ['--no-sandbox'] });
}

/** What a page did that a test may want to assert on or show when it fails. */
export interface PageWatch {
  /** Messages of alert()/confirm()/prompt() — a hostile value that ran script would land here. */
  dialogs: string[];
  /** Uncaught exceptions in the page. */
  errors: string[];
  /** Console lines, with their type ("error" includes CSP violations). */
  console: string[];
}

/** Records dialogs (dismissing them), page errors and console output. */
export function watchPage(page: Page): PageWatch {
  const w: PageWatch = { dialogs: [], errors: [], console: [] };
  page.on('dialog', (d: Dialog) => {
    w.dialogs.push(`${d.type()}: ${d.message()}`);
    void d.dismiss().catch(() => undefined);
  });
  page.on('pageerror', (err: Error) => w.errors.push(err.message));
  page.on('console', (m: ConsoleMessage) => w.console.push(`${m.type()}: ${m.text()}`));
  return w;
}
