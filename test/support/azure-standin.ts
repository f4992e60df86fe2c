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
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { AccessToken, TokenCredential } from '@azure/core-auth';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'azure-fixtures');

export type AzureRoute = 'usageDetails' | 'budget' | 'logsQuery' | 'metrics' | 'virtualMachine';

interface RouteSpec {
  method: string;
  path: RegExp;
  fixture: string;
  /** The api-versions answered; others get ARM's 400 `InvalidApiVersionParameter`. */
  apiVersions: string[] | null;
  shape?: ShapeRules;
}

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
  /** The fixture's `responses["200"].body`, deep-copied: the template for scenario bodies. */
  template(route: AzureRoute): FixtureJson;
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
  for (const [name, spec] of Object.entries(ROUTES) as [AzureRoute, RouteSpec][]) {
    const example = JSON.parse(await readFile(join(FIXTURES, spec.fixture), 'utf8'));
    templates.set(name, example.responses['200'].body);
  }
  const template = (route: AzureRoute) => structuredClone(templates.get(route));
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
        (r) => ROUTES[r].method === req.method && ROUTES[r].path.test(url.pathname),
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
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
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
        send(status, reply.body);
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

export interface ShapeRules {
  /** Keys a body may carry beyond the template's, by shape path (documented optional fields). */
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
    const missing = expected.filter((k) => !(k in v));
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
