/**
 * A local HTTPS stand-in for the Azure endpoints the ops sources call (ARM consumption, metrics and
 * compute; the Log Analytics query API). It answers with the published `x-ms-examples` response
 * bodies in ./azure-fixtures (copied verbatim from Azure/azure-rest-api-specs, see its README), which
 * tests may fill with their own values but never reshape: every body it sends is checked against
 * its fixture's shape first. It records each request so tests can assert api-version, paths and
 * filters. Its certificate is self-signed (made with the `openssl` CLI) and handed to the clients as
 * their only trusted CA, so nothing disables TLS verification.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { AccessToken, TokenCredential } from '@azure/core-auth';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'azure-fixtures');

export type AzureRoute =
  | 'usageDetails'
  | 'budget'
  | 'logsQuery'
  | 'metrics'
  | 'virtualMachine'
  | 'vmInstanceView'
  | 'vmAvailableSizes'
  | 'vmUpdate'
  | 'vmDeallocate'
  | 'vmStart'
  | 'computeOperationResult'
  | 'computeOperation'
  | 'subscription'
  | 'subscriptionDeployment'
  | 'subscriptionDeploymentGet'
  | 'subscriptionWhatIf'
  | 'deploymentOperationStatus'
  | 'armOperationResult';

interface RouteSpec {
  method: string;
  path: RegExp;
  fixture: string;
  /** Query parameters the request must carry to take this route (routes are tried in order). */
  query?: Record<string, string>;
  /** The api-versions answered; others get ARM's 400 `InvalidApiVersionParameter`. */
  apiVersions: string[] | null;
  shape?: ShapeRules;
}

/** DeploymentExtended: outputs, error, outputResources and templateLink are optional (deployments.json). */
const DEPLOYMENT_SHAPE: ShapeRules = {
  optionalKeys: { properties: ['outputs', 'error', 'outputResources', 'templateLink'] },
  maps: ['properties.parameters'],
};

/** WhatIfChange: before, after and delta are optional; a resource's payload is its own. */
const WHAT_IF_SHAPE: ShapeRules = {
  optionalKeys: {
    'properties.changes[]': ['before', 'after', 'delta', 'unsupportedReason'],
    'properties.changes[].after': ['location', 'tags', 'properties', 'sku', 'kind'],
    'properties.changes[].before': ['location', 'tags', 'properties', 'sku', 'kind'],
    'properties.changes[].delta[]': ['before', 'after', 'children'],
    '': ['error'],
  },
};

