/**
 * A loopback GitHub REST stand-in for tests: issues (list/get/create/update), issue comments
 * (create/list/update), labels (get/create), repository workflow runs, and deployments with their
 * statuses (list/get/create, `auto_inactive` as GitHub does it). Every request is validated
 * against GitHub's published OpenAPI description (`@octokit/openapi`): the path and method must
 * exist, query parameters must be known (and within their enums), and a JSON body must satisfy the
 * operation's schema (ajv). Invalid requests get GitHub's 404/422 answers and are recorded in
 * `violations`; responses are built from the description's examples and validated against the
 * response schema too, so a shape mistake here is also a violation.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

// ajv-formats is CommonJS: under NodeNext its default export arrives wrapped once more.
type AddFormats = (ajv: Ajv) => Ajv;
const wrapped = addFormatsModule as unknown as AddFormats | { default: AddFormats };
const addFormats: AddFormats = typeof wrapped === 'function' ? wrapped : wrapped.default;

type Json = Record<string, unknown>;
interface Parameter {
  name: string;
  in: 'query' | 'path' | 'header' | 'cookie';
  required?: boolean;
  schema?: { type?: string | string[]; enum?: unknown[] };
}
interface Operation {
  operationId: string;
  parameters?: (Parameter | { $ref: string })[];
  requestBody?: { required?: boolean; content?: Record<string, unknown> };
  responses: Record<string, { $ref?: string; content?: Record<string, unknown> }>;
}
interface Route {
  template: string;
  pattern: RegExp;
  paramNames: string[];
  methods: Record<string, Operation>;
  pathParameters: (Parameter | { $ref: string })[];
}

/** The parsed OpenAPI description with routes and a shared ajv instance; loaded once per process. */
export interface GitHubOpenApi {
  routes: Route[];
  examples: Record<string, Json>;
  parameters: Record<string, Parameter>;
  /** Validator for a JSON pointer into the description (e.g. `#/components/schemas/issue`). */
  validator(pointer: string): ValidateFunction;
  /** Checks `value` against the schema at `pointer`, sharing compiled component schemas. */
  validate(pointer: string, value: unknown): string | null;
}

let cached: GitHubOpenApi | undefined;

export function loadGitHubOpenApi(): GitHubOpenApi {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  const file = require.resolve('@octokit/openapi/generated/api.github.com.json');
  const spec = JSON.parse(readFileSync(file, 'utf8')) as {
    paths: Record<string, Record<string, unknown>>;
    components: { parameters: Record<string, Parameter>; examples: Record<string, { value: Json }> };
  };
  toJsonSchemaNullable(spec.components);
  toJsonSchemaNullable(spec.paths);
  const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false });
  addFormats(ajv);
  ajv.addSchema({ $id: 'gh', components: spec.components, paths: spec.paths });
  const validators = new Map<string, ValidateFunction>();
  const routes: Route[] = Object.entries(spec.paths).map(([template, item]) => {
    const paramNames: string[] = [];
    const source = template
      .split(/(\{[^}]+\})/)
      .map((part) => {
        const m = /^\{([^}]+)\}$/.exec(part);
        if (!m) return part.replace(/[.*+?^$()|[\]\\]/g, '\\$&');
        paramNames.push(m[1]!);
        return '([^/]+)';
      })
      .join('');
    const methods: Record<string, Operation> = {};
    for (const [key, value] of Object.entries(item)) {
      if (['get', 'post', 'put', 'patch', 'delete', 'head'].includes(key)) methods[key] = value as Operation;
    }
    return {
      template,
      pattern: new RegExp(`^${source}$`),
      paramNames,
      methods,
      pathParameters: (item['parameters'] as Route['pathParameters']) ?? [],
    };
  });
  // Literal segments win over parameters (`/issues/comments` before `/issues/{issue_number}`).
  routes.sort((a, b) => a.paramNames.length - b.paramNames.length);
  const examples = Object.fromEntries(Object.entries(spec.components.examples).map(([k, v]) => [k, v.value]));
  const resolve = (pointer: string): unknown =>
    pointer
      .replace(/^#\//, '')
      .split('/')
      .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
      .reduce<unknown>((node, key) => (node as Json | undefined)?.[key], spec);
  const validator = (pointer: string) => {
    let v = validators.get(pointer);
    if (!v) {
      v = ajv.compile({ $ref: `gh${pointer}` });
      validators.set(pointer, v);
    }
    return v;
  };
  const describe = (v: ValidateFunction) => JSON.stringify(v.errors?.slice(0, 3));
  cached = {
    routes,
    examples,
    parameters: spec.components.parameters,
    validator,
    validate(pointer, value) {
      // Compile `#/components/schemas/issue` once rather than once per operation that returns it.
      const schema = resolve(pointer) as Json | undefined;
      const ref = schema?.['$ref'];
      if (typeof ref === 'string') return this.validate(ref, value);
      const itemRef = (schema?.['items'] as Json | undefined)?.['$ref'];
      if (schema?.['type'] === 'array' && typeof itemRef === 'string') {
        if (!Array.isArray(value)) return 'must be an array';
        const v = validator(itemRef);
        for (const item of value) if (!v(item)) return describe(v);
        return null;
      }
      const v = validator(pointer);
      return v(value) ? null : describe(v);
    },
  };
  return cached;
}

