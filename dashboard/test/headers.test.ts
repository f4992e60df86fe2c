/**
 * The Cloudflare Pages headers of the dashboard: the build writes dist/_headers with a strict CSP
 * whose connect-src is 'self' plus exactly the configured Supabase origin, and the security headers
 * beside it; dist has no rule Pages would reject in _redirects and no 404.html (so Pages' own SPA
 * fallback serves index.html). Then the built app, served with those headers applied, signs in
 * through the Supabase stand-in in headless Chromium with no CSP violation; served with a CSP that
 * leaves the stand-in out, the same sign-in is refused (the check can fail).
 */
import { CHROMIUM_ARGS } from '../../ops/sources/dashboard-browser.js';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile, cp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { chromium, type Browser } from 'playwright-core';
import { buildDashboard } from '../../scripts/lib/build-dashboard.js';
import { parsePagesHeaders, serveDist } from '../../scripts/sandbox/dashboard-server.js';
import { seedSandbox, type SeedResult } from '../../scripts/sandbox/seed.js';
import { startSupabaseStandin, type SupabaseStandin } from '../../scripts/sandbox/supabase-standin.js';
import { createTestDatabase, type TestDatabase } from '../../test/support/database.js';

const CHROMIUM = '/usr/bin/chromium';
const WAIT_MS = 20_000;

let db: TestDatabase;
let pool: pg.Pool;
let seed: SeedResult;
let standin: SupabaseStandin;
let work: string;
let browser: Browser;
const jwtSecret = randomBytes(32).toString('base64url');

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`);
  db = await createTestDatabase('dashboard_headers');
  pool = new pg.Pool({ connectionString: db.url, max: 4 });
  seed = await seedSandbox(pool, { jwtSecret, webhookUrl: 'http://127.0.0.1:9/hook', now: Date.now() });
  standin = await startSupabaseStandin({ pool, jwtSecret });
  work = await mkdtemp(join(tmpdir(), 'dashboard-headers-'));
  await buildDashboard(join(work, 'dist'), {
    VITE_SUPABASE_URL: standin.url,
    VITE_SUPABASE_ANON_KEY: standin.anonKey,
  });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS],
  });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await standin?.close();
  await pool?.end();
  await db?.drop();
  if (work) await rm(work, { recursive: true, force: true });
});

function csp(headers: string): Map<string, string[]> {
  const all = parsePagesHeaders(headers).find((r) => r.pattern.test('/'))!.headers;
  const value = all.find(([n]) => n === 'Content-Security-Policy')![1];
  return new Map(
    value.split(';').map((d) => {
      const [name, ...sources] = d.trim().split(/\s+/);
      return [name!, sources];
    }),
  );
}

test('dist/_headers: a strict CSP naming exactly the Supabase origin, and the security headers', async () => {
  const dist = join(work, 'dist');
  const text = await readFile(join(dist, '_headers'), 'utf8');
  const policy = csp(text);
  expect(policy.get('connect-src')).toEqual(["'self'", new URL(standin.url).origin]);
  expect(policy.get('script-src')).toEqual(["'self'"]);
  expect(policy.get('style-src')).toEqual(["'self'"]);
  expect(policy.get('default-src')).toEqual(["'none'"]);
  expect(policy.get('frame-ancestors')).toEqual(["'none'"]);
  expect(policy.get('object-src')).toEqual(["'none'"]);
  expect(policy.get('base-uri')).toEqual(["'none'"]);
  expect(text).not.toMatch(/unsafe-|__SUPABASE_ORIGIN__/);
  const root = new Map(parsePagesHeaders(text).find((r) => r.pattern.test('/'))!.headers);
  expect(root.get('Strict-Transport-Security')).toMatch(/^max-age=\d{8,}; includeSubDomains$/);
  expect(root.get('X-Frame-Options')).toBe('DENY');
  expect(root.get('X-Content-Type-Options')).toBe('nosniff');
  expect(root.get('Referrer-Policy')).toBe('no-referrer');
  expect(root.get('Permissions-Policy')).toContain('camera=()');
  // Hashed assets are immutable; index.html is not.
  const assets = parsePagesHeaders(text).filter((r) => r.pattern.test('/assets/index-abc.js'));
  expect(assets.flatMap((r) => r.headers).find(([n]) => n === 'Cache-Control')?.[1]).toContain('immutable');
  expect(
    parsePagesHeaders(text).some(
      (r) => r.pattern.test('/index.html') && r.headers.some(([n]) => n === 'Cache-Control'),
    ),
  ).toBe(false);

  // No active redirect rule (Pages rejects `/* /index.html 200`), no 404.html (Pages' SPA fallback).
  const redirects = await readFile(join(dist, '_redirects'), 'utf8');
  expect(redirects.split('\n').filter((l) => l.trim() && !l.trim().startsWith('#'))).toEqual([]);
  expect(existsSync(join(dist, '404.html'))).toBe(false);
  // No inline script for script-src 'self' to refuse.
  const html = await readFile(join(dist, 'index.html'), 'utf8');
  expect([...html.matchAll(/<script\b[^>]*>/g)].every((m) => / src="/.test(m[0]))).toBe(true);
});

test('without a Supabase URL (a config.json build) connect-src is only self', async () => {
  const other = join(work, 'plain');
  await buildDashboard(other);
  expect(csp(await readFile(join(other, '_headers'), 'utf8')).get('connect-src')).toEqual(["'self'"]);
}, 120_000);

async function signInWithHeaders(
  distDir: string,
): Promise<{ refused: string[]; signedIn: boolean; csp: string | null }> {
  const site = await serveDist(distDir, undefined, { pagesHeaders: true });
  const context = await browser.newContext();
  const page = await context.newPage();
  const refused: string[] = [];
  page.on('console', (m) => {
    if (m.text().includes('Refused to')) refused.push(m.text());
  });
  try {
    const response = await page.goto(site.url);
    const user = seed.users.find((u) => u.email === 'viewer@acme.test')!;
    await page.getByLabel('E-mail').fill(user.email);
    await page.getByLabel('Password').fill(user.password!);
    await page.getByRole('button', { name: 'Sign in' }).click();
    const signedIn = await page
      .getByRole('heading', { name: 'Devices' })
      .waitFor({ timeout: refused.length ? 1 : WAIT_MS })
      .then(() => true)
      .catch(() => false);
    return { refused, signedIn, csp: (await response!.allHeaders())['content-security-policy'] ?? null };
  } finally {
    await context.close();
    await site.close();
  }
}

test('served with its headers, the app signs in through Supabase with no CSP violation', async () => {
  const r = await signInWithHeaders(join(work, 'dist'));
  expect(r.csp).toContain(`connect-src 'self' ${new URL(standin.url).origin};`);
  expect(r.refused).toEqual([]);
  expect(r.signedIn).toBe(true);
}, 90_000);

test('served with a CSP that leaves Supabase out, the browser refuses the sign-in', async () => {
  const copy = join(work, 'wrong-origin');
  await cp(join(work, 'dist'), copy, { recursive: true });
  const headers = await readFile(join(copy, '_headers'), 'utf8');
  await writeFile(
    join(copy, '_headers'),
    headers.split(new URL(standin.url).origin).join('https://elsewhere.supabase.co'),
  );
  const r = await signInWithHeaders(copy);
  expect(r.refused.some((m) => m.includes('Refused to connect'))).toBe(true);
  expect(r.signedIn).toBe(false);
}, 90_000);
