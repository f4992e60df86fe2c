/**
 * The few Cloudflare Pages API calls the pages stage makes itself (the deploy is wrangler's): the
 * project with its current production deployment, one deployment, and the rollback to an earlier
 * production deployment (POST .../deployments/{id}/rollback). Plain fetch with the API token, at
 * the base wrangler uses (CLOUDFLARE_API_BASE_URL), so tests point both at one stand-in.
 */
export const CLOUDFLARE_API = 'https://api.cloudflare.com/client/v4';

export interface PagesApi {
  baseUrl: string;
  accountId: string;
  token: string;
  timeoutMs?: number;
}

/** The fields of a Pages deployment the stage reads (Cloudflare's `deployment` object). */
export interface PagesDeploymentObject {
  id: string;
  short_id?: string;
  url: string;
  environment: 'production' | 'preview';
  created_on?: string;
  aliases?: string[] | null;
  latest_stage?: { name: string; status: string } | null;
  deployment_trigger?: { type?: string; metadata?: { branch?: string; commit_hash?: string } };
}

export interface PagesProjectObject {
  name: string;
  production_branch: string;
  subdomain?: string;
  /** The deployment production serves now. */
  canonical_deployment?: PagesDeploymentObject | null;
  latest_deployment?: PagesDeploymentObject | null;
}

export class PagesApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly codes: number[],
  ) {
    super(message);
  }
}

async function call<T>(api: PagesApi, method: 'GET' | 'POST', path: string): Promise<T> {
  const response = await fetch(`${api.baseUrl.replace(/\/+$/, '')}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${api.token}`,
      ...(method === 'POST' ? { 'content-type': 'application/json' } : {}),
    },
    ...(method === 'POST' ? { body: '{}' } : {}),
    signal: AbortSignal.timeout(api.timeoutMs ?? 30_000),
  });
  const text = await response.text();
  let body: { success?: boolean; result?: T; errors?: { code: number; message: string }[] };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    throw new PagesApiError(`${method} ${path}: HTTP ${response.status}, not JSON`, response.status, []);
  }
  if (!response.ok || body.success === false) {
    const errors = body.errors ?? [];
    const detail = errors.map((e) => `${e.code}: ${e.message}`).join('; ') || 'no error given';
    throw new PagesApiError(
      `${method} ${path}: HTTP ${response.status} (${detail})`,
      response.status,
      errors.map((e) => e.code),
    );
  }
  return body.result as T;
}

const projectPath = (api: PagesApi, project: string) =>
  `/accounts/${encodeURIComponent(api.accountId)}/pages/projects/${encodeURIComponent(project)}`;

export const getProject = (api: PagesApi, project: string) =>
  call<PagesProjectObject>(api, 'GET', projectPath(api, project));

export const getDeployment = (api: PagesApi, project: string, id: string) =>
  call<PagesDeploymentObject>(
    api,
    'GET',
    `${projectPath(api, project)}/deployments/${encodeURIComponent(id)}`,
  );

/** Makes the earlier production deployment `id` the one production serves. */
export const rollbackTo = (api: PagesApi, project: string, id: string) =>
  call<PagesDeploymentObject>(
    api,
    'POST',
    `${projectPath(api, project)}/deployments/${encodeURIComponent(id)}/rollback`,
  );

/** Cloudflare's code for "project not found". */
export const PROJECT_NOT_FOUND = 8000007;
