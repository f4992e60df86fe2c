/**
 * The dashboard in headless Chromium (Debian's, driven by playwright-core) against the real sandbox
 * (scripts/sandbox/platform.ts with `dashboard: true`, as `npm run dev` runs it): values reach the
 * database the way a device's do, published over MQTT to the broker, through the bridge and ingest.
 * Signs in with env.json's users; devices and a live value; the detail chart, its ranges and the CSV
 * export; an alert tripped over MQTT and acknowledged; usage vs plan; the maintenance banner; tenant
 * isolation in the UI and through the data API with the user's own token; sign-out. Screenshots of
 * each screen go to reports/dashboard-screens/ (git-ignored).
 */
import { CHROMIUM_ARGS } from '../../ops/sources/dashboard-browser.js';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createClient } from '@supabase/supabase-js';
import type { MqttClient } from 'mqtt';
import { chromium, type Browser, type BrowserContext, type Page, type Route } from 'playwright-core';
import type { LocalEnv } from '../../common/local-env.js';
import { setMaintenance } from '../../common/provisioning.js';
import { DASHBOARD } from '../../scripts/lib/build-dashboard.js';
import { closeAllClients, connectClient } from '../../test/support/mqtt-test-client.js';
import { startTestSandbox, type TestSandbox } from '../../test/support/sandbox.js';

const CHROMIUM = '/usr/bin/chromium';
const SCREENS = join(DASHBOARD, '..', 'reports', 'dashboard-screens');
/** Bounded waits for what the page shows; generous for a busy 2-core machine. */
const WAIT_MS = 20_000;
const HOUR = 3_600_000;

let sandbox: TestSandbox;
let env: LocalEnv;
let browser: Browser;
const devices = new Map<string, MqttClient>();

const seeded = () => sandbox.platform.seed;
const user = (email: string) => {
  const found = env.users.find((u) => u.email === email);
  if (!found?.password) throw new Error(`env.json has no password for ${email}`);
  return { ...found, password: found.password };
};
const device = (key: string) => seeded().devices.find((d) => d.deviceId === key)!;
const tenantId = (slug: string) => seeded().tenants.find((t) => t.slug === slug)!.id;
const screenshot = (page: Page, name: string) =>
  page.screenshot({ path: join(SCREENS, `${name}.png`), fullPage: true });

/** Publishes a reading as the device does: over MQTT (TLS on the device listener), QoS 1. */
async function publish(deviceKey: string, ts: number, metrics: Record<string, number>): Promise<void> {
  const d = env.devices.find((x) => x.deviceId === deviceKey)!;
  let client = devices.get(deviceKey);
  if (!client) {
    client = await connectClient(env.mqtt.deviceUrl, {
      username: d.username,
      password: d.password,
      protocolVersion: sandbox.platform.broker.protocolVersion,
      ...(env.mqtt.ca ? { ca: env.mqtt.ca } : {}),
    });
    devices.set(deviceKey, client);
  }
  await client.publishAsync(d.topic, JSON.stringify({ ts, metrics }), { qos: 1 });
}

async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs = WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits until ingest has stored the reading of `deviceKey` at `ts` (through broker, bridge, ingest). */
async function stored(deviceKey: string, ts: number): Promise<void> {
  await waitUntil(
    `the reading of ${deviceKey} at ${new Date(ts).toISOString()} in the database`,
    async () => {
      const { rowCount } = await sandbox.platform.pool.query(
        `select 1 from public.telemetry where device_id = $1 and ts = $2`,
        [device(deviceKey).dbId, new Date(ts)],
      );
      return rowCount === 1;
    },
  );
}

async function newPage(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ locale: 'en-US', acceptDownloads: true });
  return { context, page: await context.newPage() };
}

async function signIn(page: Page, email: string): Promise<void> {
  await page.goto(env.dashboard!.url);
  await page.getByLabel('E-mail').fill(email);
  await page.getByLabel('Password').fill(user(email).password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Devices' }).waitFor({ timeout: WAIT_MS });
}

/** The access token supabase-js keeps for the page (localStorage `sb-<ref>-auth-token`). */
async function pageAccessToken(page: Page): Promise<string> {
  const token = await page.evaluate(() => {
    for (let i = 0; i < localStorage.length; i++) {
      const key = localStorage.key(i)!;
      if (/^sb-.*-auth-token$/.test(key))
        return (JSON.parse(localStorage.getItem(key)!) as { access_token: string }).access_token;
    }
    return null;
  });
  if (!token) throw new Error('no supabase session in the page’s localStorage');
  return token;
}

/** A data API request as PostgREST gets it from supabase-js: the anon key plus the user's token. */
async function dataApi(
  token: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: unknown }> {
  const response = await fetch(`${env.supabase!.url}/rest/v1/${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: {
      apikey: env.supabase!.anonKey,
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : null };
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`);
  sandbox = await startTestSandbox('dashboard-sandbox', { dashboard: true });
  env = sandbox.platform.env;
  if (!env.dashboard || !env.supabase) throw new Error('the sandbox did not serve the dashboard');
  await mkdir(SCREENS, { recursive: true });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS],
  });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await closeAllClients();
  await sandbox?.stop();
}, 60_000);

