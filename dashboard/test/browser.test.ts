/**
 * The built dashboard in headless Chromium (Debian's, driven by playwright-core) against the local
 * Supabase stand-in on a migrated, seeded database: a viewer's acknowledgement is refused with a
 * clear message and nothing is recorded; an Indonesian browser gets Indonesian. Screenshots go to
 * reports/dashboard-screens/. The rest (sign-in, live values over MQTT, chart, alerts, usage,
 * maintenance, tenant isolation, sign-out) runs against the whole sandbox in browser-sandbox.test.ts.
 */
import { CHROMIUM_ARGS } from '../../ops/sources/dashboard-browser.js';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { chromium, type Browser, type Page } from 'playwright-core';
import { seedSandbox, type SeedResult } from '../../scripts/sandbox/seed.js';
import { startSupabaseStandin, type SupabaseStandin } from '../../scripts/sandbox/supabase-standin.js';
import { createTestDatabase, type TestDatabase } from '../../test/support/database.js';
import { buildDashboard, DASHBOARD } from '../../scripts/lib/build-dashboard.js';
import { serveDist, type DistServer } from '../../scripts/sandbox/dashboard-server.js';

const CHROMIUM = '/usr/bin/chromium';
const SCREENS = join(DASHBOARD, '..', 'reports', 'dashboard-screens');
/** Bounded waits for what the page shows; generous for a busy 2-core machine. */
const WAIT_MS = 20_000;

let db: TestDatabase;
let pool: pg.Pool;
let seed: SeedResult;
let standin: SupabaseStandin;
let work: string;
let site: DistServer;
let browser: Browser;
const jwtSecret = randomBytes(32).toString('base64url');

const user = (email: string) => seed.users.find((u) => u.email === email)!;
const tenantId = (slug: string) => seed.tenants.find((t) => t.slug === slug)!.id;

async function signIn(page: Page, email: string): Promise<void> {
  await page.goto(site.url);
  await page.getByLabel('E-mail').fill(email);
  await page.getByLabel('Password').fill(user(email).password!);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Devices' }).waitFor({ timeout: WAIT_MS });
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`);
  db = await createTestDatabase('dashboard_browser');
  pool = new pg.Pool({ connectionString: db.url, max: 6 });
  seed = await seedSandbox(pool, { jwtSecret, webhookUrl: 'http://127.0.0.1:9/hook', now: Date.now() });
  standin = await startSupabaseStandin({ pool, jwtSecret });
  work = await mkdtemp(join(tmpdir(), 'dashboard-browser-'));
  // Built without configuration: config.json served next to index.html points it at the stand-in.
  await buildDashboard(join(work, 'dist'));
  site = await serveDist(join(work, 'dist'), { supabaseUrl: standin.url, supabaseAnonKey: standin.anonKey });
  await mkdir(SCREENS, { recursive: true });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS],
  });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await site?.close();
  await standin?.close();
  await pool?.end();
  await db?.drop();
  if (work) await rm(work, { recursive: true, force: true });
});

test('a viewer cannot acknowledge: told why, and nothing is recorded', async () => {
  const device = seed.devices.find((d) => d.deviceId === 'acme-sensor-2')!;
  const rule = await pool.query<{ id: string }>(
    `select id from public.alert_rules where tenant_id = $1 limit 1`,
    [tenantId('acme')],
  );
  const alert = await pool.query<{ id: string }>(
    `insert into public.alerts (tenant_id, rule_id, device_id, severity, value, message)
     values ($1, $2, $3, 'critical', 31.5, 'temperature 31.5 > 30') returning id`,
    [tenantId('acme'), rule.rows[0]!.id, device.dbId],
  );
  const alertId = alert.rows[0]!.id;

  const viewer = await browser.newContext({ locale: 'en-US' });
  const vpage = await viewer.newPage();
  await signIn(vpage, 'viewer@acme.test');
  await vpage.getByRole('link', { name: 'Alerts' }).click();
  const item = vpage.locator(`[data-alert-id="${alertId}"]`);
  await item.getByRole('button', { name: 'Acknowledge' }).click();
  await vpage.getByTestId('ack-error').waitFor({ timeout: WAIT_MS });
  expect(await vpage.getByTestId('ack-error').textContent()).toMatch(
    /Only owners and admins can acknowledge/,
  );
  await vpage.screenshot({ path: join(SCREENS, 'alerts-viewer-refused.png'), fullPage: true });
  await viewer.close();
  const untouched = await pool.query(`select acknowledged_at from public.alerts where id = $1`, [alertId]);
  expect(untouched.rows[0].acknowledged_at).toBeNull();
});

test('Indonesian browsers get the Indonesian dashboard', async () => {
  const context = await browser.newContext({ locale: 'id-ID' });
  const page = await context.newPage();
  await page.goto(site.url);
  await page.getByRole('button', { name: 'Masuk' }).waitFor({ timeout: WAIT_MS });
  expect(await page.getAttribute('html', 'lang')).toBe('id');
  await context.close();
});
