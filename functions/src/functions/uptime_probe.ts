// Azure Functions v4 adapter for the minute-level uptime probe (logic in ../probe/). Settings
// (database, where results are recorded, and probe) in ../settings.ts.
import azureFunctions, { type InvocationContext, type Timer } from '@azure/functions';
import { appContext } from '../app-context.js';
import { githubDispatcher } from '../probe/github-dispatch.js';
import { probeChecks } from '../probe/probe-settings.js';
import { runUptimeProbe } from '../probe/run-probe.js';
import { settings } from '../settings.js';

export async function uptimeProbe(_timer: Timer, context: InvocationContext): Promise<void> {
  const { database, probe } = settings('database', 'probe');
  const { pool } = appContext(database);
  const run = await runUptimeProbe({
    pool,
    checks: probeChecks(probe, { pool }),
    dispatch: probe.github ? githubDispatcher(probe.github) : null,
  });
  context.log(
    JSON.stringify({
      msg: 'uptime probe',
      results: run.results.map((r) => `${r.id}=${r.status}`),
      changes: run.changes.length,
      dispatched: run.dispatched,
      dispatchError: run.dispatchError,
      github: probe.github ? 'configured' : 'not configured: state changes are recorded only',
    }),
  );
}

azureFunctions.app.timer('uptime_probe', {
  schedule: '0 */1 * * * *',
  handler: uptimeProbe,
  runOnStartup: false,
});
