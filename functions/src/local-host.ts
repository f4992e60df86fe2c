/**
 * A local HTTP host for the Functions app (the sandbox, tests, benchmarks): Azure Functions Core
 * Tools cannot run here, so this serves the same plain handlers on the same routes, and checks the
 * function key the way the Functions host does for authLevel 'function'. To serve a built package
 * instead (what a deploy ships, in a worker process of its own): package-host.ts.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FUNCTION_KEY_HEADER, HEALTH_ROUTE, INGEST_ROUTE } from '../../common/ingest-protocol.js';
import type { IngestService } from './ingest/ingest-service.js';
import {
  createBridgeReportRecorder,
  type BridgeReportRecorderOptions,
  type RecordBridgeReport,
} from './ingest/bridge-report.js';
import {
  checkFunctionKey,
  handleIngestRequest,
  MAX_BODY_BYTES,
  type PlainResponse,
} from './ingest/http-handler.js';
import { checkHealth } from './ingest/health.js';
import type pg from 'pg';

export interface LocalHostOptions {
  pool: pg.Pool;
  ingest: Pick<IngestService, 'ingest'>;
  functionKey: string;
  /** The bridges' backlog reports are stored in ops.bridge_status as in Azure; tests tune the recorder. */
  bridgeReports?: BridgeReportRecorderOptions;
  port?: number;
  host?: string;
}

export interface LocalHost {
  url: string;
  ingestUrl: string;
  server: Server;
  close(): Promise<void>;
}

export async function startLocalFunctionsHost(options: LocalHostOptions): Promise<LocalHost> {
  const recordBridgeReport = createBridgeReportRecorder(options.pool, options.bridgeReports);
  const server = createServer((req, res) => {
    route(req, options, recordBridgeReport)
      .then((response) => {
        res.writeHead(response.status, response.headers ?? {});
        res.end(response.body);
      })
      .catch((error: Error) => {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: error.message }));
      });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${options.host ?? '127.0.0.1'}:${port}`;
  return {
    url,
    ingestUrl: `${url}${INGEST_ROUTE}`,
    server,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function route(
  req: IncomingMessage,
  options: LocalHostOptions,
  recordBridgeReport: RecordBridgeReport,
): Promise<PlainResponse> {
  const path = new URL(req.url ?? '/', 'http://local').pathname;
  if (path === HEALTH_ROUTE) {
    const report = await checkHealth(options.pool);
    return {
      status: report.status === 'ok' ? 200 : 503,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(report),
    };
  }
  if (path === INGEST_ROUTE) {
    const key =
      req.headers[FUNCTION_KEY_HEADER] ?? new URL(req.url ?? '/', 'http://local').searchParams.get('code');
    if (!checkFunctionKey(typeof key === 'string' ? key : null, options.functionKey)) {
      await drain(req);
      return { status: 401, body: '' };
    }
    const body = await readBody(req);
    if (!body) return { status: 413, body: JSON.stringify({ error: `body over ${MAX_BODY_BYTES} bytes` }) };
    return handleIngestRequest(
      options.ingest,
      {
        method: req.method ?? 'GET',
        header: (name) => {
          const v = req.headers[name.toLowerCase()];
          return Array.isArray(v) ? (v[0] ?? null) : (v ?? null);
        },
        body,
      },
      { recordBridgeReport },
    );
  }
  return { status: 404, body: '' };
}

async function readBody(req: IncomingMessage): Promise<Uint8Array | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return null;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

async function drain(req: IncomingMessage): Promise<void> {
  for await (const _ of req as AsyncIterable<Buffer>) {
    // discard
  }
}