/** OpenAPI 3.0 `nullable` is not JSON Schema: rewrite it in place (type: [t, 'null'] or anyOf). */
function toJsonSchemaNullable(node: unknown): unknown {
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) node[i] = toJsonSchemaNullable(node[i]);
    return node;
  }
  if (!node || typeof node !== 'object') return node;
  const obj = node as Json;
  for (const key of Object.keys(obj)) obj[key] = toJsonSchemaNullable(obj[key]);
  if (obj['nullable'] === true) {
    delete obj['nullable'];
    if (typeof obj['type'] === 'string') {
      obj['type'] = [obj['type'], 'null'];
      if (Array.isArray(obj['enum']) && !obj['enum'].includes(null)) obj['enum'] = [...obj['enum'], null];
      return obj;
    }
    return { anyOf: [obj, { type: 'null' }] };
  }
  if (obj['nullable'] === false) delete obj['nullable'];
  return obj;
}

const escapePointer = (s: string) => s.replace(/~/g, '~0').replace(/\//g, '~1');

export interface StandinIssue {
  number: number;
  title: string;
  body: string | null;
  state: 'open' | 'closed';
  state_reason: string | null;
  labels: string[];
  created_at: string;
  updated_at: string;
  closed_at: string | null;
  comments: StandinComment[];
}
export interface StandinComment {
  id: number;
  body: string;
  created_at: string;
}
export interface StandinWorkflowRun {
  id: number;
  name: string;
  /** Workflow file, e.g. `.github/workflows/backup.yml`. */
  path: string;
  run_number: number;
  event: string;
  head_branch: string;
  status: 'completed' | 'in_progress' | 'queued';
  conclusion: 'success' | 'failure' | 'cancelled' | 'timed_out' | null;
  created_at: string;
}
export interface StandinDeploymentStatus {
  id: number;
  state: 'error' | 'failure' | 'inactive' | 'in_progress' | 'queued' | 'pending' | 'success';
  description: string;
  environment: string;
  environment_url: string;
  log_url: string;
  created_at: string;
}
export interface StandinDeployment {
  id: number;
  sha: string;
  ref: string;
  task: string;
  environment: string;
  payload: Record<string, unknown> | string;
  description: string | null;
  transient_environment: boolean;
  production_environment: boolean;
  created_at: string;
  /** Oldest first (the API lists them newest first). */
  statuses: StandinDeploymentStatus[];
}
export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  /** The JSON body, when there was one. */
  body?: Record<string, unknown>;
  status: number;
  operationId?: string;
  authorization?: string;
}

export interface GitHubStandinOptions {
  owner?: string;
  repo?: string;
  /** The token requests must carry; default a random one. */
  token?: string;
  /** Delay before each answer, to interleave concurrent clients deterministically. */
  latencyMs?: number;
  /** Clock for created_at/updated_at; default Date.now. */
  now?: () => number;
}