test('an owner signs in, sees their devices, and a value published over MQTT appears live', async () => {
  await publish('acme-sensor-1', Date.now(), { temperature: 21.5, humidity: 40 });
  const { context, page } = await newPage();
  await page.goto(env.dashboard!.url);
  await page.getByRole('button', { name: 'Sign in' }).waitFor({ timeout: WAIT_MS });
  await screenshot(page, 'signin');
  const started = Date.now();
  await signIn(page, 'owner@acme.test');
  const rows = page.locator('tr[data-device-key]');
  await rows.first().waitFor({ timeout: WAIT_MS });
  console.log(`dashboard (sandbox): signed in, device list shown ${Date.now() - started} ms after submit`);
  expect(await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-device-key')))).toEqual([
    'acme-sensor-1',
    'acme-sensor-2',
    'acme-sensor-3',
  ]);
  const sensor1 = page.locator('tr[data-device-key="acme-sensor-1"]');
  await sensor1.locator('[data-metric="temperature"] b', { hasText: '21.5' }).waitFor({ timeout: WAIT_MS });
  expect(await sensor1.locator('.badge').textContent()).toBe('online');

  // Published now, over MQTT: broker, bridge, ingest, database, the next poll of the open page.
  const published = Date.now();
  await publish('acme-sensor-1', published, { temperature: 23.75, humidity: 41 });
  await sensor1.locator('[data-metric="temperature"] b', { hasText: '23.75' }).waitFor({ timeout: WAIT_MS });
  const latency = Date.now() - published;
  console.log(`dashboard (sandbox): MQTT publish to value on screen ${latency} ms (target < 5000 ms)`);
  expect(await sensor1.locator('[data-metric="humidity"] b').textContent()).toBe('41');
  await screenshot(page, 'devices');
  await context.close();
});

