// Azure Functions v4 adapter for the minute-level uptime probe (logic in ../probe/). Settings: see
// ../probe/probe-settings.ts, plus DATABASE_URL (../app-context.ts) where results are recorded.
import azureFunctions, { type InvocationContext, type Timer } from '@azure/functions';
import { appContext } from '../app-context.js';
import { githubDispatcher } from '../probe/github-dispatch.js';
import { parseProbeSettings, probeChecks, type ProbeSettings } from '../probe/probe-settings.js';
import { runUptimeProbe } from '../probe/run-probe.js';

let settings: ProbeSettings | undefined;

export async function uptimeProbe(_timer: Timer, context: InvocationContext): Promise<void> {
  settings ??= parseProbeSettings(process.env);
  const { pool } = appContext();
  const run = await runUptimeProbe({
    pool,
    checks: probeChecks(settings, { pool }),
    dispatch: settings.github ? githubDispatcher(settings.github) : null,
  });
  context.log(
    JSON.stringify({
      msg: 'uptime probe',
      results: run.results.map((r) => `${r.id}=${r.status}`),
      changes: run.changes.length,
      dispatched: run.dispatched,
      dispatchError: run.dispatchError,
      github: settings.github ? 'configured' : 'not configured: state changes are recorded only',
    }),
  );
}

azureFunctions.app.timer('uptime_probe', {
  schedule: '0 */1 * * * *',
  handler: uptimeProbe,
  runOnStartup: false,
});
