/**
 * The tenant dashboard as a user sees it: headless Chromium (driven by playwright-core) opens the
 * deployed dashboard, signs in with e-mail and password, and watches a device's row on the devices
 * screen. The only code of the dashboard-live check that talks to the outside.
 *
 * playwright-core is loaded when a check runs, from the checkout's node_modules (the deploy and the
 * cadence workflows run after `npm ci`), never bundled into the ops actions: it ships its own
 * server files and resolves them next to itself.
 */
import { existsSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';

/**
 * Chromium's flags for a machine whose network is closed or watched: without them its own
 * background connections (updates, sync, QUIC probes) are refused many at a time (DESIGN.md section
 * 7). Playwright makes a fresh profile per launch itself (it refuses --user-data-dir). The one list
 * for the go-live check, the bench and the browser tests.
 */
export const CHROMIUM_ARGS: readonly string[] = [
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/** Where a Chrome or Chromium is looked for when CHROME_BIN does not name one. */
export const CHROMIUM_CANDIDATES = [
  '/usr/bin/chromium', // Debian's package (this repository's tests, .ci/run)
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome', // GitHub's ubuntu runners ship Google Chrome here
  '/usr/bin/google-chrome-stable',
];

/** The browser to drive: CHROME_BIN (set on GitHub's runners; a path, not a secret), else a known path; null when none exists. */
export function findChromium(env: Record<string, string | undefined>): string | null {
  for (const name of ['CHROME_BIN']) {
    const path = env[name];
    if (path) return existsSync(path) ? path : null;
  }
  return CHROMIUM_CANDIDATES.find((p) => existsSync(p)) ?? null;
}

export interface DashboardSession {
  /** Milliseconds from navigation to the devices screen, signed in. */
  signInMs: number;
  /** The text shown for `metric` of the device's row now; null when the row or the metric is not shown. */
  shown(deviceKey: string, metric: string): Promise<string | null>;
  /** Resolves with the time `text` is shown for the metric of the device's row, or null at `deadline`. */
  waitShown(deviceKey: string, metric: string, text: string, deadline: number): Promise<number | null>;
}

export interface DashboardBrowserSource {
  /**
   * Launches the browser, opens the dashboard with a fresh profile and signs in. Throws with what
   * the page said when the devices screen does not come within `timeoutMs`.
   */
  open(options: { timeoutMs: number; signal?: AbortSignal }): Promise<DashboardSession>;
  close(): Promise<void>;
}

export interface DashboardBrowserOptions {
  url: string;
  email: string;
  password: string;
  executablePath: string;
  now?: () => number;
}

/** Thrown when playwright-core is not installed: the check is skipped with this message. */
export class BrowserUnavailableError extends Error {}

type Playwright = typeof import('playwright-core');

async function loadPlaywright(): Promise<Playwright> {
  // A specifier in a variable: esbuild leaves the import to run time (see the header).
  const name = 'playwright-core';
  try {
    return (await import(name)) as Playwright;
  } catch (error) {
    throw new BrowserUnavailableError(
      `playwright-core cannot be loaded (${(error as Error).message}): run npm ci in the checkout first`,
    );
  }
}

export function createDashboardBrowserSource(options: DashboardBrowserOptions): DashboardBrowserSource {
  const now = options.now ?? Date.now;
  let browser: Browser | undefined;
  let context: BrowserContext | undefined;

  const row = (page: Page, deviceKey: string, metric: string) =>
    page.locator(`tr[data-device-key="${cssString(deviceKey)}"] [data-metric="${cssString(metric)}"] b`);

  return {
    async open({ timeoutMs, signal }) {
      const { chromium } = await loadPlaywright();
      const started = now();
      browser = await chromium.launch({
        executablePath: options.executablePath,
        headless: true,
        timeout: timeoutMs,
        args: [...CHROMIUM_ARGS],
      });
      const abort = () => void browser?.close().catch(() => undefined);
      signal?.addEventListener('abort', abort, { once: true });
      // English labels whatever the runner's locale; a fresh context is a cold cache.
      context = await browser.newContext({ locale: 'en-US' });
      const page = await context.newPage();
      const left = () => Math.max(1, timeoutMs - (now() - started));
      await page.goto(options.url, { timeout: left() });
      await page.getByLabel('E-mail').fill(options.email, { timeout: left() });
      await page.getByLabel('Password').fill(options.password, { timeout: left() });
      await page.getByRole('button', { name: 'Sign in' }).click({ timeout: left() });
      const devices = page.getByRole('heading', { name: 'Devices' });
      const problem = page.getByRole('alert').first();
      // Whichever comes first: the devices screen, or an error the page shows (wrong password...).
      const outcome = await Promise.race([
        devices.waitFor({ timeout: left() }).then(() => 'devices' as const),
        problem.waitFor({ timeout: left() }).then(() => 'problem' as const),
      ]).catch(() => 'timeout' as const);
      if (outcome !== 'devices') {
        const said = outcome === 'problem' ? await problem.textContent().catch(() => null) : null;
        throw new Error(
          outcome === 'problem'
            ? `signing in did not reach the devices screen; the page said: ${said ?? '(nothing)'}`
            : `the devices screen did not appear within ${timeoutMs / 1000} s of opening ${options.url}`,
        );
      }
      // The rows come with the first poll after the heading.
      await page
        .locator('tr[data-device-key], .empty')
        .first()
        .waitFor({ timeout: left() })
        .catch(() => undefined);
      const signInMs = now() - started;
      return {
        signInMs,
        async shown(deviceKey, metric) {
          const cell = row(page, deviceKey, metric);
          return (await cell.count()) > 0 ? ((await cell.first().textContent()) ?? null) : null;
        },
        async waitShown(deviceKey, metric, text, deadline) {
          try {
            await page.waitForFunction(
              // Runs in the page (ops code has no DOM types).
              ({ selector, text }) =>
                Array.from((globalThis as unknown as PageGlobals).document.querySelectorAll(selector)).some(
                  (el) => el.textContent === text,
                ),
              {
                selector: `tr[data-device-key="${cssString(deviceKey)}"] [data-metric="${cssString(metric)}"] b`,
                text,
              },
              { timeout: Math.max(1, deadline - now()), polling: 'raf' },
            );
            return now();
          } catch {
            return null;
          }
        },
      };
    },
    async close() {
      await context?.close().catch(() => undefined);
      await browser?.close().catch(() => undefined);
      context = undefined;
      browser = undefined;
    },
  };
}

interface PageGlobals {
  document: { querySelectorAll(selector: string): ArrayLike<{ textContent: string | null }> };
}

/** A value for a CSS attribute selector in double quotes. */
function cssString(value: string): string {
  return value.replace(/["\\]/g, (c) => `\\${c}`);
}