test('device detail: the chart draws, ranges switch between raw and hourly, CSV export has the shown rows', async () => {
  const key = 'acme-sensor-3';
  const now = Date.now();
  // Oldest first: within 1 h three, within 24 h four, within 7 d five (the hourly rollup).
  const readings = [
    { ts: now - 3 * 24 * HOUR, temperature: 18 },
    { ts: now - 5 * HOUR, temperature: 19.5 },
    { ts: now - 40 * 60_000, temperature: 21 },
    { ts: now - 20 * 60_000, temperature: 24.25 },
    { ts: now - 60_000, temperature: 22 },
  ];
  for (const r of readings) await publish(key, r.ts, { temperature: r.temperature, humidity: 50 });
  for (const r of readings) await stored(key, r.ts);
  const hours = new Set(readings.map((r) => Math.floor(r.ts / HOUR))).size;

  const { context, page } = await newPage();
  await signIn(page, 'owner@acme.test');
  await page.locator('tr[data-device-key="acme-sensor-3"] a').click();
  await page.getByRole('heading', { name: key }).waitFor({ timeout: WAIT_MS });
  await page.getByLabel('Metric').selectOption('temperature');
  await page.getByText('raw readings · 3 points').waitFor({ timeout: WAIT_MS });

  // Not blank: uPlot's canvas has pixels of the series' stroke (#2563eb), not only the axes.
  const drawn = () =>
    page.locator('.chart canvas').evaluate((element) => {
      // The test's TypeScript has no DOM library: the canvas, typed by what is used of it.
      const canvas = element as unknown as {
        width: number;
        height: number;
        getContext(
          type: '2d',
        ): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } | null;
      };
      const ctx = canvas.getContext('2d');
      if (!ctx || canvas.width === 0) return { painted: 0, line: 0 };
      const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
      let painted = 0;
      let line = 0;
      for (let i = 0; i < data.length; i += 4) {
        if (data[i + 3]! === 0) continue;
        painted++;
        if (Math.abs(data[i]! - 37) < 48 && Math.abs(data[i + 1]! - 99) < 48 && data[i + 2]! > 180) line++;
      }
      return { painted, line };
    });
  await waitUntil('the series line on the chart canvas', async () => (await drawn()).line > 0);
  const pixels = await drawn();
  console.log(
    `dashboard (sandbox): chart canvas ${pixels.painted} painted pixels, ${pixels.line} of the line`,
  );
  expect(pixels.line).toBeGreaterThan(0);
  expect(await page.locator('.chart').getAttribute('data-points')).toBe('3');
  await screenshot(page, 'device-detail-1h');

  await page.getByRole('button', { name: '24 h' }).click();
  await page.getByText('raw readings · 4 points').waitFor({ timeout: WAIT_MS });
  expect(await page.getByRole('button', { name: '24 h' }).getAttribute('aria-pressed')).toBe('true');
  expect(await page.locator('.chart').getAttribute('data-points')).toBe('4');

  // CSV export of the shown range: every raw reading of the 24 h window, as shown.
  const [download] = await Promise.all([
    page.waitForEvent('download', { timeout: WAIT_MS }),
    page.getByRole('button', { name: 'Export CSV' }).click(),
  ]);
  expect(download.suggestedFilename()).toMatch(
    /^acme-sensor-3_temperature_24h_\d{4}-\d{2}-\d{2}T\d{6}Z\.csv$/,
  );
  const csv = (await readFile((await download.path())!, 'utf8')).trimEnd().split('\r\n');
  expect(csv[0]).toBe('time,device,metric,value,min,max,samples,resolution');
  expect(csv.slice(1)).toEqual(
    readings
      .slice(1)
      .map(
        (r) =>
          `${new Date(r.ts).toISOString()},${key},temperature,${r.temperature},${r.temperature},${r.temperature},1,raw`,
      ),
  );

  // 7 d reads the hourly rollup. The switch is held in the network until the page has been looked
  // at: the old range's points must not be shown under the new range's label meanwhile.
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  let holding!: () => void;
  const isHolding = new Promise<void>((r) => (holding = r));
  await page.route('**/rest/v1/rpc/device_series', async (route: Route) => {
    const args = route.request().postDataJSON() as { p_from: string; p_to: string };
    if (Date.parse(args.p_to) - Date.parse(args.p_from) > 24 * HOUR) {
      holding();
      await held;
    }
    await route.continue();
  });
  await page.getByRole('button', { name: '7 d' }).click();
  await isHolding;
  expect(await page.getByText(/hourly means/).count()).toBe(0);
  release();
  await page.getByText(`hourly means · ${hours} points`).waitFor({ timeout: WAIT_MS });
  await page.unroute('**/rest/v1/rpc/device_series');
  expect(await page.locator('.chart').getAttribute('data-points')).toBe(String(hours));
  await screenshot(page, 'device-detail-7d');
  await context.close();
});

test('an alert tripped over MQTT is acknowledged, and stays acknowledged after a reload', async () => {
  // The seed's rule "Cold room too warm": acme's temperature > 30 fires at once (for_seconds 0).
  const { pool } = sandbox.platform;
  const since = new Date(Date.now() - 1_000);
  await publish('acme-sensor-2', Date.now(), { temperature: 31.5, humidity: 45 });
  let alertId = '';
  await waitUntil('the alert of acme-sensor-2', async () => {
    const { rows } = await pool.query<{ id: string }>(
      `select a.id from public.alerts a join public.alert_rules r on r.id = a.rule_id
        where a.device_id = $1 and r.name = 'Cold room too warm' and a.fired_at >= $2`,
      [device('acme-sensor-2').dbId, since],
    );
    alertId = rows[0]?.id ?? '';
    return alertId !== '';
  });

  const { context, page } = await newPage();
  await signIn(page, 'owner@acme.test');
  await page.getByRole('link', { name: 'Alerts' }).click();
  const item = page.locator(`[data-alert-id="${alertId}"]`);
  await item.waitFor({ timeout: WAIT_MS });
  expect(await item.textContent()).toContain('Cold room too warm');
  await screenshot(page, 'alerts-open');

  // A poll of the Open tab that answers after a switch to another tab must not fill that tab. The
  // next Open poll is held in the network, the tab switched, then the answer let through.
  const openPolls = /\/rest\/v1\/dashboard_alerts\?.*state=eq\.open/;
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let holding!: () => void;
  const isHolding = new Promise<void>((r) => (holding = r));
  const hold = async (route: Route) => {
    holding();
    await released;
    await route.continue();
  };
  await page.route(openPolls, hold);
  await isHolding;
  await page.getByRole('tab', { name: 'Acknowledged' }).click();
  await page.getByText('No acknowledged alerts.').waitFor({ timeout: WAIT_MS });
  const answered = page.waitForEvent('requestfinished', {
    predicate: (request) => openPolls.test(request.url()),
    timeout: WAIT_MS,
  });
  release();
  await answered;
  await page.unroute(openPolls, hold);
  // Time for the page to have handled the late answer (a wrong list would stay until the next poll).
  await page.waitForTimeout(1_000);
  expect(await item.count()).toBe(0);
  expect(await page.getByText('No acknowledged alerts.').count()).toBe(1);

  await page.getByRole('tab', { name: 'Open' }).click();
  await item.getByRole('button', { name: 'Acknowledge' }).click();
  await item.waitFor({ state: 'detached', timeout: WAIT_MS }); // it leaves the Open tab

  await page.reload();
  await page.getByRole('heading', { name: 'Alerts' }).waitFor({ timeout: WAIT_MS });
  await page.getByText('No open alerts.').waitFor({ timeout: WAIT_MS });
  await page.getByRole('tab', { name: 'Acknowledged' }).click();
  await item.filter({ hasText: 'Acknowledged by owner@acme.test' }).waitFor({ timeout: WAIT_MS });
  await screenshot(page, 'alerts-acknowledged');
  const { rows } = await pool.query<{ acknowledged_by: string; acknowledged_at: Date | null }>(
    `select acknowledged_by, acknowledged_at from public.alerts where id = $1`,
    [alertId],
  );
  expect(rows[0]!.acknowledged_by).toBe(user('owner@acme.test').userId);
  expect(rows[0]!.acknowledged_at).toBeInstanceOf(Date);
  await context.close();
});

