/**
 * What the end-to-end tests need on the machine: the Mosquitto binary, the shared PostgreSQL
 * (TEST_DATABASE_ADMIN_URL, default 127.0.0.1:5432) and, for the database restart test, the
 * PostgreSQL server binaries. Without CI a missing piece skips the file and says why; with CI=true
 * it is an error (the same rule as mosquittoForTests in test/support/mosquitto-process.ts).
 */
import pg from 'pg';
import { findMosquitto } from '../../support/mosquitto-process.js';
import { ADMIN_URL } from '../../support/database.js';
import { findPostgresBin } from '../../support/own-postgres.js';

export interface Needs {
  /** The shared PostgreSQL server on TEST_DATABASE_ADMIN_URL. */
  sharedPostgres?: boolean;
  /** PostgreSQL server binaries (a server of the test's own, test/support/own-postgres.ts). */
  ownPostgres?: boolean;
}

async function reachable(url: string): Promise<string | null> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    await client.query('select 1');
    return null;
  } catch (error) {
    return (error as Error).message;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Every missing prerequisite, described; empty when all are there. */
export async function missingPrerequisites(needs: Needs): Promise<string[]> {
  const missing: string[] = [];
  let mosquitto: string | null;
  try {
    mosquitto = findMosquitto();
  } catch (error) {
    missing.push((error as Error).message); // $MOSQUITTO_BIN set but not executable
    mosquitto = '';
  }
  if (mosquitto === null) {
    missing.push(
      'mosquitto not found ($MOSQUITTO_BIN, /usr/sbin, /usr/local/sbin, PATH): install the mosquitto package',
    );
  }
  if (needs.sharedPostgres !== false) {
    const problem = await reachable(ADMIN_URL);
    if (problem) {
      missing.push(
        `PostgreSQL at ${ADMIN_URL.replace(/:[^:@/]*@/, ':***@')} is not reachable (${problem}): start it or set TEST_DATABASE_ADMIN_URL`,
      );
    }
  }
  if (needs.ownPostgres && !findPostgresBin()) {
    missing.push(
      'PostgreSQL server binaries not found under /usr/lib/postgresql: apt-get install postgresql',
    );
  }
  return missing;
}

/**
 * `describe`, or `describe.skip` after saying why. With CI=true a missing prerequisite throws, so
 * the test file fails with the reason instead of skipping.
 */
export async function describeWith(needs: Needs): Promise<jest.Describe> {
  const missing = await missingPrerequisites(needs);
  if (missing.length === 0) return describe;
  const why = missing.join('; ');
  if (process.env.CI === 'true')
    throw new Error(`end-to-end prerequisites missing: ${why}. CI=true forbids skipping these tests.`);
  console.warn(`Skipping end-to-end tests: ${why}.`);
  return describe.skip;
}
