/**
 * An HTTPS stand-in for what the functions transports call in Azure (ops/deploy/functions-transport*.ts):
 * a Function App's SCM (Kudu) site and the Resource Manager operations on it. Requests are checked
 * against the documented shapes (Kudu's One Deploy as Azure/functions-action calls it; the
 * Microsoft.Web REST operations with their api-versions) and recorded; anything else is refused
 * the way the service refuses it. Its certificate comes from test-ca.ts and is handed to the
 * client as its only trusted CA.
 *
 *   POST /api/publish?RemoteBuild=false           application/zip body -> 202 + deployment id (or a scenario's answer)
 *   GET  /api/deployments/<id>[/log]              the deployment record, moving through `statuses`; its log entries
 *   POST <site>/config/appsettings/list?api-version=2016-08-01        -> StringDictionary
 *   PUT  <site>/config/appsettings?api-version=2016-08-01             StringDictionary -> 200
 *   POST <site>/hostruntime/admin/host/synctriggers?api-version=2015-08-01 -> 200 (400 `syncFailures` times first)
 *
 * where <site> is /subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Web/sites/{app}.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestCa } from './test-ca.js';

export interface KuduRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  authorization: string | undefined;
  contentType: string | undefined;
  /** The body's sha256 (publish) or its JSON text (ARM). */
  bodySha256?: string;
  bodyText?: string;
}

export interface KuduScenario {
  /** The publish's answer: 202 with an id (default), 200 at once, or an error status. */
  publish: 'async' | 'sync' | { status: number; body: string };
  /** The `status` values GET /api/deployments/<id> answers in turn; the last one repeats. */
  statuses: number[];
  /** Log entries of a deployment (the last status' text is the record's status_text). */
  log: string[];
  statusText: string;
  /** App settings the ARM list returns (properties). */
  appSettings: Record<string, string>;
  /** synctriggers answers 400 this many times before 200. */
  syncFailures: number;
}

export interface KuduStandin {
  /** The SCM site, e.g. https://127.0.0.1:port */
  scmUrl: string;
  /** Resource Manager base (same server). */
  armUrl: string;
  caPem: string;
  token: string;
  scenario: KuduScenario;
  requests: KuduRequest[];
  /** The app settings as last PUT. */
  appSettings(): Record<string, string>;
  /** The zips published, by sha256. */
  published: string[];
  /** Forgets the requests, the settings PUT and the sync calls (between tests). */
  reset(): void;
  close(): Promise<void>;
}

const SITE =
  /^\/subscriptions\/([0-9a-f-]{36})\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Web\/sites\/([^/]+)(\/.*)$/;