test('the usage screen shows devices and messages today against the plan', async () => {
  const { rows } = await sandbox.platform.pool.query<{
    plan_name: string;
    devices: string;
    max_devices: number;
    messages_today: string;
    max_messages_per_day: string;
  }>(`select * from public.dashboard_usage where tenant_id = $1`, [tenantId('acme')]);
  const usage = rows[0]!;
  // The earlier tests' readings of acme (2 + 5 + 1), counted by ingest by time of receipt.
  expect(Number(usage.messages_today)).toBe(8);
  const n = (v: number | string) => new Intl.NumberFormat('en-GB').format(Number(v));

  const { context, page } = await newPage();
  await signIn(page, 'owner@acme.test');
  await page.getByRole('link', { name: 'Usage' }).click();
  await page.getByRole('heading', { name: 'Usage vs plan' }).waitFor({ timeout: WAIT_MS });
  const text = (await page.locator('main').textContent())!;
  expect(text).toContain(`Plan: ${usage.plan_name}`);
  expect(text).toContain(`Active devices${n(usage.devices)} of ${n(usage.max_devices)}`);
  expect(text).toContain(`Messages today (UTC)${n(8)} of ${n(usage.max_messages_per_day)}`);
  expect(text).toContain('3 of 5');
  expect(text).toContain('8 of 50,000');
  await screenshot(page, 'usage');
  await context.close();
});

test('the maintenance banner appears while the broker-down playbook’s flag is on, and goes when cleared', async () => {
  const { pool } = sandbox.platform;
  const { context, page } = await newPage();
  await signIn(page, 'owner@acme.test');
  const banner = page.getByTestId('maintenance-banner');
  expect(await banner.count()).toBe(0);
  try {
    // What `ops playbook broker-down --maintenance on --incident 7 --apply` writes.
    const set = Date.now();
    await setMaintenance(pool, { enabled: true, reason: 'broker-down playbook (incident #7)' });
    await banner.waitFor({ timeout: WAIT_MS });
    console.log(
      `dashboard (sandbox): maintenance banner shown ${Date.now() - set} ms after the flag was set`,
    );
    expect(await banner.textContent()).toContain(
      'The platform is in maintenance: broker-down playbook (incident #7).',
    );
    await screenshot(page, 'maintenance-banner');
  } finally {
    await setMaintenance(pool, { enabled: false });
  }
  await banner.waitFor({ state: 'detached', timeout: WAIT_MS });
  await context.close();
});

