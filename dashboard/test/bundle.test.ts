/**
 * The built dashboard: the initial JavaScript stays within the budget (150 kB gzipped, issue 10),
 * and nothing but the anon key reaches dist (no service_role key, JWT secret or database URL, even
 * when the building shell holds them). Each build goes to its own temporary directory.
 */
import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { issueApiKeyJwt, SUPABASE_LOCAL_JWT_SECRET } from '../../test/support/auth-standin.js';
import { buildDashboard, initialJs } from '../../scripts/lib/build-dashboard.js';
import { scanForSecrets } from './secret-scan.js';

const BUDGET_GZIP_BYTES = 150_000;

let work: string;
let plainDist: string;
let configuredDist: string;
const jwtSecret = randomBytes(32).toString('base64url');
let anonKey: string;
let serviceKey: string;
const databaseUrl = `postgres://postgres:${randomBytes(8).toString('hex')}@db.example.test:5432/postgres`;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'dashboard-bundle-'));
  anonKey = await issueApiKeyJwt('anon', jwtSecret);
  serviceKey = await issueApiKeyJwt('service_role', jwtSecret);
  plainDist = join(work, 'plain');
  configuredDist = join(work, 'configured');
  await buildDashboard(plainDist);
  // What a careless CI job could hold while building: every secret of the project in its environment.
  await buildDashboard(configuredDist, {
    VITE_SUPABASE_URL: 'https://project.supabase.example.test',
    VITE_SUPABASE_ANON_KEY: anonKey,
    VITE_SUPABASE_SERVICE_ROLE_KEY: serviceKey,
    SUPABASE_SERVICE_ROLE_KEY: serviceKey,
    SUPABASE_JWT_SECRET: jwtSecret,
    DATABASE_URL: databaseUrl,
  });
}, 240_000);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('bundle budget', () => {
  test('the initial JavaScript (entry chunk and its static imports) is at most 150 kB gzipped', async () => {
    const initial = await initialJs(configuredDist);
    console.log(
      `dashboard initial JS: ${initial.files.join(', ')}: ${initial.gzipBytes} bytes gzipped (level 9), ${initial.rawBytes} bytes raw; budget ${BUDGET_GZIP_BYTES}`,
    );
    expect(initial.files.length).toBeGreaterThan(0);
    expect(initial.gzipBytes).toBeLessThanOrEqual(BUDGET_GZIP_BYTES);
  });

  test('uPlot is loaded on demand (device detail), not with the first page', async () => {
    const initial = await initialJs(configuredDist);
    const initialText = (
      await Promise.all(initial.files.map((f) => readFile(join(configuredDist, f), 'utf8')))
    ).join('\n');
    // uPlot's own class names: present in the lazy chunk, absent from the initial JavaScript.
    expect(initialText).not.toContain('u-legend');
    const manifest = await readFile(join(configuredDist, '.vite/manifest.json'), 'utf8');
    expect(manifest).toMatch(/uPlot[^"]*\.js/);
  });

  test('index.html loads the entry chunk the budget measured', async () => {
    const html = await readFile(join(configuredDist, 'index.html'), 'utf8');
    const initial = await initialJs(configuredDist);
    expect(html).toContain(`src="./${initial.files[0]}"`);
  });
});

describe('only the anon key is in dist', () => {
  test('a build from a shell holding the service_role key, JWT secret and database URL ships none of them', async () => {
    const findings = await scanForSecrets(configuredDist, [jwtSecret, serviceKey, SUPABASE_LOCAL_JWT_SECRET]);
    expect(findings).toEqual([]);
    // The scan looked where the configuration went: the anon key and URL are in the bundle.
    const initial = await initialJs(configuredDist);
    const text = await readFile(join(configuredDist, initial.files[0]!), 'utf8');
    expect(text).toContain(anonKey);
    expect(text).toContain('https://project.supabase.example.test');
  });

  test('a build without configuration holds no key at all (it reads config.json at run time)', async () => {
    expect(await scanForSecrets(plainDist, [jwtSecret, serviceKey, SUPABASE_LOCAL_JWT_SECRET])).toEqual([]);
    const initial = await initialJs(plainDist);
    const text = await readFile(join(plainDist, initial.files[0]!), 'utf8');
    expect(text).not.toMatch(/eyJ[A-Za-z0-9_-]{5,}\.eyJ/);
    expect(text).toContain('config.json');
  });

  test('the scan finds a service_role key, the JWT secret and a database URL when they are there', async () => {
    const tainted = join(work, 'tainted');
    await cp(plainDist, tainted, { recursive: true });
    await writeFile(
      join(tainted, 'assets', 'leak.js'),
      `export const k=${JSON.stringify(serviceKey)};export const s=${JSON.stringify(jwtSecret)};export const d=${JSON.stringify(databaseUrl)};`,
    );
    const findings = await scanForSecrets(tainted, [jwtSecret]);
    expect(findings.map((f) => f.what).sort()).toEqual([
      'a JWT with role "service_role"',
      'a database URL (postgres://pos…)',
      'a secret string (JWT secret or key)',
    ]);
    expect(new Set(findings.map((f) => f.file))).toEqual(new Set([join('assets', 'leak.js')]));
  });

  test('the build refuses a service_role key given as the anon key', async () => {
    await expect(
      buildDashboard(join(work, 'refused'), {
        VITE_SUPABASE_URL: 'https://project.supabase.example.test',
        VITE_SUPABASE_ANON_KEY: serviceKey,
      }),
    ).rejects.toThrow(/only the anon key may be given to the dashboard/);
  });
});