export interface GitHubStandin {
  /** Base URL for Octokit (`baseUrl`, i.e. GITHUB_API_URL). */
  url: string;
  owner: string;
  repo: string;
  /** `owner/repo` (GITHUB_REPOSITORY). */
  repository: string;
  token: string;
  issues: StandinIssue[];
  labels: Map<string, { id: number; name: string; color: string; description: string | null }>;
  workflowRuns: StandinWorkflowRun[];
  deployments: StandinDeployment[];
  /** Branches and tags a deployment's `ref` may name, with their SHA (a full SHA needs none). */
  refs: Map<string, string>;
  /** repository_dispatch events received (the uptime probe's state changes). */
  dispatches: { event_type: string; client_payload: unknown }[];
  requests: RecordedRequest[];
  /** Invalid requests and invalid responses; a correct client leaves this empty. */
  violations: string[];
  addWorkflowRun(
    run: Partial<StandinWorkflowRun> & Pick<StandinWorkflowRun, 'name' | 'created_at'>,
  ): StandinWorkflowRun;
  /** A deployment made earlier, with its statuses' states in order (no auto_inactive applied). */
  addDeployment(
    deployment: Partial<Omit<StandinDeployment, 'statuses'>> & Pick<StandinDeployment, 'sha' | 'created_at'>,
    states?: StandinDeploymentStatus['state'][],
  ): StandinDeployment;
  /** Throws when any request or response broke the description. */
  assertNoViolations(): void;
  close(): Promise<void>;
}

