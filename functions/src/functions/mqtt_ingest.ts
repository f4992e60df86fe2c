// Azure Functions v4 adapter for mqtt_ingest: translation only; the logic is in ../ingest/.
import azureFunctions, { type HttpRequest, type HttpResponseInit } from '@azure/functions';
import { appContext } from '../app-context.js';
import { handleIngestRequest } from '../ingest/http-handler.js';
import { settings } from '../settings.js';

export async function mqttIngest(request: HttpRequest): Promise<HttpResponseInit> {
  const body = new Uint8Array(await request.arrayBuffer());
  const context = appContext(settings('database').database);
  const response = await handleIngestRequest(
    context.ingest,
    { method: request.method, header: (name) => request.headers.get(name), body },
    { recordBridgeReport: context.recordBridgeReport },
  );
  return { status: response.status, headers: response.headers, body: response.body };
}

azureFunctions.app.http('mqtt_ingest', { methods: ['POST'], authLevel: 'function', handler: mqttIngest });