const ROUTES: Record<AzureRoute, RouteSpec> = {
  usageDetails: {
    method: 'GET',
    path: /^\/(.+)\/providers\/Microsoft\.Consumption\/usageDetails$/,
    fixture: 'consumption/UsageDetailsList.json',
    apiVersions: ['2024-08-01'],
    // A page that is not the last carries nextLink (UsageDetailsListResult).
    shape: { optionalKeys: { '': ['nextLink'] }, maps: ['value[].tags'] },
  },
  budget: {
    method: 'GET',
    path: /^\/(.+)\/providers\/Microsoft\.Consumption\/budgets\/([^/]+)$/,
    fixture: 'consumption/Budget.json',
    apiVersions: ['2024-08-01'],
    shape: { maps: ['properties.notifications'] },
  },
  logsQuery: {
    method: 'POST',
    path: /^\/v1\/workspaces\/([^/]+)\/query$/,
    fixture: 'loganalytics/oms-post-example.json',
    apiVersions: null,
  },
  metrics: {
    method: 'GET',
    path: /^\/(.+)\/providers\/Microsoft\.Insights\/metrics$/,
    fixture: 'monitor/GetMetric.json',
    apiVersions: ['2024-02-01'],
    // MetricValue's `total` and `count` come back when those aggregations are asked for.
    shape: { optionalKeys: { 'value[].timeseries[].data[]': ['total', 'count'] } },
  },
  virtualMachine: {
    method: 'GET',
    path: /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Compute\/virtualMachines\/([^/]+)$/,
    fixture: 'compute/VirtualMachine_Get.json',
    // The fixture's version, and the one @azure/arm-compute 25.1.1 sends (same VirtualMachine shape).
    apiVersions: ['2025-04-01', '2026-04-01'],
  },
  // The resize playbook's calls. Deallocate, update and start are long-running: a scenario answers
  // 202 (or 200 for the update) with Azure-AsyncOperation and Location headers pointing at the two
  // operation routes below, as Compute does.
  vmInstanceView: {
    method: 'GET',
    path: /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Compute\/virtualMachines\/([^/]+)\/instanceView$/,
    fixture: 'compute/VirtualMachine_Get_InstanceView.json',
    apiVersions: ['2025-04-01', '2026-04-01'],
  },
  vmAvailableSizes: {
    method: 'GET',
    path: /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Compute\/virtualMachines\/([^/]+)\/vmSizes$/,
    fixture: 'compute/VirtualMachine_ListAvailableVmSizes.json',
    apiVersions: ['2025-04-01', '2026-04-01'],
  },
  vmUpdate: {
    method: 'PATCH',
    path: /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Compute\/virtualMachines\/([^/]+)$/,
    fixture: 'compute/VirtualMachine_Update_DetachDataDiskUsingToBeDetachedProperty.json',
    apiVersions: ['2025-04-01', '2026-04-01'],
  },
  vmDeallocate: {
    method: 'POST',
    path: /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Compute\/virtualMachines\/([^/]+)\/deallocate$/,
    fixture: 'compute/VirtualMachine_Deallocate_MaximumSet_Gen.json',
    apiVersions: ['2025-04-01', '2026-04-01'],
  },
  vmStart: {
    method: 'POST',
    path: /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Compute\/virtualMachines\/([^/]+)\/start$/,
    fixture: 'compute/VirtualMachine_Start_MaximumSet_Gen.json',
    apiVersions: ['2025-04-01', '2026-04-01'],
  },
  // The Location header's URL (`?monitor=true`): 202 while running, then the operation's own 200
  // (no body for deallocate and start, as their examples publish).
  computeOperationResult: {
    method: 'GET',
    path: /^\/subscriptions\/([^/]+)\/providers\/Microsoft\.Compute\/locations\/([^/]+)\/operations\/([^/]+)$/,
    query: { monitor: 'true' },
    fixture: 'compute/VirtualMachine_Deallocate_MaximumSet_Gen.json',
    apiVersions: null,
  },
  // The Azure-AsyncOperation header's URL: ARM's operation status resource. Compute publishes no
  // example of it; the fixture is another provider's example of the same common-types shape.
  computeOperation: {
    method: 'GET',
    path: /^\/subscriptions\/([^/]+)\/providers\/Microsoft\.Compute\/locations\/([^/]+)\/operations\/([^/]+)$/,
    fixture: 'containerservice/OperationStatusResultGet.json',
    apiVersions: null,
    // A finished operation has its endTime; a failed one its error (ARM's async API reference).
    shape: { optionalKeys: { '': ['endTime', 'error'] } },
  },
  subscription: {
    method: 'GET',
    path: /^\/subscriptions\/([^/]+)$/,
    fixture: 'resources/GetSubscription.json',
    // What @azure/arm-resources-subscriptions 3.0.0 sends, and the fixture's version.
    apiVersions: ['2022-12-01'],
    shape: { maps: ['tags'] },
  },
  // `ops provision` (ops/provision/deployment.ts): a subscription-scope deployment and its what-if,
  // both long-running (deploymentScenario() below answers them as Resource Manager does).
  subscriptionDeployment: {
    method: 'PUT',
    path: /^\/subscriptions\/([^/]+)\/providers\/Microsoft\.Resources\/deployments\/([^/]+)$/,
    fixture: 'resources/PutDeploymentSubscriptionTemplateSpecsWithId.json',
    apiVersions: ['2025-04-01'],
    shape: DEPLOYMENT_SHAPE,
  },
  subscriptionDeploymentGet: {
    method: 'GET',
    path: /^\/subscriptions\/([^/]+)\/providers\/Microsoft\.Resources\/deployments\/([^/]+)$/,
    fixture: 'resources/PutDeploymentSubscriptionTemplateSpecsWithId.json',
    apiVersions: ['2025-04-01'],
    shape: DEPLOYMENT_SHAPE,
  },
  subscriptionWhatIf: {
    method: 'POST',
    path: /^\/subscriptions\/([^/]+)\/providers\/Microsoft\.Resources\/deployments\/([^/]+)\/whatIf$/,
    fixture: 'resources/PostDeploymentWhatIfOnSubscription.json',
    apiVersions: ['2025-04-01'],
    shape: WHAT_IF_SHAPE,
  },
  // The deployment's Azure-AsyncOperation URL: ARM's operation status resource (the same
  // common-types example as computeOperation's).
  deploymentOperationStatus: {
    method: 'GET',
    path: /^\/subscriptions\/([^/]+)\/providers\/Microsoft\.Resources\/deployments\/([^/]+)\/operationStatuses\/([^/]+)$/,
    fixture: 'containerservice/OperationStatusResultGet.json',
    apiVersions: ['2025-04-01'],
    shape: { optionalKeys: { '': ['endTime', 'error'] } },
  },
  // The what-if's Location URL: 202 without a body while it runs, then the what-if's own 200.
  armOperationResult: {
    method: 'GET',
    path: /^\/subscriptions\/([^/]+)\/operationresults\/([^/]+)$/,
    fixture: 'resources/PostDeploymentWhatIfOnSubscription.json',
    apiVersions: ['2025-04-01'],
    shape: WHAT_IF_SHAPE,
  },
};

