/**
 * Go-live: realtime data shows on the dashboard. Headless Chromium signs in to the deployed
 * dashboard as a user of the canary device's tenant; a unique value is published as the canary
 * device (the ingest canary's source) and must appear in that device's row within `timeoutMs`
 * without a reload (the dashboard polls every 3 s). It exercises what a tenant sees: Pages, Supabase
 * Auth, the Data API under RLS, and the pipeline behind it.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { NotConfiguredError, type OpsTarget } from '../config/ops-target.js';
import type { Check, CheckOutcome } from '../engine/check.js';
import type { IngestCanarySource } from '../sources/ingest-canary.js';
import {
  BrowserUnavailableError,
  createDashboardBrowserSource,
  findChromium,
  type DashboardBrowserSource,
} from '../sources/dashboard-browser.js';

/** Its title in a report where it cannot be built (skipped, a secret missing): registry.ts. */
export const DASHBOARD_LIVE_TITLE = 'Dashboard: a published value shows live';

/** The metric the value is published under: the ingest canary's. */
export const CANARY_METRIC = 'canary';

export interface DashboardLiveOptions {
  /** The canary device's key (its row's data-device-key). */
  deviceKey: string;
  /** The dashboard URL, for the evidence. */
  url: string;
  /** Why there is no browser to drive, when there is none: the check is skipped with it. */
  noBrowser?: string;
  /** Sign-in (launch, load, sign in, devices screen) must finish within this. */
  signInTimeoutMs?: number;
  /** The value must be on screen within this of its PUBACK (fail otherwise). */
  timeoutMs?: number;
  /** Slower than this is a warning. */
  warnMs?: number;
}

export const DEFAULT_DASHBOARD_LIVE = { signInTimeoutMs: 8_000, timeoutMs: 10_000, warnMs: 5_000 };

export function dashboardLiveCheck(
  browser: () => DashboardBrowserSource,
  canary: () => IngestCanarySource,
  options: DashboardLiveOptions,
): Check {
  const signInTimeoutMs = options.signInTimeoutMs ?? DEFAULT_DASHBOARD_LIVE.signInTimeoutMs;
  const timeoutMs = options.timeoutMs ?? DEFAULT_DASHBOARD_LIVE.timeoutMs;
  const warnMs = options.warnMs ?? DEFAULT_DASHBOARD_LIVE.warnMs;
  return {
    id: 'golive.dashboard-live',
    title: DASHBOARD_LIVE_TITLE,
    severity: 'high',
    playbook: null,
    // Bounded so the deploy's smoke run (the go-live cadence) stays fast: launch and sign-in, then
    // the value, plus closing the browser.
    timeoutMs: signInTimeoutMs + timeoutMs + 5_000,
    async run({ now, signal }): Promise<CheckOutcome> {
      if (options.noBrowser) return { status: 'skipped', summary: options.noBrowser };
      const source = browser();
      try {
        let session;
        try {
          session = await source.open({ timeoutMs: signInTimeoutMs, signal });
        } catch (error) {
          if (error instanceof BrowserUnavailableError) return { status: 'skipped', summary: error.message };
          return {
            status: 'fail',
            summary: `cannot sign in to the dashboard: ${(error as Error).message}`,
            evidence: [`${options.url} as the canary tenant's user`],
          };
        }
        const before = await session.shown(options.deviceKey, CANARY_METRIC);
        // A value the row cannot be showing already: two decimals, never equal to the current text.
        let value: number;
        let text: string;
        do {
          value = randomInt(100_00, 999_99) / 100;
          text = formatLikeDashboard(value);
        } while (text === before);
        const id = `dashboard-${now()}-${randomBytes(4).toString('hex')}`;
        const publishedAt = await canary().publish(id, { [CANARY_METRIC]: value });
        const seenAt = await session.waitShown(
          options.deviceKey,
          CANARY_METRIC,
          text,
          publishedAt + timeoutMs,
        );
        const evidence = [
          `${options.url}: signed in, devices screen after ${session.signInMs} ms`,
          before === null
            ? `device ${options.deviceKey} showed no ${CANARY_METRIC} value before`
            : `device ${options.deviceKey} showed ${CANARY_METRIC} ${before} before`,
        ];
        if (seenAt === null) {
          const after = await session.shown(options.deviceKey, CANARY_METRIC).catch(() => null);
          return {
            status: 'fail',
            summary: `${CANARY_METRIC} ${text} not on screen within ${timeoutMs / 1000} s of its PUBACK`,
            metrics: { sign_in_ms: session.signInMs },
            evidence: [
              ...evidence,
              after === null
                ? `device ${options.deviceKey} is not in the user's device list (is the user a member of the canary device's tenant?) or shows no ${CANARY_METRIC}`
                : `it still shows ${after}`,
            ],
          };
        }
        const latency = seenAt - publishedAt;
        const slow = latency > warnMs;
        return {
          status: slow ? 'warn' : 'ok',
          summary: `on screen ${latency} ms after publish${slow ? ` (over ${warnMs} ms)` : ''}`,
          metrics: { latency_ms: latency, sign_in_ms: session.signInMs },
          evidence: [
            ...evidence,
            `published ${CANARY_METRIC} ${text} (reading ${id}), on screen ${latency} ms later`,
          ],
        };
      } finally {
        await source.close();
      }
    },
  };
}

/** The devices screen shows numbers with Intl.NumberFormat('en-US', at most 2 decimals): values under 1,000 have no grouping. */
function formatLikeDashboard(value: number): string {
  return new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 }).format(value);
}

/**
 * Where the environment's dashboard is and whom to sign in as. The sandbox: env.json's
 * `dashboard.url` (npm run dev serves it) and its user of the canary (probe) device's tenant, with
 * that user's password. Elsewhere: the environment YAML's `dashboard` (URL and the variables of the
 * canary user's e-mail and password). The browser: findChromium (CHROME_BIN, known paths).
 */
export function dashboardLiveTarget(target: OpsTarget): {
  url: string;
  noBrowser?: string;
  browser: () => DashboardBrowserSource;
} {
  let url: string;
  let credentials: () => { email: string; password: string };
  if (target.local) {
    const local = target.local;
    if (!local.dashboard)
      throw new NotConfiguredError('dashboard (npm run dev serves one; npm start does not)', target.name);
    url = local.dashboard.url;
    const user = local.users.find((u) => u.tenant === local.probe.tenant && u.password);
    if (!user)
      throw new NotConfiguredError(
        `dashboard user of the canary tenant "${local.probe.tenant}"`,
        target.name,
      );
    credentials = () => ({ email: user.email, password: user.password! });
  } else {
    const d = target.config.dashboard;
    if (!d) throw new NotConfiguredError('dashboard', target.name);
    url = d.url;
    credentials = () => ({
      email: target.secrets.read(d.canaryUserEnv),
      password: target.secrets.read(d.canaryPasswordEnv),
    });
  }
  const executablePath = findChromium(target.env);
  // Read now: a missing secret is the check's error at build time, as for every other check.
  const { email, password } = credentials();
  if (target.local) target.secrets.track(password);
  return {
    url,
    noBrowser: executablePath
      ? undefined
      : 'no Chrome or Chromium to drive: set CHROME_BIN to its executable, or install one (apt-get install chromium)',
    browser: () => createDashboardBrowserSource({ url, email, password, executablePath: executablePath! }),
  };
}
