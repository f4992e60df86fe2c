import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { ADMIN_URL } from '../../test/support/database.js';
import { findPgTool, serverMajorVersion } from './pg-tools.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pg-tools-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function fakeTool(at: string, version: string) {
  await mkdir(at, { recursive: true });
  const path = join(at, 'pg_dump');
  await writeFile(path, `#!/bin/sh\necho "pg_dump (PostgreSQL) ${version}"\n`);
  await chmod(path, 0o755);
}

test('finds the real pg_dump and pg_restore matching the running server', async () => {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  const server = await serverMajorVersion(client).finally(() => client.end());
  expect(server.major).toBeGreaterThanOrEqual(13);
  for (const tool of ['pg_dump', 'pg_restore'] as const) {
    const found = await findPgTool(tool, server.major).catch((e: Error) => {
      throw new Error(`${e.message} (CI must install postgresql-client-${server.major})`);
    });
    expect(found.major).toBe(server.major);
    expect(found.path).toMatch(new RegExp(`${tool}$`));
  }
});

test('prefers the exact major, accepts a newer one, never an older one', async () => {
  const root = join(dir, 'versions');
  await fakeTool(join(root, '14', 'bin'), '14.9');
  await fakeTool(join(root, '16', 'bin'), '16.1');
  await fakeTool(join(root, '17', 'bin'), '17.2');
  const opts = { versionsRoot: root, path: '' };
  expect((await findPgTool('pg_dump', 16, opts)).version).toBe('16.1');
  expect((await findPgTool('pg_dump', 15, opts)).version).toBe('16.1');
  await expect(findPgTool('pg_dump', 18, opts)).rejects.toThrow(
    /pg_dump for PostgreSQL 18 .* is missing: found only .*14\.9.*16\.1.*17\.2.*Install postgresql-client-18/,
  );
});

test('says what to install when there is none at all', async () => {
  await expect(findPgTool('pg_restore', 15, { binDir: join(dir, 'empty') })).rejects.toThrow(
    /pg_restore for PostgreSQL 15 .* none found in .*empty.*Install postgresql-client-15/,
  );
});
