import { runChecks } from '../engine/run-checks.js';
import { archiveStatusCheck } from './archive-status.js';

test('explicitly disabled with a reason is ok; no decision fails and says where to make it', async () => {
  const [disabled, silent] = await runChecks([
    archiveStatusCheck({
      environment: 'prod',
      archive: { mode: 'disabled', reason: 'container deleted; retention in Postgres' },
    }),
    archiveStatusCheck({ environment: 'staging', archive: undefined }),
  ]);
  expect([disabled!.status, disabled!.summary]).toEqual([
    'ok',
    'explicitly disabled: container deleted; retention in Postgres',
  ]);
  expect([silent!.status, silent!.summary]).toEqual([
    'fail',
    'no archive decision: add archive (mode: disabled, reason) to runbook/environments/staging.yaml',
  ]);
});
