import type { HealthReport } from '../../common/ingest-protocol.js';
import { latestMigrationVersion } from '../../supabase/migrate.js';
import { runChecks } from '../engine/run-checks.js';
import type { FunctionHealthReading } from '../sources/function-health.js';
import { functionHealthCheck } from './function-health.js';

const healthy: HealthReport = {
  status: 'ok',
  database: 'reachable',
  schemaVersion: '20261126000004',
  latencyMs: 3,
};
const reading = (r: Partial<FunctionHealthReading>): FunctionHealthReading => ({
  httpStatus: 200,
  report: healthy,
  latencyMs: 40,
  ...r,
});

test.each([
  ['healthy', reading({}), 'ok', /healthy in 40 ms, schema 20261126000004/],
  ['slow', reading({ latencyMs: 9_000 }), 'warn', /slow: 9000 ms/],
  [
    'behind',
    reading({ report: { ...healthy, schemaVersion: '20261126000003' } }),
    'warn',
    /apply migrations/,
  ],
  [
    'unreachable',
    reading({ httpStatus: null, report: null, error: 'ECONNREFUSED' }),
    'fail',
    /unreachable \(ECONNREFUSED\)/,
  ],
  [
    'database down',
    reading({
      httpStatus: 503,
      report: {
        status: 'fail',
        database: 'unreachable',
        schemaVersion: null,
        error: 'timeout',
        latencyMs: 1,
      },
    }),
    'fail',
    /database is unreachable/,
  ],
  ['not JSON', reading({ httpStatus: 502, report: null }), 'fail', /HTTP 502/],
] as const)('%s: %s', async (_name, r, status, summary) => {
  const check = functionHealthCheck({ read: async () => r }, { expectedSchemaVersion: '20261126000004' });
  const [result] = await runChecks([check]);
  expect(result!.status).toBe(status);
  expect(result!.summary).toMatch(summary);
});

test("the expected version is the repository's newest migration", () => {
  expect(latestMigrationVersion()).toMatch(/^\d{14}$/);
  expect(latestMigrationVersion() >= '20261126000004').toBe(true);
});