test('a user of tenant A sees none of tenant B, in the UI or by id through the data API', async () => {
  const { pool } = sandbox.platform;
  const bDevice = device('globex-sensor-1');
  const ts = Date.now();
  await publish('globex-sensor-1', ts, { humidity: 70 });
  await stored('globex-sensor-1', ts);
  const rule = await pool.query<{ id: string }>(`select id from public.alert_rules where tenant_id = $1`, [
    tenantId('globex'),
  ]);
  const bAlert = await pool.query<{ id: string }>(
    `insert into public.alerts (tenant_id, rule_id, device_id, severity, value, message)
     values ($1, $2, $3, 'warning', 90, 'humidity 90 > 85') returning id`,
    [tenantId('globex'), rule.rows[0]!.id, bDevice.dbId],
  );
  const bAlertId = bAlert.rows[0]!.id;
  const bIds = [
    tenantId('globex'),
    bDevice.dbId,
    bAlertId,
    ...seeded()
      .devices.filter((d) => d.tenant === 'globex')
      .map((d) => d.dbId),
  ];

  const { context, page } = await newPage();
  await signIn(page, 'owner@acme.test');
  await page.locator('tr[data-device-key]').first().waitFor({ timeout: WAIT_MS });
  const seen: string[] = [await page.content()];
  expect(await page.locator('header select option').allTextContents()).toEqual(['Acme Cold Chain (owner)']);
  await page.getByRole('link', { name: 'Alerts' }).click();
  for (const tab of ['Open', 'Acknowledged', 'Resolved']) {
    await page.getByRole('tab', { name: tab }).click();
    await page.locator('ul.alerts, p.empty').first().waitFor({ timeout: WAIT_MS });
    seen.push(await page.content());
  }
  await page.getByRole('link', { name: 'Usage' }).click();
  await page.getByRole('heading', { name: 'Usage vs plan' }).waitFor({ timeout: WAIT_MS });
  seen.push(await page.content());
  // B's device by its URL: not found, the same as a device that does not exist.
  await page.goto(`${env.dashboard!.url}#/device/${bDevice.dbId}`);
  await page
    .getByText('This device does not exist or belongs to another tenant.')
    .waitFor({ timeout: WAIT_MS });
  await screenshot(page, 'isolation-other-tenants-device');
  seen.push((await page.content()).replace(`#/device/${bDevice.dbId}`, ''));
  for (const html of seen) {
    expect(html.toLowerCase()).not.toContain('globex');
    for (const id of bIds) expect(html).not.toContain(id);
  }

  // With A's own access token, B's rows asked for by id: nothing. B's token gets them (the control).
  const aToken = await pageAccessToken(page);
  const b = createClient(env.supabase!.url, env.supabase!.anonKey, { auth: { persistSession: false } });
  const signedIn = await b.auth.signInWithPassword({
    email: 'owner@globex.test',
    password: user('owner@globex.test').password,
  });
  expect(signedIn.error).toBeNull();
  const bToken = signedIn.data.session!.access_token;
  const series = {
    p_device_id: bDevice.dbId,
    p_metric: 'humidity',
    p_from: new Date(ts - HOUR).toISOString(),
    p_to: new Date(ts + 60_000).toISOString(),
  };
  const requests: [string, unknown?][] = [
    [`dashboard_devices?select=id,device_key,latest_metrics&id=eq.${bDevice.dbId}`],
    [`dashboard_alerts?select=id,message&id=eq.${bAlertId}`],
    [`dashboard_usage?select=tenant_id,messages_today&tenant_id=eq.${tenantId('globex')}`],
    [`rpc/device_series`, series],
  ];
  for (const [path, body] of requests) {
    const asB = await dataApi(bToken, path, body);
    expect({ path, status: asB.status }).toEqual({ path, status: 200 });
    expect((asB.json as unknown[]).length).toBeGreaterThan(0);
    const asA = await dataApi(aToken, path, body);
    expect({ path, status: asA.status, json: asA.json }).toEqual({ path, status: 200, json: [] });
  }
  // Acknowledging B's alert with A's token: refused as if it did not exist, and nothing changes.
  const ack = await dataApi(aToken, 'rpc/acknowledge_alert', { p_alert_id: bAlertId });
  expect(ack.status).toBe(403);
  expect((ack.json as { code: string }).code).toBe('42501');
  const untouched = await pool.query(`select acknowledged_at from public.alerts where id = $1`, [bAlertId]);
  expect(untouched.rows[0].acknowledged_at).toBeNull();
  await b.auth.signOut();
  await context.close();
});

test('sign-out returns to the sign-in screen, and a reload stays signed out', async () => {
  const { context, page } = await newPage();
  await signIn(page, 'owner@acme.test');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('button', { name: 'Sign in' }).waitFor({ timeout: WAIT_MS });
  await page.reload();
  await page.getByRole('button', { name: 'Sign in' }).waitFor({ timeout: WAIT_MS });
  expect(await page.getByRole('heading', { name: 'Devices' }).count()).toBe(0);
  expect(
    await page.evaluate(() => Object.keys(localStorage).filter((k) => /^sb-.*-auth-token$/.test(k))),
  ).toEqual([]);
  await screenshot(page, 'signed-out');
  await context.close();
});
