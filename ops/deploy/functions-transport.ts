/**
 * How a functions package reaches the Function App: one interface, a transport per hosting plan,
 * the calls Azure/functions-action makes for that plan (our own code, same endpoints and shapes):
 *
 * - Flex Consumption: Kudu's One Deploy, `POST <scm>/api/publish?RemoteBuild=false` with the zip
 *   as the body (`application/zip`) and a Resource Manager bearer token. 200: deployed. 202: the
 *   body is a deployment id; `GET <scm>/api/deployments/<id>` is polled (200 or 202 while it runs,
 *   200 once it ended too) until `status` is terminal: 4 success, 6 partial success, 3 failed,
 *   -1 cancelled, 5 conflict. On a failure the deployment's `log_url` entries are read for the error.
 * - Linux Consumption: WEBSITE_RUN_FROM_PACKAGE (functions-transport-linux.ts).
 * - The local sandbox: the same One Deploy client against the sandbox's loopback endpoint
 *   (scripts/sandbox/functions-deploy.ts), so `--env local` runs the Flex code path.
 */
import type { TokenCredential } from '@azure/core-auth';
import type { OpsTarget } from '../config/ops-target.js';
import {
  bearerFromCredential,
  bearerKey,
  nodeHttpClient,
  snippet,
  type Authorization,
  type FunctionsTransport,
  type HttpClient,
} from './functions-transport-http.js';
import { linuxConsumptionTransport } from './functions-transport-linux.js';

export type { FunctionsTransport } from './functions-transport-http.js';

export type FunctionsPlan = 'flex-consumption' | 'linux-consumption';

/** Kudu's DeployStatus values (what GET /api/deployments/<id> reports in `status`). */
export const KUDU_STATUS = {
  cancelled: -1,
  pending: 0,
  building: 1,
  deploying: 2,
  failed: 3,
  success: 4,
  conflict: 5,
  partialSuccess: 6,
} as const;

const TERMINAL_FAILURES: Record<number, string> = { [-1]: 'cancelled', 3: 'failed', 5: 'conflict' };

export interface OneDeployOptions {
  /** The SCM (Kudu) base URL, no trailing slash needed. */
  scmUrl: string;
  authorization: Authorization;
  http?: HttpClient;
  /** Shown in reports. */
  description?: string;
  /** The commit being deployed: goes into the deployment's message (the app's deployment history). */
  commitSha?: string;
  /** Default 5 s, as functions-action. */
  pollIntervalMs?: number;
  /** How long the deployment may take once uploaded; default 10 min. */
  timeoutMs?: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

interface KuduDeployment {
  id?: string;
  status?: number;
  status_text?: string;
  complete?: boolean;
  log_url?: string | null;
}

export function oneDeployTransport(options: OneDeployOptions): FunctionsTransport {
  const scm = options.scmUrl.replace(/\/+$/, '');
  const http = options.http ?? nodeHttpClient();
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const now = options.now ?? Date.now;
  const interval = options.pollIntervalMs ?? 5_000;
  const timeoutMs = options.timeoutMs ?? 600_000;
  const call = async (method: 'GET' | 'POST', url: string, extra: Partial<Parameters<HttpClient>[0]> = {}) =>
    http({
      method,
      url,
      ...extra,
      headers: { authorization: await options.authorization(), ...extra.headers },
    });
  const refused = (status: number, text: string) =>
    status === 401 || status === 403
      ? `${scm} refused the credential (${status}): the deploying identity needs a role that may publish ` +
        `to the app (Website Contributor or Contributor on the Function App)${text ? `: ${snippet(text)}` : ''}`
      : `${status}${text ? `: ${snippet(text)}` : ''}`;

  return {
    description: options.description ?? `One Deploy (${scm}/api/publish)`,
    async deploy(zipPath, log) {
      const query = new URLSearchParams({
        RemoteBuild: 'false',
        Deployer: 'ops-deploy',
        message: JSON.stringify({ type: 'deployment', sha: options.commitSha ?? null }),
      });
      log(`uploading the package to ${scm}/api/publish`);
      const res = await call('POST', `${scm}/api/publish?${query}`, {
        headers: { 'content-type': 'application/zip' },
        body: { file: zipPath },
        timeoutMs: 600_000,
      });
      if (res.status === 200) {
        log('deployed (the SCM site answered 200)');
        return;
      }
      if (res.status !== 202)
        throw new Error(`One Deploy POST /api/publish: ${refused(res.status, res.text)}`);
      const id = deploymentId(res.text);
      if (!id) {
        log('accepted (202) without a deployment id: /health will tell when it runs');
        return;
      }
      log(`accepted as deployment ${id}; polling ${scm}/api/deployments/${id}`);
      const deadline = now() + timeoutMs;
      let last = '';
      for (;;) {
        const poll = await call('GET', `${scm}/api/deployments/${encodeURIComponent(id)}`);
        if (poll.status !== 200 && poll.status !== 202)
          throw new Error(`One Deploy GET /api/deployments/${id}: ${refused(poll.status, poll.text)}`);
        const d = parseJson<KuduDeployment>(poll.text, `deployment ${id}`);
        const status = d.status;
        if (status === KUDU_STATUS.success) {
          log(`deployment ${id}: success${d.status_text ? ` (${d.status_text})` : ''}`);
          return;
        }
        if (status === KUDU_STATUS.partialSuccess) {
          // functions-action accepts it; the stage's /health wait is the real check.
          log(`deployment ${id}: partial success (${d.status_text ?? 'no text'}); /health decides`);
          return;
        }
        if (status !== undefined && status in TERMINAL_FAILURES) {
          const lines = await deploymentLog(d.log_url, call);
          throw new Error(
            `deployment ${id} ${TERMINAL_FAILURES[status]}${d.status_text ? `: ${d.status_text}` : ''}` +
              (lines.length ? `\n${lines.join('\n')}` : ''),
          );
        }
        const state = `status ${status ?? 'missing'}${d.status_text ? ` (${d.status_text})` : ''}`;
        if (state !== last) log(`deployment ${id}: ${state}`);
        last = state;
        if (now() >= deadline)
          throw new Error(
            `deployment ${id} did not finish in ${Math.round(timeoutMs / 1000)} s (last: ${state})`,
          );
        await sleep(interval);
      }
    },
  };
}

/** Kudu answers the id as text, or as a JSON string. */
function deploymentId(text: string): string | null {
  const t = text.trim();
  if (!t) return null;
  try {
    const parsed: unknown = JSON.parse(t);
    if (typeof parsed === 'string') return parsed || null;
    if (parsed && typeof parsed === 'object' && typeof (parsed as { id?: unknown }).id === 'string')
      return (parsed as { id: string }).id;
  } catch {
    // plain text
  }
  return /^[\w.-]+$/.test(t) ? t : null;
}

function parseJson<T>(text: string, what: string): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(`${what}: the SCM site answered no JSON: ${snippet(text)}`);
  }
}

