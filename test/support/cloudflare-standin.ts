/**
 * A local stand-in of the Cloudflare API for the calls `wrangler pages deploy` makes and the pages
 * stage's own (ops/deploy/pages-stage-api.ts), answering with the published envelope
 * (`{success, errors, messages, result}`) and object shapes. Reached by the real wrangler CLI
 * through CLOUDFLARE_API_BASE_URL (plain HTTP on loopback: wrangler accepts it).
 *
 * The calls, in wrangler 4's order: GET project; GET upload-token (a JWT: wrangler reads its
 * `exp`); POST /pages/assets/check-missing, /pages/assets/upload (base64 files keyed by hash),
 * /pages/assets/upsert-hashes (with the upload JWT); POST deployments (multipart: manifest
 * path -> hash, branch, commit_hash, _headers, _redirects); GET the deployment until its latest
 * stage is `deploy` `success`. Plus the rollback (POST deployments/{id}/rollback).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StandinDeployment {
  id: string;
  short_id: string;
  project_name: string;
  environment: 'production' | 'preview';
  url: string;
  created_on: string;
  aliases: string[] | null;
  latest_stage: { name: string; status: string; started_on: string; ended_on: string };
  deployment_trigger: {
    type: string;
    metadata: { branch: string; commit_hash: string; commit_message: string; commit_dirty: boolean };
  };
  /** Not Cloudflare's: what the test reads back. Path -> file content. */
  files: Map<string, Buffer>;
  headersFile: string | null;
  redirectsFile: string | null;
}

export interface CloudflareStandin {
  /** The API base, as CLOUDFLARE_API_BASE_URL. */
  url: string;
  token: string;
  accountId: string;
  addProject(name: string, productionBranch: string): void;
  deployments(project: string): StandinDeployment[];
  /** The deployment production serves. */
  canonical(project: string): StandinDeployment | undefined;
  /** Every request, `METHOD path`. */
  calls: string[];
  /** Requests answered 4xx that a correct client would not make (bad token, unknown path). */
  violations: string[];
  close(): Promise<void>;
}

interface Project {
  id: string;
  name: string;
  production_branch: string;
  created_on: string;
  deployments: StandinDeployment[];
  canonical?: StandinDeployment;
}

const b64url = (v: string | Buffer) => Buffer.from(v).toString('base64url');

