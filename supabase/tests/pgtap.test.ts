/**
 * Runs the pgTAP tests (supabase/tests/*.sql) with pg_prove against a fresh database with every
 * migration applied by `supabase db push`, as the deploy applies them.
 *
 * Needs pg_prove and the pgTAP extension. In CI (CI=true) their absence fails the test; on a
 * laptop without them the test is skipped and says why.
 */
import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { ADMIN_URL, createTestDatabase, type TestDatabase } from '../../test/support/database.js';

const run = promisify(execFile);
const TESTS_DIR = dirname(fileURLToPath(import.meta.url));
const INSTALL_HINT = 'apt-get install postgresql-15-pgtap libtap-parser-sourcehandler-pgtap-perl';
const IN_CI = process.env.CI === 'true';

/** Why pgTAP cannot run here, or null when it can. */
async function missingPrerequisite(): Promise<string | null> {
  try {
    await run('pg_prove', ['--version'], { timeout: 10_000 });
  } catch {
    return `pg_prove is not installed (${INSTALL_HINT})`;
  }
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  try {
    await admin.connect();
    const res = await admin.query(`select 1 from pg_available_extensions where name = 'pgtap'`);
    if (res.rowCount === 0) return `the pgtap extension is not installed in PostgreSQL (${INSTALL_HINT})`;
  } finally {
    await admin.end().catch(() => undefined);
  }
  return null;
}

const missing = await missingPrerequisite();
if (missing && !IN_CI) console.warn(`Skipping pgTAP tests: ${missing}`);

describe('pgTAP (supabase/tests/*.sql via pg_prove)', () => {
  let db: TestDatabase | undefined;

  afterAll(async () => {
    await db?.drop();
  });

  const runsHere = missing === null || IN_CI;
  (runsHere ? test : test.skip)(
    runsHere ? 'every pgTAP test passes' : `every pgTAP test passes (skipped: ${missing})`,
    async () => {
      if (missing) throw new Error(`pgTAP cannot run in CI: ${missing}`);

      db = await createTestDatabase('pgtap');
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      try {
        // In the test database only, never in a migration. Schema extensions, as on Supabase.
        await client.query('create extension if not exists pgtap with schema extensions');
      } finally {
        await client.end();
      }

      const files = (await readdir(TESTS_DIR)).filter((f) => f.endsWith('.sql')).sort();
      expect(files.length).toBeGreaterThan(0);

      let output: string;
      let failed = false;
      try {
        const res = await run('pg_prove', ['--verbose', '--dbname', db.url, ...files], {
          cwd: TESTS_DIR,
          timeout: 120_000,
          maxBuffer: 64 * 1024 * 1024,
        });
        output = res.stdout + res.stderr;
      } catch (error) {
        const e = error as { stdout?: string; stderr?: string; message: string };
        output = `${e.stdout ?? ''}${e.stderr ?? ''}` || e.message;
        failed = true;
      }

      const summary = output.match(/Files=\d+, Tests=\d+/)?.[0] ?? 'no summary';
      if (failed) {
        // The failing assertions with their diagnostics, then pg_prove's report.
        const lines = output.split('\n');
        const failures = lines.filter((l) => /^not ok|^#|^psql:|ERROR/.test(l));
        const report = lines.slice(lines.findIndex((l) => l.startsWith('Test Summary Report')));
        throw new Error(`pg_prove failed (${summary}):\n${[...failures, '', ...report].join('\n')}`);
      }
      console.log(`pg_prove: ${summary}, all passed`);
      expect(output).toMatch(/Result: PASS/);
    },
    180_000,
  );
});