/** The deployment's log entries (and one level of their details), at most 40 lines; [] when unreadable. */
async function deploymentLog(
  url: string | null | undefined,
  call: (method: 'GET', url: string) => Promise<{ status: number; text: string }>,
): Promise<string[]> {
  if (!url) return [];
  const lines: string[] = [];
  const read = async (u: string, depth: number) => {
    try {
      const res = await call('GET', u);
      if (res.status !== 200) return;
      const entries = JSON.parse(res.text) as { message?: string; details_url?: string | null }[];
      for (const e of Array.isArray(entries) ? entries : []) {
        if (lines.length >= 40) return;
        if (e.message) lines.push(`  ${e.message}`);
        if (e.details_url && depth < 1) await read(e.details_url, depth + 1);
      }
    } catch {
      // the log is a help, not the verdict
    }
  };
  await read(url, 0);
  return lines;
}

export interface TransportForOptions {
  /** Azure: DefaultAzureCredential in production (the azure/login OIDC session in Actions). */
  credential?: TokenCredential;
  /** The commit being deployed, for the deployment's message. */
  commitSha?: string;
  http?: HttpClient;
  /** Resource Manager (Linux Consumption); default https://management.azure.com. */
  armUrl?: string;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

/** The transport for an environment: the sandbox's endpoint, else by `deploy.functions.plan`. */
export function functionsTransportFor(
  target: OpsTarget,
  options: TransportForOptions = {},
): FunctionsTransport {
  if (target.local) {
    const d = target.local.functionsDeploy;
    if (!d)
      throw new Error(
        'the running sandbox has no functions deploy endpoint (functionsDeploy in env.json): restart `npm run dev` from this checkout',
      );
    target.secrets.track(d.key);
    return oneDeployTransport({
      scmUrl: d.url,
      authorization: bearerKey(d.key),
      http: options.http,
      description: `the sandbox's One Deploy endpoint (${d.url}/api/publish)`,
      commitSha: options.commitSha,
      pollIntervalMs: 200,
      timeoutMs: 120_000,
      sleep: options.sleep,
      now: options.now,
    });
  }
  const azure = target.config.azure;
  if (!azure) throw new Error(`environment "${target.name}" configures no azure section (functionApp)`);
  if (!options.credential) throw new Error('deploying to Azure needs a credential (DefaultAzureCredential)');
  const fn = target.config.deploy?.functions;
  const plan: FunctionsPlan = fn?.plan ?? 'flex-consumption';
  const authorization = bearerFromCredential(options.credential);
  if (plan === 'linux-consumption')
    return linuxConsumptionTransport({
      armUrl: options.armUrl,
      subscriptionId: azure.subscriptionId,
      resourceGroup: azure.resourceGroup,
      functionApp: azure.functionApp,
      authorization,
      credential: options.credential,
      http: options.http,
      sleep: options.sleep,
      mask: (value) => target.secrets.track(value),
    });
  const scmUrl = fn?.scmUrl ?? `https://${azure.functionApp}.scm.azurewebsites.net`;
  return oneDeployTransport({
    scmUrl,
    authorization,
    http: options.http,
    description: `One Deploy to ${azure.functionApp} (Flex Consumption, ${scmUrl})`,
    commitSha: options.commitSha,
    sleep: options.sleep,
    now: options.now,
  });
}