export async function startCloudflareStandin(): Promise<CloudflareStandin> {
  const token = randomBytes(20).toString('hex');
  const accountId = randomBytes(16).toString('hex');
  const projects = new Map<string, Project>();
  const assets = new Map<string, { content: Buffer; contentType: string }>();
  const jwts = new Set<string>();
  const calls: string[] = [];
  const violations: string[] = [];

  const uploadJwt = () => {
    const exp = Math.floor(Date.now() / 1000) + 3600;
    const jwt = `${b64url('{"alg":"HS256","typ":"JWT"}')}.${b64url(JSON.stringify({ exp, max_file_count_allowed: 20000 }))}.${b64url(randomBytes(32))}`;
    jwts.add(jwt);
    return jwt;
  };
  const projectObject = (p: Project) => ({
    id: p.id,
    name: p.name,
    subdomain: `${p.name}.pages.dev`,
    domains: [`${p.name}.pages.dev`],
    production_branch: p.production_branch,
    created_on: p.created_on,
    source: null,
    build_config: { build_command: '', destination_dir: '', root_dir: '' },
    deployment_configs: {
      production: { compatibility_date: '2024-01-01', compatibility_flags: [], env_vars: null },
      preview: { compatibility_date: '2024-01-01', compatibility_flags: [], env_vars: null },
    },
    latest_deployment: p.deployments.at(-1) ? deploymentObject(p.deployments.at(-1)!) : null,
    canonical_deployment: p.canonical ? deploymentObject(p.canonical) : null,
  });
  const deploymentObject = (d: StandinDeployment) => {
    const { files: _files, headersFile: _h, redirectsFile: _r, ...rest } = d;
    return {
      ...rest,
      project_id: projects.get(d.project_name)!.id,
      is_skipped: false,
      stages: [d.latest_stage],
    };
  };

  const send = (
    res: ServerResponse,
    status: number,
    result: unknown,
    errors: { code: number; message: string }[] = [],
  ) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({ success: status < 400, errors, messages: [], result: status < 400 ? result : null }),
    );
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, body: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname.replace(/^\/client\/v4/, '');
    calls.push(`${req.method} ${path}`);
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const refuse = (status: number, code: number, message: string) => {
      violations.push(`${req.method} ${path}: ${message}`);
      send(res, status, null, [{ code, message }]);
    };

    if (path.startsWith('/pages/assets/')) {
      if (!bearer || !jwts.has(bearer)) return refuse(401, 8000013, 'upload JWT not recognised');
      const json = JSON.parse(body.toString('utf8')) as unknown;
      if (path === '/pages/assets/check-missing') {
        const hashes = (json as { hashes: string[] }).hashes;
        return send(
          res,
          200,
          hashes.filter((h) => !assets.has(h)),
        );
      }
      if (path === '/pages/assets/upload') {
        const files = json as {
          key: string;
          value: string;
          base64: boolean;
          metadata: { contentType: string };
        }[];
        for (const f of files)
          assets.set(f.key, {
            content: f.base64 ? Buffer.from(f.value, 'base64') : Buffer.from(f.value),
            contentType: f.metadata.contentType,
          });
        return send(res, 200, { successful_key_count: files.length, unsuccessful_keys: [] });
      }
      if (path === '/pages/assets/upsert-hashes') return send(res, 200, true);
      return refuse(404, 7003, `no route ${path}`);
    }

    if (bearer !== token) return refuse(403, 10000, 'Authentication error');
    const m = /^\/accounts\/([^/]+)\/pages\/projects\/([^/]+)(\/.*)?$/.exec(path);
    if (!m || m[1] !== accountId) return refuse(404, 7003, `no route ${path}`);
    const project = projects.get(decodeURIComponent(m[2]!));
    if (!project)
      // Not a violation: wrangler and the stage ask for a project to learn whether it exists.
      return send(res, 404, null, [
        {
          code: 8000007,
          message:
            'Project not found. The specified project name does not match any of your existing projects.',
        },
      ]);
    const rest = m[3] ?? '';
    if (req.method === 'GET' && rest === '') return send(res, 200, projectObject(project));
    if (req.method === 'GET' && rest === '/upload-token') return send(res, 200, { jwt: uploadJwt() });
    if (req.method === 'POST' && rest === '/deployments') {
      const form = await new Request('http://x/', {
        method: 'POST',
        headers: { 'content-type': req.headers['content-type'] ?? '' },
        body,
      }).formData();
      const manifest = JSON.parse(String(form.get('manifest'))) as Record<string, string>;
      const files = new Map<string, Buffer>();
      for (const [p, hash] of Object.entries(manifest)) {
        const asset = assets.get(hash);
        if (!asset) return refuse(400, 8000096, `manifest names ${p} (${hash}) that was never uploaded`);
        files.set(p, asset.content);
      }
      const text = async (name: string) => {
        const v = form.get(name);
        return v === null ? null : typeof v === 'string' ? v : await v.text();
      };
      const branch = String(form.get('branch') ?? project.production_branch);
      const id = randomUUID();
      const now = new Date().toISOString();
      const environment = branch === project.production_branch ? 'production' : 'preview';
      const deployment: StandinDeployment = {
        id,
        short_id: id.slice(0, 8),
        project_name: project.name,
        environment,
        url: `https://${id.slice(0, 8)}.${project.name}.pages.dev`,
        created_on: now,
        aliases: environment === 'preview' ? [`https://${branch}.${project.name}.pages.dev`] : null,
        latest_stage: { name: 'deploy', status: 'success', started_on: now, ended_on: now },
        deployment_trigger: {
          type: 'ad_hoc',
          metadata: {
            branch,
            commit_hash: String(form.get('commit_hash') ?? ''),
            commit_message: String(form.get('commit_message') ?? ''),
            commit_dirty: form.get('commit_dirty') === 'true',
          },
        },
        files,
        headersFile: await text('_headers'),
        redirectsFile: await text('_redirects'),
      };
      project.deployments.push(deployment);
      if (environment === 'production') project.canonical = deployment;
      return send(res, 200, deploymentObject(deployment));
    }
    const d = /^\/deployments\/([^/]+)(\/rollback)?$/.exec(rest);
    const deployment = d && project.deployments.find((x) => x.id === decodeURIComponent(d[1]!));
    if (d && !deployment) return refuse(404, 8000009, `no deployment ${d[1]}`);
    if (deployment && req.method === 'GET' && !d![2]) return send(res, 200, deploymentObject(deployment));
    if (deployment && req.method === 'POST' && d![2]) {
      if (deployment.environment !== 'production')
        return refuse(400, 8000034, 'You can only rollback to a previous production deployment.');
      project.canonical = deployment;
      return send(res, 200, deploymentObject(deployment));
    }
    return refuse(404, 7003, `no route ${req.method} ${path}`);
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      handle(req, res, Buffer.concat(chunks)).catch((error: unknown) => {
        violations.push(`${req.method} ${req.url}: ${(error as Error).message}`);
        if (!res.headersSent) send(res, 500, null, [{ code: 8000000, message: (error as Error).message }]);
      });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/client/v4`,
    token,
    accountId,
    calls,
    violations,
    addProject(name, productionBranch) {
      projects.set(name, {
        id: randomUUID(),
        name,
        production_branch: productionBranch,
        created_on: new Date().toISOString(),
        deployments: [],
      });
    },
    deployments: (name) => projects.get(name)?.deployments ?? [],
    canonical: (name) => projects.get(name)?.canonical,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((e) => (e ? reject(e) : resolve()));
        server.closeAllConnections();
      }),
  };
}