/** A fixture body: free-form JSON that scenarios edit in place (its shape is checked when sent). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type FixtureJson = any;

export interface RecordedRequest {
  route: AzureRoute | null;
  method: string;
  path: string;
  query: Record<string, string>;
  apiVersion: string | undefined;
  authorization: string | undefined;
  body: unknown;
}

export interface StandinReply {
  status?: number;
  body: unknown;
  /** Response headers (Azure-AsyncOperation, Location, Retry-After of a long-running operation). */
  headers?: Record<string, string>;
}

/** Builds a reply from the request and the fixture's `responses["200"].body` (a fresh copy). */
export type Responder = (request: RecordedRequest, template: FixtureJson) => StandinReply | unknown;

export interface AzureStandin {
  /** https://127.0.0.1:<port>: the ARM endpoint; the Log Analytics one is `${url}/v1`. */
  url: string;
  logsUrl: string;
  /** PEM of the self-signed certificate, to pass as the clients' CA. */
  ca: string;
  /** The bearer token the stand-in accepts (see `standinCredential`). */
  token: string;
  requests: RecordedRequest[];
  /** Answers a route with `responder` instead of the fixture as published. */
  on(route: AzureRoute, responder: Responder): void;
  /** The fixture's `responses["200"].body` (or another status's), deep-copied: the template for scenario bodies. */
  template(route: AzureRoute, status?: number): FixtureJson;
  close(): Promise<void>;
}

const exec = promisify(execFile);