export async function startGitHubStandin(options: GitHubStandinOptions = {}): Promise<GitHubStandin> {
  const api = loadGitHubOpenApi();
  const owner = options.owner ?? 'acme';
  const repo = options.repo ?? 'mqtt-saas';
  const token = options.token ?? `ghs_standin${Math.random().toString(36).slice(2)}`;
  const now = options.now ?? Date.now;
  const iso = () => new Date(now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
  let nextId = 1000;
  const state: GitHubStandin = {
    url: '',
    owner,
    repo,
    repository: `${owner}/${repo}`,
    token,
    issues: [],
    labels: new Map(),
    workflowRuns: [],
    deployments: [],
    refs: new Map(),
    dispatches: [],
    requests: [],
    violations: [],
    addWorkflowRun(run) {
      const id = run.id ?? ++nextId;
      const full: StandinWorkflowRun = {
        id,
        path: `.github/workflows/${run.name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}.yml`,
        run_number: state.workflowRuns.length + 1,
        event: 'schedule',
        head_branch: 'main',
        status: 'completed',
        conclusion: 'success',
        ...run,
      };
      state.workflowRuns.push(full);
      return full;
    },
    addDeployment(deployment, states = []) {
      const full: StandinDeployment = {
        id: ++nextId,
        ref: deployment.sha,
        task: 'deploy',
        environment: 'production',
        payload: {},
        description: null,
        transient_environment: false,
        production_environment: (deployment.environment ?? 'production') === 'production',
        ...deployment,
        statuses: [],
      };
      for (const state of states)
        full.statuses.push({
          id: ++nextId,
          state,
          description: '',
          environment: full.environment,
          environment_url: '',
          log_url: '',
          created_at: full.created_at,
        });
      state.deployments.push(full);
      return full;
    },
    assertNoViolations() {
      if (state.violations.length > 0)
        throw new Error(`GitHub stand-in saw invalid traffic:\n${state.violations.join('\n')}`);
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };

  const apiBase = () => state.url;
  const htmlBase = `https://github.com/${owner}/${repo}`;
  const repoApi = () => `${apiBase()}/repos/${owner}/${repo}`;

  const renderLabel = (name: string) => {
    const label = state.labels.get(name) ?? { id: 0, name, color: 'ededed', description: null };
    return {
      ...api.examples['label'],
      id: label.id,
      node_id: `LA_${label.id}`,
      url: `${repoApi()}/labels/${encodeURIComponent(name)}`,
      name,
      color: label.color,
      description: label.description,
      default: false,
    };
  };
  const renderIssue = (issue: StandinIssue) => {
    const out: Json = {
      ...api.examples['issue'],
      id: 500_000 + issue.number,
      node_id: `I_${issue.number}`,
      url: `${repoApi()}/issues/${issue.number}`,
      repository_url: repoApi(),
      labels_url: `${repoApi()}/issues/${issue.number}/labels{/name}`,
      comments_url: `${repoApi()}/issues/${issue.number}/comments`,
      events_url: `${repoApi()}/issues/${issue.number}/events`,
      html_url: `${htmlBase}/issues/${issue.number}`,
      number: issue.number,
      state: issue.state,
      state_reason: issue.state_reason,
      title: issue.title,
      body: issue.body,
      labels: issue.labels.map(renderLabel),
      assignee: null,
      assignees: [],
      milestone: null,
      locked: false,
      active_lock_reason: null,
      comments: issue.comments.length,
      created_at: issue.created_at,
      updated_at: issue.updated_at,
      closed_at: issue.closed_at,
      closed_by: null,
      pinned_comment: null,
    };
    delete out['pull_request']; // present only on pull requests
    return out;
  };
  const renderComment = (issue: StandinIssue, c: StandinComment) => ({
    ...api.examples['issue-comment'],
    id: c.id,
    node_id: `IC_${c.id}`,
    url: `${repoApi()}/issues/comments/${c.id}`,
    html_url: `${htmlBase}/issues/${issue.number}#issuecomment-${c.id}`,
    body: c.body,
    created_at: c.created_at,
    updated_at: c.created_at,
    issue_url: `${repoApi()}/issues/${issue.number}`,
  });
  const renderRun = (run: StandinWorkflowRun) => {
    const example = api.examples['workflow-run']!;
    return {
      ...example,
      id: run.id,
      name: run.name,
      node_id: `WFR_${run.id}`,
      head_branch: run.head_branch,
      path: run.path,
      display_title: run.name,
      run_number: run.run_number,
      event: run.event,
      status: run.status,
      conclusion: run.conclusion,
      url: `${repoApi()}/actions/runs/${run.id}`,
      html_url: `${htmlBase}/actions/runs/${run.id}`,
      created_at: run.created_at,
      updated_at: run.created_at,
      run_started_at: run.created_at,
      jobs_url: `${repoApi()}/actions/runs/${run.id}/jobs`,
      logs_url: `${repoApi()}/actions/runs/${run.id}/logs`,
      artifacts_url: `${repoApi()}/actions/runs/${run.id}/artifacts`,
      cancel_url: `${repoApi()}/actions/runs/${run.id}/cancel`,
      rerun_url: `${repoApi()}/actions/runs/${run.id}/rerun`,
    };
  };

  const deploymentApi = (d: StandinDeployment) => `${repoApi()}/deployments/${d.id}`;
  const renderDeployment = (d: StandinDeployment) => ({
    ...api.examples['deployment'],
    url: deploymentApi(d),
    id: d.id,
    node_id: `DE_${d.id}`,
    sha: d.sha,
    ref: d.ref,
    task: d.task,
    payload: d.payload,
    original_environment: d.environment,
    environment: d.environment,
    description: d.description,
    created_at: d.created_at,
    updated_at: d.statuses.at(-1)?.created_at ?? d.created_at,
    statuses_url: `${deploymentApi(d)}/statuses`,
    repository_url: repoApi(),
    transient_environment: d.transient_environment,
    production_environment: d.production_environment,
    performed_via_github_app: null,
  });
  const renderDeploymentStatus = (d: StandinDeployment, st: StandinDeploymentStatus) => ({
    ...api.examples['deployment-status'],
    url: `${deploymentApi(d)}/statuses/${st.id}`,
    id: st.id,
    node_id: `DES_${st.id}`,
    state: st.state,
    description: st.description,
    environment: st.environment,
    // GitHub answers '' for URLs never set, which its own description (format: uri) refuses: the
    // stand-in leaves the optional ones out and points the required one at the deployments page.
    target_url: st.log_url || `${htmlBase}/deployments`,
    ...(st.log_url ? { log_url: st.log_url } : {}),
    ...(st.environment_url ? { environment_url: st.environment_url } : {}),
    created_at: st.created_at,
    updated_at: st.created_at,
    deployment_url: deploymentApi(d),
    repository_url: repoApi(),
    performed_via_github_app: null,
  });
  const findDeployment = (params: Record<string, string>) =>
    state.deployments.find((d) => d.id === Number(params['deployment_id']));

  const findIssue = (params: Record<string, string>) =>
    state.issues.find((i) => i.number === Number(params['issue_number']));

  /** One page of `items` and GitHub's Link header for the others. */
  const paginate = <T>(
    items: T[],
    query: Record<string, string>,
    path: string,
  ): { page: T[]; headers: Record<string, string> } => {
    const perPage = Math.min(100, Math.max(1, Number(query['per_page'] ?? 30)));
    const page = Math.max(1, Number(query['page'] ?? 1));
    const last = Math.max(1, Math.ceil(items.length / perPage));
    const link = (p: number) => {
      const q = new URLSearchParams({ ...query, per_page: String(perPage), page: String(p) });
      return `<${apiBase()}${path}?${q.toString()}>`;
    };
    const rels: string[] = [];
    if (page > 1) rels.push(`${link(page - 1)}; rel="prev"`);
    if (page < last) rels.push(`${link(page + 1)}; rel="next"`);
    if (page < last) rels.push(`${link(last)}; rel="last"`);
    if (page > 1) rels.push(`${link(1)}; rel="first"`);
    return {
      page: items.slice((page - 1) * perPage, page * perPage),
      headers: rels.length ? { link: rels.join(', ') } : {},
    };
  };

  type Handler = (ctx: {
    params: Record<string, string>;
    query: Record<string, string>;
    body: Json;
    path: string;
  }) => { status: number; body: unknown; headers?: Record<string, string> };

  const notFound = {
    status: 404,
    body: { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' },
  };
  const handlers: Record<string, Handler> = {
    'issues/list-for-repo': ({ query, path }) => {
      const wanted = (query['labels'] ?? '').split(',').filter(Boolean);
      const stateFilter = query['state'] ?? 'open';
      const sort = query['sort'] ?? 'created';
      const dir = query['direction'] ?? 'desc';
      const items = state.issues
        .filter((i) => stateFilter === 'all' || i.state === stateFilter)
        .filter((i) => wanted.every((l) => i.labels.includes(l)))
        .sort((a, b) => {
          const key = sort === 'updated' ? 'updated_at' : 'created_at';
          const c = a[key].localeCompare(b[key]) || a.number - b.number;
          return dir === 'asc' ? c : -c;
        });
      const { page, headers } = paginate(items, query, path);
      return { status: 200, body: page.map(renderIssue), headers };
    },
    'issues/get': ({ params }) => {
      const issue = findIssue(params);
      return issue ? { status: 200, body: renderIssue(issue) } : notFound;
    },
    'issues/create': ({ body }) => {
      const labels = ((body['labels'] as unknown[]) ?? []).map((l) =>
        typeof l === 'string' ? l : String((l as Json)['name']),
      );
      // Like GitHub, labels that do not exist yet are created.
      for (const name of labels) ensureLabel(name);
      const issue: StandinIssue = {
        number: state.issues.length + 1,
        title: String(body['title']),
        body: (body['body'] as string | undefined) ?? null,
        state: 'open',
        state_reason: null,
        labels,
        created_at: iso(),
        updated_at: iso(),
        closed_at: null,
        comments: [],
      };
      state.issues.push(issue);
      return { status: 201, body: renderIssue(issue) };
    },
    'issues/update': ({ params, body }) => {
      const issue = findIssue(params);
      if (!issue) return notFound;
      if (typeof body['title'] === 'string') issue.title = body['title'];
      if (typeof body['body'] === 'string') issue.body = body['body'];
      if (Array.isArray(body['labels'])) {
        issue.labels = body['labels'].map((l) => (typeof l === 'string' ? l : String((l as Json)['name'])));
        for (const name of issue.labels) ensureLabel(name);
      }
      if (body['state'] === 'closed' && issue.state === 'open') {
        issue.state = 'closed';
        issue.closed_at = iso();
        issue.state_reason = (body['state_reason'] as string | undefined) ?? 'completed';
      } else if (body['state'] === 'open' && issue.state === 'closed') {
        issue.state = 'open';
        issue.closed_at = null;
        issue.state_reason = 'reopened';
      }
      issue.updated_at = iso();
      return { status: 200, body: renderIssue(issue) };
    },
    'issues/create-comment': ({ params, body }) => {
      const issue = findIssue(params);
      if (!issue) return notFound;
      const comment = { id: ++nextId, body: String(body['body']), created_at: iso() };
      issue.comments.push(comment);
      issue.updated_at = iso();
      return { status: 201, body: renderComment(issue, comment) };
    },
    'issues/update-comment': ({ params, body }) => {
      for (const issue of state.issues) {
        const comment = issue.comments.find((c) => c.id === Number(params['comment_id']));
        if (!comment) continue;
        comment.body = String(body['body']);
        issue.updated_at = iso();
        return { status: 200, body: renderComment(issue, comment) };
      }
      return notFound;
    },
    'issues/list-comments': ({ params, query, path }) => {
      const issue = findIssue(params);
      if (!issue) return notFound;
      const { page, headers } = paginate(issue.comments, query, path);
      return { status: 200, body: page.map((c) => renderComment(issue, c)), headers };
    },
    'issues/get-label': ({ params }) =>
      state.labels.has(params['name']!) ? { status: 200, body: renderLabel(params['name']!) } : notFound,
    'issues/create-label': ({ body }) => {
      const name = String(body['name']);
      if (state.labels.has(name))
        return {
          status: 422,
          body: {
            message: 'Validation Failed',
            errors: [{ resource: 'Label', code: 'already_exists', field: 'name' }],
            documentation_url: 'https://docs.github.com/rest/issues/labels#create-a-label',
          },
        };
      ensureLabel(name, body['color'] as string | undefined, body['description'] as string | undefined);
      return { status: 201, body: renderLabel(name) };
    },
    'repos/create-dispatch-event': ({ body }) => {
      state.dispatches.push({
        event_type: String(body['event_type']),
        client_payload: body['client_payload'],
      });
      return { status: 204, body: undefined };
    },
    'repos/list-deployments': ({ query, path }) => {
      const items = state.deployments
        .filter((d) => !query['sha'] || d.sha === query['sha'])
        .filter((d) => !query['ref'] || d.ref === query['ref'])
        .filter((d) => !query['task'] || d.task === query['task'])
        .filter((d) => !query['environment'] || d.environment === query['environment'])
        .sort((a, b) => b.created_at.localeCompare(a.created_at) || b.id - a.id);
      const { page, headers } = paginate(items, query, path);
      return { status: 200, body: page.map(renderDeployment), headers };
    },
    'repos/get-deployment': ({ params }) => {
      const d = findDeployment(params);
      return d ? { status: 200, body: renderDeployment(d) } : notFound;
    },
    'repos/create-deployment': ({ body }) => {
      const ref = String(body['ref']);
      const sha = /^[0-9a-f]{40}$/.test(ref) ? ref : state.refs.get(ref);
      if (!sha)
        return {
          status: 422,
          body: {
            message: `No ref found for: ${ref}`,
            documentation_url: 'https://docs.github.com/rest/deployments/deployments#create-a-deployment',
          },
        };
      const environment = (body['environment'] as string | undefined) ?? 'production';
      const d = state.addDeployment({
        sha,
        ref,
        task: (body['task'] as string | undefined) ?? 'deploy',
        environment,
        payload: (body['payload'] as StandinDeployment['payload'] | undefined) ?? {},
        description: (body['description'] as string | null | undefined) ?? '',
        transient_environment: body['transient_environment'] === true,
        production_environment:
          (body['production_environment'] as boolean | undefined) ?? environment === 'production',
        created_at: iso(),
      });
      return { status: 201, body: renderDeployment(d) };
    },
    'repos/list-deployment-statuses': ({ params, query, path }) => {
      const d = findDeployment(params);
      if (!d) return notFound;
      const { page, headers } = paginate([...d.statuses].reverse(), query, path);
      return { status: 200, body: page.map((st) => renderDeploymentStatus(d, st)), headers };
    },
    'repos/create-deployment-status': ({ params, body }) => {
      const d = findDeployment(params);
      if (!d) return notFound;
      const st: StandinDeploymentStatus = {
        id: ++nextId,
        state: body['state'] as StandinDeploymentStatus['state'],
        description: (body['description'] as string | undefined) ?? '',
        environment:
          (body['environment'] as string | undefined) ?? d.statuses.at(-1)?.environment ?? d.environment,
        environment_url: (body['environment_url'] as string | undefined) ?? '',
        log_url: ((body['log_url'] ?? body['target_url']) as string | undefined) ?? '',
        created_at: iso(),
      };
      d.statuses.push(st);
      // GitHub's auto_inactive (default true): earlier successful deployments of the same
      // non-transient, non-production environment get an `inactive` status.
      if (st.state === 'success' && body['auto_inactive'] !== false)
        for (const other of state.deployments) {
          if (other === d || other.environment !== d.environment || other.id > d.id) continue;
          if (other.transient_environment || other.production_environment) continue;
          if (other.statuses.at(-1)?.state !== 'success') continue;
          other.statuses.push({
            ...other.statuses.at(-1)!,
            id: ++nextId,
            state: 'inactive',
            created_at: iso(),
          });
        }
      return { status: 201, body: renderDeploymentStatus(d, st) };
    },
    'actions/list-workflow-runs-for-repo': ({ query, path }) => {
      const created = query['created'] ? createdFilter(query['created']) : () => true;
      const items = state.workflowRuns
        .filter((r) => !query['status'] || r.status === query['status'] || r.conclusion === query['status'])
        .filter((r) => !query['branch'] || r.head_branch === query['branch'])
        .filter((r) => !query['event'] || r.event === query['event'])
        .filter((r) => created(Date.parse(r.created_at)))
        .sort((a, b) => b.created_at.localeCompare(a.created_at) || b.id - a.id);
      const { page, headers } = paginate(items, query, path);
      return {
        status: 200,
        body: { total_count: items.length, workflow_runs: page.map(renderRun) },
        headers,
      };
    },
  };

  function ensureLabel(name: string, color?: string, description?: string) {
    if (!state.labels.has(name))
      state.labels.set(name, {
        id: ++nextId,
        name,
        color: color ?? 'ededed',
        description: description ?? null,
      });
  }

  const server = createServer((req, res) => {
    void handle(req, res).catch((error: unknown) => {
      state.violations.push(`stand-in crashed on ${req.method} ${req.url}: ${String(error)}`);
      send(res, 500, { message: 'Server Error' });
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const raw = await readBody(req);
    if (options.latencyMs) await new Promise((r) => setTimeout(r, options.latencyMs));
    const url = new URL(req.url ?? '/', 'http://standin');
    const method = (req.method ?? 'GET').toLowerCase();
    const query = Object.fromEntries(url.searchParams);
    const record: RecordedRequest = {
      method: method.toUpperCase(),
      path: url.pathname,
      query,
      status: 0,
      authorization: req.headers.authorization,
    };
    state.requests.push(record);
    const reply = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      record.status = status;
      send(res, status, body, headers);
    };
    const invalid = (status: number, message: string, errors: unknown[] = []) => {
      state.violations.push(`${record.method} ${url.pathname}${url.search}: ${message}`);
      reply(status, {
        message: status === 404 ? 'Not Found' : status === 400 ? message : 'Validation Failed',
        ...(errors.length ? { errors } : {}),
        documentation_url: 'https://docs.github.com/rest',
      });
    };

    const match = matchRoute(api, url.pathname);
    const operation = match?.route.methods[method];
    if (!match || !operation) return invalid(404, `no such operation in the OpenAPI description`);
    record.operationId = operation.operationId;

    const auth = req.headers.authorization ?? '';
    if (auth !== `token ${token}` && auth !== `Bearer ${token}`) {
      record.status = 401;
      return send(res, 401, {
        message: 'Bad credentials',
        documentation_url: 'https://docs.github.com/rest',
      });
    }

    const parameters = [...match.route.pathParameters, ...(operation.parameters ?? [])].map((p) =>
      '$ref' in p ? api.parameters[p.$ref.replace('#/components/parameters/', '')]! : p,
    );
    for (const [name, value] of Object.entries(query)) {
      const known = parameters.find((p) => p.in === 'query' && p.name === name);
      if (!known) return invalid(422, `unknown query parameter ${name}`, [{ code: 'invalid', field: name }]);
      const problem = checkQueryValue(known, value);
      if (problem)
        return invalid(422, `${name}=${value}: ${problem}`, [{ code: 'invalid', field: name, value }]);
    }

    let body: Json = {};
    const content = operation.requestBody?.content?.['application/json'];
    if (content) {
      if (!raw) {
        if (operation.requestBody?.required) return invalid(422, 'missing request body');
      } else {
        try {
          body = JSON.parse(raw) as Json;
          record.body = body;
        } catch {
          return invalid(400, 'Problems parsing JSON');
        }
        const pointer = `#/paths/${escapePointer(match.route.template)}/${method}/requestBody/content/${escapePointer('application/json')}/schema`;
        const validate = api.validator(pointer);
        if (!validate(body)) {
          const errors = (validate.errors ?? []).map((e) => ({
            code: 'invalid',
            field: e.instancePath || '(body)',
            message: e.message,
          }));
          return invalid(422, `body fails the schema: ${JSON.stringify(errors)}`, errors);
        }
      }
    } else if (raw) {
      return invalid(422, 'this operation takes no body');
    }

    const handler = handlers[operation.operationId];
    if (!handler) return invalid(404, `${operation.operationId} is not implemented by the stand-in`);
    const out = handler({ params: match.params, query, body, path: url.pathname });

    // Our own answers must match the published response schema too.
    const response = operation.responses[String(out.status)];
    if (response && out.status < 300 && out.status !== 204) {
      const pointer = `#/paths/${escapePointer(match.route.template)}/${method}/responses/${out.status}/content/${escapePointer('application/json')}/schema`;
      const problem = api.validate(pointer, out.body);
      if (problem)
        state.violations.push(
          `stand-in answered ${operation.operationId} with a body that fails its schema: ${problem}`,
        );
    }
    reply(out.status, out.body, out.headers);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}

function matchRoute(api: GitHubOpenApi, pathname: string) {
  for (const route of api.routes) {
    const m = route.pattern.exec(pathname);
    if (m) {
      const params = Object.fromEntries(route.paramNames.map((n, i) => [n, decodeURIComponent(m[i + 1]!)]));
      return { route, params };
    }
  }
  return undefined;
}

function checkQueryValue(param: Parameter, value: string): string | null {
  const schema = param.schema ?? {};
  const types = Array.isArray(schema.type) ? schema.type : [schema.type];
  if (schema.enum && !schema.enum.includes(value)) return `must be one of ${schema.enum.join(', ')}`;
  if (types.includes('integer') && !/^-?\d+$/.test(value)) return 'must be an integer';
  if (types.includes('boolean') && !['true', 'false'].includes(value)) return 'must be true or false';
  return null;
}

/** GitHub's date qualifiers for `created`: `>=T`, `>T`, `<=T`, `<T`, `A..B`, or a plain date/time. */
function createdFilter(expr: string): (t: number) => boolean {
  const range = /^(.+)\.\.(.+)$/.exec(expr);
  if (range) {
    const [from, to] = [Date.parse(range[1]!), Date.parse(range[2]!)];
    return (t) => t >= from && t <= to;
  }
  const m = /^(>=|<=|>|<)?(.+)$/.exec(expr)!;
  const at = Date.parse(m[2]!);
  if (Number.isNaN(at)) return () => false;
  switch (m[1]) {
    case '>=':
      return (t) => t >= at;
    case '>':
      return (t) => t > at;
    case '<=':
      return (t) => t <= at;
    case '<':
      return (t) => t < at;
    default:
      return (t) => t >= at && t < at + 86_400_000;
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  if (status === 204) {
    res.writeHead(204, headers);
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'x-github-media-type': 'github.v3; format=json',
    'x-ratelimit-limit': '5000',
    'x-ratelimit-remaining': '4999',
    ...headers,
  });
  res.end(text);
}