export async function startKuduStandin(options: {
  token?: string;
  subscriptionId: string;
  resourceGroup: string;
  functionApp: string;
}): Promise<KuduStandin> {
  const dir = await mkdtemp(join(tmpdir(), 'kudu-standin-'));
  const ca = await createTestCa({ dir });
  const token = options.token ?? 'standin-arm-token';
  const scenario: KuduScenario = {
    publish: 'async',
    statuses: [4],
    log: [],
    statusText: '',
    appSettings: { FUNCTIONS_EXTENSION_VERSION: '~4', FUNCTIONS_WORKER_RUNTIME: 'node' },
    syncFailures: 0,
  };
  const requests: KuduRequest[] = [];
  const published: string[] = [];
  const deployments = new Map<string, { polls: number }>();
  let settings: Record<string, string> | null = null;
  let syncCalls = 0;
  let base = '';

  const json = (res: ServerResponse, status: number, body: unknown) =>
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(body));
  const armError = (res: ServerResponse, status: number, code: string, message: string) =>
    json(res, status, { error: { code, message } });

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const u = new URL(req.url ?? '/', 'https://standin');
    const chunks: Buffer[] = [];
    for await (const c of req as AsyncIterable<Buffer>) chunks.push(c);
    const body = Buffer.concat(chunks);
    const record: KuduRequest = {
      method: req.method ?? '',
      path: u.pathname,
      query: Object.fromEntries(u.searchParams),
      authorization: req.headers.authorization,
      contentType: req.headers['content-type'],
    };
    requests.push(record);
    if (req.headers.authorization !== `Bearer ${token}`)
      return armError(res, 401, 'AuthenticationFailed', 'Authentication failed: no valid bearer token');

    // Kudu (SCM site)
    if (u.pathname === '/api/publish') {
      if (req.method !== 'POST') return res.writeHead(405).end();
      record.bodySha256 = createHash('sha256').update(body).digest('hex');
      const remoteBuild = [...u.searchParams].find(([k]) => k.toLowerCase() === 'remotebuild')?.[1];
      if (remoteBuild?.toLowerCase() !== 'false')
        return res.writeHead(400).end('RemoteBuild must be false for a built package');
      if (!(record.contentType ?? '').startsWith('application/zip'))
        return res.writeHead(415).end(`Content-Type ${record.contentType} is not application/zip`);
      if (body.subarray(0, 4).toString('hex') !== '504b0304')
        return res.writeHead(400).end('the body is not a zip');
      if (typeof scenario.publish === 'object')
        return res.writeHead(scenario.publish.status).end(scenario.publish.body);
      published.push(record.bodySha256);
      if (scenario.publish === 'sync') return res.writeHead(200).end();
      const id = randomUUID();
      deployments.set(id, { polls: 0 });
      return res.writeHead(202, { 'content-type': 'text/plain' }).end(id);
    }
    const d = /^\/api\/deployments\/([^/]+)(\/log|\/log\/details)?$/.exec(u.pathname);
    if (d && req.method === 'GET') {
      const dep = deployments.get(d[1]!);
      if (!dep) return res.writeHead(404).end();
      if (d[2] === '/log')
        return json(
          res,
          200,
          scenario.log.map((message, i) => ({
            log_time: new Date().toISOString(),
            id: `${i}`,
            message,
            type: 0,
            details_url: i === 0 ? `${base}/api/deployments/${d[1]}/log/details` : null,
          })),
        );
      if (d[2] === '/log/details') return json(res, 200, [{ message: 'details of the first entry' }]);
      const status = scenario.statuses[Math.min(dep.polls, scenario.statuses.length - 1)]!;
      dep.polls++;
      const complete = [3, 4, -1, 5, 6].includes(status);
      return json(res, complete ? 200 : 202, {
        id: d[1],
        status,
        status_text: complete ? scenario.statusText : 'Building',
        author: 'N/A',
        deployer: record.query.Deployer ?? 'N/A',
        message: '',
        progress: '',
        received_time: new Date().toISOString(),
        start_time: new Date().toISOString(),
        end_time: complete ? new Date().toISOString() : null,
        last_success_end_time: null,
        complete,
        active: status === 4,
        is_temp: false,
        is_readonly: false,
        url: `${base}/api/deployments/${d[1]}`,
        log_url: `${base}/api/deployments/${d[1]}/log`,
        site_name: options.functionApp,
      });
    }

    // Resource Manager
    const site = SITE.exec(u.pathname);
    if (!site) return armError(res, 404, 'NotFound', `no route ${req.method} ${u.pathname}`);
    const [, sub, rg, app, op] = site;
    if (sub !== options.subscriptionId || rg !== options.resourceGroup || app !== options.functionApp)
      return armError(
        res,
        404,
        'ResourceNotFound',
        `The Resource 'Microsoft.Web/sites/${app}' under resource group '${rg}' was not found.`,
      );
    const apiVersion = u.searchParams.get('api-version');
    const id = `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.Web/sites/${app}/config/appsettings`;
    const dictionary = () => ({
      id,
      name: 'appsettings',
      type: 'Microsoft.Web/sites/config',
      properties: settings ?? scenario.appSettings,
    });
    const wantVersion = (v: string) => {
      if (apiVersion === v) return true;
      armError(
        res,
        400,
        'InvalidApiVersionParameter',
        `The api-version '${apiVersion}' is invalid here (stand-in answers ${v}).`,
      );
      return false;
    };
    if (op === '/config/appsettings/list' && req.method === 'POST') {
      if (!wantVersion('2016-08-01')) return;
      return json(res, 200, dictionary());
    }
    if (op === '/config/appsettings' && req.method === 'PUT') {
      if (!wantVersion('2016-08-01')) return;
      record.bodyText = body.toString('utf8');
      let sent: { properties?: unknown };
      try {
        sent = JSON.parse(record.bodyText) as { properties?: unknown };
      } catch {
        return armError(
          res,
          400,
          'InvalidRequestContent',
          'The request content was invalid and could not be deserialized',
        );
      }
      const props = sent.properties;
      if (!props || typeof props !== 'object' || Object.values(props).some((v) => typeof v !== 'string'))
        return armError(res, 400, 'InvalidRequestContent', 'properties must map names to string values');
      settings = props as Record<string, string>;
      return json(res, 200, dictionary());
    }
    if (op === '/hostruntime/admin/host/synctriggers' && req.method === 'POST') {
      if (!wantVersion('2015-08-01')) return;
      syncCalls++;
      if (syncCalls <= scenario.syncFailures)
        return armError(
          res,
          400,
          'BadRequest',
          'Encountered an error (ServiceUnavailable) from host runtime.',
        );
      return res.writeHead(200).end();
    }
    return armError(res, 404, 'NotFound', `no route ${req.method} ${op}`);
  };

  const server: Server = createServer(
    { cert: await readFile(ca.serverCert), key: await readFile(ca.serverKey) },
    (req, res) => {
      handle(req, res).catch((error: Error) => {
        if (!res.headersSent) res.writeHead(500);
        res.end(error.message);
      });
    },
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    scmUrl: base,
    armUrl: base,
    caPem: ca.caPem,
    token,
    scenario,
    requests,
    published,
    appSettings: () => settings ?? scenario.appSettings,
    reset() {
      requests.length = 0;
      published.length = 0;
      settings = null;
      syncCalls = 0;
    },
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await rm(dir, { recursive: true, force: true });
    },
  };
}
