// Debian's chromium driven by playwright-core (never a downloaded browser), for the web console
// tests: one headless page that may only talk to the broker's own origin.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** A skip reason when there is no chromium (.ci/run installs Debian's), else false. */
export const chromiumMissing: string | false = existsSync(CHROMIUM) ? false : `no chromium at ${CHROMIUM}`;

export interface ConsoleBrowser {
  page: Page;
  /** Errors thrown in the page, and any request that left the console's origin. */
  pageErrors: string[];
  close(): Promise<void>;
}

/** A fresh profile and page on `base` (the broker's HTTP URL); close() removes the profile. */
export async function openConsoleBrowser(base: string): Promise<ConsoleBrowser> {
  const profile = mkdtempSync(join(tmpdir(), 'tributary-chromium-'));
  let browser: BrowserContext | undefined;
  const close = async () => {
    await browser?.close();
    rmSync(profile, { recursive: true, force: true });
  };
  try {
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      // The machine's documented flags: no sandbox (root in CI), no GPU, nothing phoning home.
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1200, height: 800 },
      deviceScaleFactor: 1,
      timeout: 30_000,
    });
    const page = browser.pages()[0] ?? (await browser.newPage());
    page.setDefaultTimeout(10_000);
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    // The console works offline: any request that leaves the broker's origin is an error.
    await page.route('**/*', (route) =>
      route.request().url().startsWith(base) ? route.continue() : (pageErrors.push(`outside request ${route.request().url()}`), route.abort()),
    );
    return { page, pageErrors, close };
  } catch (err) {
    await close();
    throw err;
  }
}