export async function startAzureStandin(): Promise<AzureStandin> {
  const dir = await mkdtemp(join(tmpdir(), 'azure-standin-'));
  try {
    await exec(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
      ],
      { timeout: 20_000 },
    );
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new Error(
      missing
        ? 'the Azure stand-in needs the `openssl` CLI on PATH (apt-get install -y openssl)'
        : `openssl could not make the stand-in's certificate: ${(error as Error).message}`,
    );
  }
  const [key, cert] = await Promise.all([
    readFile(join(dir, 'key.pem')),
    readFile(join(dir, 'cert.pem'), 'utf8'),
  ]);

  const templates = new Map<AzureRoute, unknown>();
  const examples = new Map<AzureRoute, Record<string, { body?: unknown }>>();
  for (const [name, spec] of Object.entries(ROUTES) as [AzureRoute, RouteSpec][]) {
    const example = JSON.parse(await readFile(join(FIXTURES, spec.fixture), 'utf8'));
    templates.set(name, example.responses['200'].body);
    examples.set(name, example.responses);
  }
  const template = (route: AzureRoute, status = 200) =>
    structuredClone(status === 200 ? templates.get(route) : examples.get(route)?.[status]?.body);
  const responders = new Map<AzureRoute, Responder>();
  const requests: RecordedRequest[] = [];
  const token = 'standin-token';

  const server: Server = createServer({ key, cert }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'https://127.0.0.1');
      const raw = Buffer.concat(chunks).toString('utf8');
      const route = (Object.keys(ROUTES) as AzureRoute[]).find(
        (r) =>
          ROUTES[r].method === req.method &&
          ROUTES[r].path.test(url.pathname) &&
          Object.entries(ROUTES[r].query ?? {}).every(([k, v]) => url.searchParams.get(k) === v),
      );
      const recorded: RecordedRequest = {
        route: route ?? null,
        method: req.method ?? '',
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        apiVersion: url.searchParams.get('api-version') ?? undefined,
        authorization: req.headers.authorization,
        body: raw ? safeJson(raw) : undefined,
      };
      requests.push(recorded);
      const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
        res.end(JSON.stringify(body));
      };
      const armError = (status: number, code: string, message: string) =>
        send(status, { error: { code, message } });
      if (!route)
        return armError(404, 'NotFound', `the stand-in has no route for ${req.method} ${url.pathname}`);
      if (req.headers.authorization !== `Bearer ${token}`)
        return armError(401, 'AuthenticationFailed', 'missing or wrong bearer token');
      const spec = ROUTES[route];
      if (spec.apiVersions && !spec.apiVersions.includes(recorded.apiVersion ?? ''))
        return armError(
          400,
          'InvalidApiVersionParameter',
          `api-version '${recorded.apiVersion}' is not one of ${spec.apiVersions.join(', ')}`,
        );
      try {
        const responder = responders.get(route);
        const produced = responder ? responder(recorded, template(route)) : { body: template(route) };
        const reply: StandinReply =
          produced && typeof produced === 'object' && 'body' in produced
            ? (produced as StandinReply)
            : { body: produced };
        const status = reply.status ?? 200;
        if (status === 200) assertSameShape(templates.get(route), reply.body, '', spec.shape);
        // Another status the example publishes a body for (a 201 Created) keeps that body's shape.
        else if (examples.get(route)?.[status]?.body !== undefined)
          assertSameShape(examples.get(route)![status]!.body, reply.body, '', spec.shape);
        send(status, reply.body, reply.headers);
      } catch (error) {
        armError(500, 'StandinError', (error as Error).message);
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const url = `https://127.0.0.1:${port}`;
  return {
    url,
    logsUrl: `${url}/v1`,
    ca: cert,
    token,
    requests,
    on: (route, responder) => void responders.set(route, responder),
    template,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A TokenCredential that always returns the stand-in's token (tests never reach Entra ID). */
export function standinCredential(token = 'standin-token'): TokenCredential {
  return {
    getToken: async (): Promise<AccessToken> => ({ token, expiresOnTimestamp: Date.now() + 3_600_000 }),
  };
}

/**
 * A stand-in `az` in `dir` for the real AzureCliCredential, which runs `az account get-access-token
 * --output json --resource <ARM>` (processes that cannot be handed `standinCredential`, such as
 * `npm run ops` spawned by a test): put `dir` first on PATH. It prints the CLI's JSON (accessToken,
 * expiresOn, expires_on, subscription, tenant, tokenType) or, `signedIn: false`, the CLI's error
 * when nobody has run `az login`.
 */
export async function writeAzCliStandin(
  dir: string,
  options: { token?: string; signedIn?: boolean; subscription?: string; tenant?: string } = {},
): Promise<string> {
  const json =
    `{"accessToken":"${options.token ?? 'standin-token'}","expiresOn":"%s","expires_on":%s,` +
    `"subscription":"${options.subscription ?? '291bba3f-e0a5-47bc-a099-3bdcb2a50a05'}",` +
    `"tenant":"${options.tenant ?? '31c75423-32d6-4322-88b7-c478bdde4858'}","tokenType":"Bearer"}`;
  const answer =
    options.signedIn === false
      ? `echo "ERROR: Please run 'az login' to setup account." >&2\nexit 1`
      : `exp=$(( $(date +%s) + 3600 ))\nprintf '${json}\\n' "$(date -d "@$exp" '+%Y-%m-%d %H:%M:%S.000000')" "$exp"`;
  const script = [
    '#!/bin/sh',
    '[ "$1 $2" = "account get-access-token" ] || { echo "az stand-in: only account get-access-token" >&2; exit 2; }',
    answer,
    '',
  ].join('\n');
  await writeFile(join(dir, 'az'), script, { mode: 0o755 });
  return dir;
}

export interface ShapeRules {
  /**
   * Keys a body may carry beyond the template's, or leave out of it, by shape path (documented
   * optional fields).
   */
  optionalKeys?: Record<string, string[]>;
  /** Paths of free-form maps (tags, notifications): their keys are free, their values keep the shape. */
  maps?: string[];
}

/**
 * Throws unless `value` has the template's shape: objects with exactly the template's keys (plus
 * declared optional ones), arrays whose items each match one of the template's items, leaves of
 * the same JSON type (null may stand for any leaf, and any leaf for a template null).
 */
export function assertSameShape(template: unknown, value: unknown, path = '', rules: ShapeRules = {}): void {
  const where = path || '(root)';
  if (template === null || value === null) {
    if (isContainer(template) || isContainer(value))
      throw new Error(
        `shape differs at ${where}: ${describe(template)} in the fixture, ${describe(value)} sent`,
      );
    return;
  }
  if (Array.isArray(template)) {
    if (!Array.isArray(value))
      throw new Error(`shape differs at ${where}: an array in the fixture, ${describe(value)} sent`);
    if (template.length === 0) return;
    value.forEach((item, i) => {
      // A table row holds leaves of any type per column: any leaf will do.
      if (!isContainer(template[0])) {
        if (isContainer(item))
          throw new Error(`shape differs at ${path}[${i}]: a leaf in the fixture, ${describe(item)} sent`);
        return;
      }
      // Arrays of unions (a budget filter's `and`): an item must match one of the examples.
      const errors: Error[] = [];
      for (const model of template) {
        try {
          assertSameShape(model, item, `${path}[]`, rules);
          return;
        } catch (error) {
          errors.push(error as Error);
        }
      }
      throw errors[0]!;
    });
    return;
  }
  if (typeof template === 'object') {
    if (!value || typeof value !== 'object' || Array.isArray(value))
      throw new Error(`shape differs at ${where}: an object in the fixture, ${describe(value)} sent`);
    const t = template as Record<string, unknown>;
    const v = value as Record<string, unknown>;
    if (rules.maps?.includes(path)) {
      const sample = Object.values(t)[0];
      for (const [k, item] of Object.entries(v))
        if (sample !== undefined) assertSameShape(sample, item, `${path}.${k}`, rules);
      return;
    }
    const expected = Object.keys(t);
    const allowed = new Set([...expected, ...(rules.optionalKeys?.[path] ?? [])]);
    const extra = Object.keys(v).filter((k) => !allowed.has(k));
    const missing = expected.filter((k) => !(k in v) && !rules.optionalKeys?.[path]?.includes(k));
    if (extra.length || missing.length)
      throw new Error(
        `shape differs at ${where}:${missing.length ? ` missing ${missing.join(', ')}` : ''}${extra.length ? ` extra ${extra.join(', ')}` : ''}`,
      );
    for (const key of Object.keys(v))
      if (key in t) assertSameShape(t[key], v[key], path ? `${path}.${key}` : key, rules);
    return;
  }
  if (typeof template !== typeof value)
    throw new Error(`shape differs at ${where}: ${typeof template} in the fixture, ${describe(value)} sent`);
}

function isContainer(v: unknown): boolean {
  return typeof v === 'object' && v !== null;
}

function describe(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v;
}

function safeJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

// Scenario builders: fill a fixture template with a test's values, keeping its shape.

export interface UsageRow {
  /** UTC date YYYY-MM-DD. */
  date: string;
  cost: number;
  service: string;
  currency?: string;
}

/** A usage-details page (legacy rows, as the subscription scope returns them). */
export function usageDetailsBody(template: FixtureJson, rows: UsageRow[], nextLink?: string): FixtureJson {
  const model = template.value[0];
  const value = rows.map((r, i) => {
    const row = structuredClone(model);
    row.id = row.id.replace(/usageDetails_Id1$/, `usageDetails_${r.date}_${i}`);
    row.name = `usageDetails_${r.date}_${i}`;
    Object.assign(row.properties, {
      date: `${r.date}T00:00:00.0000000Z`,
      cost: r.cost,
      billingCurrency: r.currency ?? 'EUR',
      consumedService: r.service,
    });
    return row;
  });
  return nextLink ? { value, nextLink } : { value };
}

export function budgetBody(
  template: FixtureJson,
  b: { amount: number; spent: number; currency?: string; thresholds?: number[] },
): FixtureJson {
  const body = structuredClone(template);
  body.properties.amount = b.amount;
  body.properties.currentSpend = { amount: b.spent, unit: b.currency ?? 'EUR' };
  const model = Object.values(body.properties.notifications)[0];
  body.properties.notifications = Object.fromEntries(
    (b.thresholds ?? [80]).map((t) => [
      `Actual_GreaterThan_${t}_Percent`,
      { ...structuredClone(model as object), threshold: t },
    ]),
  );
  return body;
}

/** A Log Analytics result with one table; numbers are sent as strings, as in the published example. */
export function logsBody(
  template: FixtureJson,
  columns: { name: string; type: string }[],
  rows: (string | number | null)[][],
): FixtureJson {
  const body = structuredClone(template);
  body.tables = [
    {
      name: 'PrimaryResult',
      columns,
      rows: rows.map((r) => r.map((cell) => (typeof cell === 'number' ? String(cell) : cell))),
    },
  ];
  return body;
}

export interface MetricDatum {
  timeStamp: string;
  average?: number;
  minimum?: number;
  maximum?: number;
  total?: number;
}

/** A metrics response with one dimensionless series per metric. */
export function metricsBody(
  template: FixtureJson,
  resourceId: string,
  timespan: string,
  series: { name: string; unit: string; data: MetricDatum[] }[],
): FixtureJson {
  const model = template.value[0];
  return {
    ...structuredClone(template),
    timespan,
    interval: 'PT1H',
    namespace: 'Microsoft.Compute/virtualMachines',
    value: series.map((s) => ({
      ...structuredClone(model),
      id: `${resourceId}/providers/Microsoft.Insights/metrics/${s.name}`,
      name: { value: s.name, localizedValue: s.name },
      displayDescription: s.name,
      unit: s.unit,
      timeseries: [{ metadatavalues: [], data: s.data }],
    })),
  };
}

export interface OperationStatus {
  /** The operation's URL path (the Azure-AsyncOperation header's, without the query). */
  id: string;
  status: 'InProgress' | 'Succeeded' | 'Failed';
  startTime: string;
  endTime?: string;
  /** A failed operation's ARM error. */
  error?: { code: string; message: string };
}

/** An Azure-AsyncOperation status body (ARM's operation status resource). */
export function operationStatusBody(template: FixtureJson, o: OperationStatus): FixtureJson {
  const body = structuredClone(template);
  Object.assign(body, {
    id: o.id,
    name: o.id.split('/').at(-1),
    status: o.status,
    percentComplete: o.status === 'InProgress' ? 50 : 100,
    startTime: o.startTime,
    ...(o.endTime ? { endTime: o.endTime } : {}),
    ...(o.error ? { error: o.error } : {}),
  });
  return body;
}

/** An ARM error as a failed deployment carries it: code, message, and the errors behind it. */
export interface ArmError {
  code: string;
  message: string;
  target?: string;
  details?: ArmError[];
}

export interface DeploymentScenario {
  /** The what-if result's changes (WhatIfChange objects, as Resource Manager lists them). */
  changes?: FixtureJson[];
  /** Polls answered "still running" before each operation ends (default 1). */
  polls?: number;
  /** The deployment's outputs, by name (their values). */
  outputs?: Record<string, unknown>;
  /** The deployment fails with this error (DeploymentFailed, with its details). */
  error?: ArmError;
  /** The what-if ends with status Failed and this error. */
  whatIfError?: ArmError;
}

/**
 * Answers a subscription-scope what-if and deployment as Resource Manager does: the what-if POST
 * with 202 and a Location that answers 202 `polls` times, then the result; the deployment PUT
 * with 201 (provisioningState Accepted) and an Azure-AsyncOperation status that is InProgress
 * `polls` times, then Succeeded or Failed; the deployment GET with its final state and outputs.
 */
export function deploymentScenario(standin: AzureStandin, s: DeploymentScenario = {}): void {
  const polls = s.polls ?? 1;
  const version = 'api-version=2025-04-01';
  let whatIfPolls = 0;
  let statusPolls = 0;
  let startTime = '';
  let put: FixtureJson = {};
  standin.on('subscriptionWhatIf', (req) => {
    whatIfPolls = 0;
    const location = `${standin.url}/subscriptions/${req.path.split('/')[2]}/operationresults/whatif-${standin.requests.length}?${version}`;
    return { status: 202, body: undefined, headers: { location } };
  });
  standin.on('armOperationResult', (req, t) => {
    if (whatIfPolls++ < polls)
      return { status: 202, body: undefined, headers: { location: `${standin.url}${req.path}?${version}` } };
    t.properties.changes = s.changes ?? [];
    t.status = s.whatIfError ? 'Failed' : 'Succeeded';
    if (s.whatIfError) t.error = s.whatIfError;
    return t;
  });
  standin.on('subscriptionDeployment', (req) => {
    statusPolls = 0;
    startTime = new Date().toISOString();
    put = req.body ?? {};
    const body = deploymentBody(standin.template('subscriptionDeployment', 201), req.path, put, 'Accepted');
    const status = `${standin.url}${req.path}/operationStatuses/08585${standin.requests.length}?${version}`;
    return { status: 201, body, headers: { 'azure-asyncoperation': status } };
  });
  standin.on('deploymentOperationStatus', (req, t) => {
    const running = statusPolls++ < polls;
    const body = operationStatusBody(t, {
      id: req.path,
      status: running ? 'InProgress' : s.error ? 'Failed' : 'Succeeded',
      startTime,
      ...(running ? {} : { endTime: new Date().toISOString() }),
    });
    if (!running && s.error) body.error = s.error;
    return body;
  });
  standin.on('subscriptionDeploymentGet', (req, t) => {
    const body = deploymentBody(t, req.path, put, s.error ? 'Failed' : 'Succeeded');
    body.properties.outputs = Object.fromEntries(
      Object.entries(s.outputs ?? {}).map(([k, value]) => [k, { type: 'String', value }]),
    );
    if (s.error) body.properties.error = s.error;
    return body;
  });
}

/** A deployment body (DeploymentExtended) for the deployment at `path`, as `request` asked. */
function deploymentBody(
  template: FixtureJson,
  path: string,
  request: FixtureJson,
  state: string,
): FixtureJson {
  const body = structuredClone(template);
  body.id = path;
  body.name = path.split('/').at(-1);
  body.location = request.location ?? body.location;
  body.properties.provisioningState = state;
  body.properties.mode = request.properties?.mode ?? body.properties.mode;
  body.properties.parameters = Object.fromEntries(
    Object.entries((request.properties?.parameters ?? {}) as Record<string, { value: unknown }>).map(
      ([k, p]) => [k, { type: typeof p.value === 'object' ? 'Object' : 'String', value: p.value }],
    ),
  );
  // An inline template, not a template spec: the response has no templateLink.
  delete body.properties.templateLink;
  return body;
}
