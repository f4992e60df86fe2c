/**
 * The local sandbox (scripts/sandbox/platform.ts) for a test file: its own temp directory (the
 * "checkout" of its owner record), env.json and per-run database, all removed again by stop().
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { currentOwner, type SandboxOwner } from '../../common/local-env.js';
import { startPlatform, type Platform } from '../../scripts/sandbox/platform.js';
import { TEST_LINGER_MS } from './bridge-harness.js';
import { ADMIN_URL } from './database.js';

export interface TestSandbox {
  platform: Platform;
  dir: string;
  envPath: string;
  owner: SandboxOwner;
  stop(): Promise<void>;
}

export async function startTestSandbox(
  label: string,
  /**
   * dashboard: build the dashboard and serve it against the Supabase stand-in (env.dashboard.url).
   * bridgeLingerMs: the bridge's latency budget, TEST_LINGER_MS unless given (tests wait for data).
   */
  options: { embedded?: boolean; alertsTickMs?: number; dashboard?: boolean; bridgeLingerMs?: number } = {},
): Promise<TestSandbox> {
  const dir = await mkdtemp(join(tmpdir(), `${label}-`));
  const owner = currentOwner('test', dir);
  const envPath = join(dir, 'env.json');
  const cleanup = async (databaseName: string | undefined) => {
    await rm(dir, { recursive: true, force: true });
    // Dropped here rather than left to a later start's cleanup: test runs make many.
    if (!databaseName) return;
    const admin = new pg.Client({ connectionString: ADMIN_URL });
    await admin.connect();
    try {
      await admin.query(`drop database if exists ${admin.escapeIdentifier(databaseName)} with (force)`);
    } finally {
      await admin.end();
    }
  };
  let platform: Platform;
  try {
    platform = await startPlatform({
      owner,
      dir: join(dir, 'run'),
      envPath,
      log: () => undefined,
      embedded: options.embedded,
      alertsTickMs: options.alertsTickMs,
      dashboard: options.dashboard,
      databaseAdminUrl: ADMIN_URL,
      bridgeLingerMs: options.bridgeLingerMs ?? TEST_LINGER_MS,
    });
  } catch (error) {
    // A failed start stopped what it had started; its database, if any, a later start drops.
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    platform,
    dir,
    envPath,
    owner,
    async stop() {
      await platform.stop();
      await cleanup(platform.database.name);
    },
  };
}
