/**
 * The local sandbox (scripts/sandbox/platform.ts) for a test file: its own temp directory,
 * env.json and database, all removed again by stop().
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startPlatform, type Platform } from '../../scripts/sandbox/platform.js';
import { ADMIN_URL } from './database.js';

export interface TestSandbox {
  platform: Platform;
  dir: string;
  envPath: string;
  stop(): Promise<void>;
}

export async function startTestSandbox(
  label: string,
  options: { embedded?: boolean; alertsTickMs?: number } = {},
): Promise<TestSandbox> {
  const dir = await mkdtemp(join(tmpdir(), `${label}-`));
  const databaseName = `${label.replace(/[^a-z0-9_]/g, '_')}_${process.pid}`;
  const envPath = join(dir, 'env.json');
  const cleanup = async () => {
    await rm(dir, { recursive: true, force: true });
    if (options.embedded) return;
    const admin = new pg.Client({ connectionString: ADMIN_URL });
    await admin.connect();
    await admin.query(`drop database if exists ${databaseName} with (force)`);
    await admin.end();
  };
  let platform: Platform;
  try {
    platform = await startPlatform({
      databaseName,
      dir: join(dir, 'run'),
      envPath,
      log: () => undefined,
      embedded: options.embedded,
      alertsTickMs: options.alertsTickMs,
    });
  } catch (error) {
    await cleanup();
    throw error;
  }
  return {
    platform,
    dir,
    envPath,
    async stop() {
      await platform.stop();
      await cleanup();
    },
  };
}
