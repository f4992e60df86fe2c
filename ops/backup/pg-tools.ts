/**
 * Finds pg_dump / pg_restore for the server's major version. pg_dump refuses servers newer than
 * itself and an archive from a newer pg_dump may not restore, so the exact major is preferred, a
 * newer one accepted, an older one never.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import type pg from 'pg';

const run = promisify(execFile);

export type PgTool = 'pg_dump' | 'pg_restore';

export interface PgToolBinary {
  path: string;
  /** As the tool prints it, e.g. `15.20`. */
  version: string;
  major: number;
}

export interface FindPgToolOptions {
  /** Use only this directory (e.g. /usr/lib/postgresql/15/bin). */
  binDir?: string;
  /** Where Debian installs one directory per major; default /usr/lib/postgresql. */
  versionsRoot?: string;
  /** Default process.env.PATH. */
  path?: string;
}

export async function serverMajorVersion(client: pg.ClientBase): Promise<{ major: number; version: string }> {
  const res = await client.query<{ num: string; version: string }>(
    `select current_setting('server_version_num') as num, current_setting('server_version') as version`,
  );
  const row = res.rows[0]!;
  return { major: Math.floor(Number(row.num) / 10_000), version: row.version.split(' ')[0]! };
}

export async function toolVersion(path: string): Promise<PgToolBinary | null> {
  try {
    const { stdout } = await run(path, ['--version'], { timeout: 10_000 });
    const m = /\(PostgreSQL\)\s+(\d+)(\.\d+)?/.exec(stdout);
    if (!m) return null;
    return { path, version: `${m[1]}${m[2] ?? ''}`, major: Number(m[1]) };
  } catch {
    return null;
  }
}

export async function findPgTool(
  tool: PgTool,
  serverMajor: number,
  options: FindPgToolOptions = {},
): Promise<PgToolBinary> {
  const candidates: string[] = [];
  if (options.binDir) {
    candidates.push(join(options.binDir, tool));
  } else {
    const root = options.versionsRoot ?? '/usr/lib/postgresql';
    candidates.push(join(root, String(serverMajor), 'bin', tool));
    if (existsSync(root))
      for (const v of readdirSync(root).sort((a, b) => Number(a) - Number(b)))
        candidates.push(join(root, v, 'bin', tool));
    for (const dir of (options.path ?? process.env.PATH ?? '').split(delimiter))
      if (dir) candidates.push(join(dir, tool));
  }
  const found: PgToolBinary[] = [];
  for (const path of [...new Set(candidates)]) {
    if (!existsSync(path)) continue;
    const binary = await toolVersion(path);
    if (binary) found.push(binary);
  }
  const exact = found.find((b) => b.major === serverMajor);
  if (exact) return exact;
  const newer = found.filter((b) => b.major > serverMajor).sort((a, b) => a.major - b.major)[0];
  if (newer) return newer;
  const seen = found.length
    ? `found only ${found.map((b) => `${b.path} ${b.version}`).join(', ')}`
    : `none found in ${options.binDir ?? 'PATH or /usr/lib/postgresql/*/bin'}`;
  throw new Error(
    `${tool} for PostgreSQL ${serverMajor} (the server's major version) is missing: ${seen}. ` +
      `Install postgresql-client-${serverMajor} or point binDir at its bin directory.`,
  );
}
