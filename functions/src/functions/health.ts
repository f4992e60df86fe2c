// Azure Functions v4 adapter for the health endpoint (anonymous: it reveals only up/down, the schema
// version and the commit the package was built from).
import azureFunctions, { type HttpResponseInit } from '@azure/functions';
import { appContext } from '../app-context.js';
import { checkHealth } from '../ingest/health.js';
import { settings } from '../settings.js';

export async function health(): Promise<HttpResponseInit> {
  const report = await checkHealth(appContext(settings('database').database).pool);
  return { status: report.status === 'ok' ? 200 : 503, jsonBody: report };
}

azureFunctions.app.http('health', { methods: ['GET'], authLevel: 'anonymous', handler: health });
