/**
 * A PostgreSQL server of a test's own, for tests that restart the database. PostgreSQL refuses to
 * run as root, so it runs as the `postgres` OS user (runuser) on a free loopback port, in a
 * temporary data directory removed on stop().
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './free-port.js';

const run = promisify(execFile);

export interface OwnPostgres {
  url: string;
  port: number;
  restart(options?: { downMs?: number }): Promise<void>;
  stopServer(): Promise<void>;
  startServer(): Promise<void>;
  stop(): Promise<void>;
}

export function findPostgresBin(): string | null {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
  for (const v of versions) if (existsSync(join(root, v, 'bin', 'pg_ctl'))) return join(root, v, 'bin');
  return null;
}

export async function startOwnPostgres(): Promise<OwnPostgres> {
  const bin = findPostgresBin();
  if (!bin)
    throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql: apt-get install postgresql');
  const dir = await mkdtemp(join(tmpdir(), 'own-pg-'));
  const data = join(dir, 'data');
  const ids = await run('id', ['-u', 'postgres']).then((r) => Number(r.stdout.trim()));
  const gid = await run('id', ['-g', 'postgres']).then((r) => Number(r.stdout.trim()));
  await chown(dir, ids, gid);
  const asPostgres = (cmd: string, args: string[]) =>
    process.getuid?.() === 0
      ? run('runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args])
      : run(join(bin, cmd), args);
  await asPostgres('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  const port = await freePort();
  const opts = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${dir} -c fsync=off -c max_connections=50`;
  const startServer = async () => {
    await asPostgres('pg_ctl', ['-D', data, '-o', opts, '-l', join(dir, 'log'), '-w', '-t', '30', 'start']);
  };
  const stopServer = async () => {
    await asPostgres('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
  };
  await startServer();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    startServer,
    stopServer,
    async restart(options = {}) {
      await stopServer();
      if (options.downMs) await new Promise((r) => setTimeout(r, options.downMs));
      await startServer();
    },
    async stop() {
      await stopServer().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
