/**
 * The sandbox's Functions, deployable: it starts serving the app from the sources in-process
 * (functions/src/local-host.ts) and exposes Kudu's One Deploy endpoint shape on loopback, so
 * `ops deploy --env local` runs the same client code as a Flex Consumption deploy
 * (ops/deploy/functions-transport.ts):
 *
 *   POST /api/publish?RemoteBuild=false   zip body, `Authorization: Bearer <key>` -> 202, body: the deployment id
 *   GET  /api/deployments/<id>            Kudu's deployment record: status 0 pending, 2 deploying, 4 success, 3 failed
 *   GET  /api/deployments/<id>/log        its log entries ({ log_time, message, type, details_url })
 *
 * A publish stores the zip, extracts it to a fresh temporary folder (outside the checkout, so no
 * node_modules is reachable: the package must be self-contained), stops what serves now and starts
 * the package in a worker process (functions/src/package-host.ts) on the SAME port, so the bridge's
 * ingest URL keeps working; the bridge journals and retries while it is down. A package that does
 * not load (or lacks `health` / `mqtt_ingest`) is answered as failed, and what served before is
 * started again. One deployment at a time (a second one meanwhile: 409, as Kudu).
 */
import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { HEALTH_ROUTE } from '../../common/ingest-protocol.js';
import type { IngestService } from '../../functions/src/ingest/ingest-service.js';
import { startLocalFunctionsHost, type LocalHost } from '../../functions/src/local-host.js';
import {
  extractFunctionsPackage,
  startPackageFunctionsHost,
  type PackageHost,
} from '../../functions/src/package-host.js';

/** Kudu's DeployStatus. */
const STATUS = { pending: 0, deploying: 2, failed: 3, success: 4 } as const;
const MAX_PACKAGE_BYTES = 256 * 1024 * 1024;

export interface SandboxFunctionsOptions {
  pool: pg.Pool;
  ingest: Pick<IngestService, 'ingest'>;
  functionKey: string;
  /** The app settings a deployed package runs with (functions/src/settings.ts). */
  settings: Record<string, string>;
  /** Uploaded zips and the workers' output (functions-worker.log); inside the sandbox's run dir. */
  dir: string;
  log: (line: string) => void;
  /** What a package must register for the sandbox to use it; default health and mqtt_ingest. */
  expectFunctions?: readonly string[];
}

/** What `Platform.host` is: the Functions endpoint, whatever serves it now. */
export interface SandboxFunctionsHost {
  readonly url: string;
  readonly ingestUrl: string;
  readonly healthUrl: string;
  /** What serves now; null after close(). */
  serving(): { kind: 'sources' } | { kind: 'package'; dir: string; pid: number; deploymentId: string } | null;
  /** Stops what serves now (a test's "functions down"); a later deploy starts again. */
  close(): Promise<void>;
}

export interface SandboxFunctions {
  host: SandboxFunctionsHost;
  /** For env.json `functionsDeploy`. */
  deploy: { url: string; key: string };
  close(): Promise<void>;
}

type Spec = { kind: 'sources' } | { kind: 'package'; dir: string; deploymentId: string };
type Serving =
  | { kind: 'sources'; host: LocalHost }
  | { kind: 'package'; host: PackageHost; dir: string; deploymentId: string };

interface LogEntry {
  log_time: string;
  id: string;
  message: string;
  type: number;
  details_url: null;
}

interface DeploymentRecord {
  id: string;
  status: number;
  status_text: string;
  author: string;
  deployer: string;
  message: string;
  progress: string;
  received_time: string;
  start_time: string | null;
  end_time: string | null;
  last_success_end_time: string | null;
  complete: boolean;
  active: boolean;
  is_temp: boolean;
  is_readonly: boolean;
  url: string;
  log_url: string;
  site_name: string;
}

export async function startSandboxFunctions(options: SandboxFunctionsOptions): Promise<SandboxFunctions> {
  const { log } = options;
  await mkdir(options.dir, { recursive: true });
  const workerLog: WriteStream = createWriteStream(join(options.dir, 'functions-worker.log'), { flags: 'a' });
  workerLog.on('error', (e) => log(`functions worker log: ${e.message}`));
  const expectFunctions = options.expectFunctions ?? ['health', 'mqtt_ingest'];

  const first = await startLocalFunctionsHost({
    pool: options.pool,
    ingest: options.ingest,
    functionKey: options.functionKey,
  });
  const url = first.url;
  const port = Number(new URL(url).port);
  let current: Serving | null = { kind: 'sources', host: first };

  const start = async (spec: Spec): Promise<Serving> => {
    if (spec.kind === 'sources')
      return {
        kind: 'sources',
        host: await startLocalFunctionsHost({
          pool: options.pool,
          ingest: options.ingest,
          functionKey: options.functionKey,
          port,
        }),
      };
    const host = await startPackageFunctionsHost({
      dir: spec.dir,
      settings: options.settings,
      functionKey: options.functionKey,
      port,
      expectFunctions,
      log: (line) => workerLog.write(`${spec.deploymentId} ${line}\n`),
    });
    return { ...spec, host };
  };
  const specOf = (s: Serving | null): Spec | null =>
    !s
      ? null
      : s.kind === 'sources'
        ? { kind: 'sources' }
        : { kind: 'package', dir: s.dir, deploymentId: s.deploymentId };

  const key = randomBytes(24).toString('base64url');
  const records = new Map<string, { record: DeploymentRecord; log: LogEntry[] }>();
  let busy = false;
  let swapping: Promise<void> = Promise.resolve();
  let lastSuccess: string | null = null;

  const swap = async (id: string, zipPath: string): Promise<void> => {
    const entry = records.get(id)!;
    const { record } = entry;
    const note = (message: string, type = 0) => {
      entry.log.push({
        log_time: new Date().toISOString(),
        id: randomUUID(),
        message,
        type,
        details_url: null,
      });
      log(`functions deploy ${id.slice(0, 8)}: ${message}`);
    };
    const end = (status: number, text: string) => {
      record.status = status;
      record.status_text = text;
      record.end_time = new Date().toISOString();
      record.complete = true;
      if (status === STATUS.success) {
        record.active = true;
        lastSuccess = record.end_time;
        for (const { record: r } of records.values()) if (r.id !== id) r.active = false;
      }
      record.last_success_end_time = lastSuccess;
    };
    record.status = STATUS.deploying;
    record.status_text = 'Deploying';
    record.start_time = new Date().toISOString();
    const dir = await mkdtemp(join(tmpdir(), 'mqtt-saas-functions-'));
    try {
      const entries = await extractFunctionsPackage(zipPath, dir);
      note(`extracted ${entries.length} files to ${dir}`);
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      note(`the zip could not be extracted: ${(error as Error).message}`, 2);
      return end(STATUS.failed, 'The package could not be extracted.');
    }
    const before = specOf(current);
    const old = current;
    current = null;
    await old?.host.close();
    try {
      current = await start({ kind: 'package', dir, deploymentId: id });
      const names = current.kind === 'package' ? current.host.functions.map((f) => f.name) : [];
      note(
        `serving the package on ${url} (worker pid ${current.kind === 'package' ? current.host.pid : '-'}): ${names.join(', ')}`,
      );
      if (old?.kind === 'package') await rm(old.dir, { recursive: true, force: true });
      end(STATUS.success, 'Deployment successful.');
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      note(`the package did not load: ${(error as Error).message}`, 2);
      if (before) {
        try {
          current = await start(before);
          note(
            `brought back what served before (${before.kind === 'sources' ? 'the sources' : `deployment ${before.deploymentId}`})`,
          );
        } catch (again) {
          note(`could not bring back what served before: ${(again as Error).message}`, 2);
        }
      }
      end(STATUS.failed, 'The package did not load; the previous one serves again.');
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: Error) => {
      log(`functions deploy endpoint: ${error.message}`);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(error.message);
    });
  });
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const u = new URL(req.url ?? '/', 'http://sandbox');
    const send = (status: number, body?: unknown) => {
      if (body === undefined) res.writeHead(status).end();
      else if (typeof body === 'string')
        res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(body);
      else
        res
          .writeHead(status, { 'content-type': 'application/json; charset=utf-8' })
          .end(JSON.stringify(body));
    };
    if (!authorized(req.headers.authorization, key)) {
      req.resume();
      return send(401, 'Unauthorized');
    }
    if (req.method === 'POST' && u.pathname === '/api/publish') {
      const remoteBuild = [...u.searchParams].find(([k]) => k.toLowerCase() === 'remotebuild')?.[1];
      if (remoteBuild !== undefined && remoteBuild.toLowerCase() !== 'false') {
        req.resume();
        return send(400, 'RemoteBuild is not supported here: publish a built package with RemoteBuild=false');
      }
      if (busy) {
        req.resume();
        return send(409, 'There is a deployment currently in progress. Please try again when it completes.');
      }
      if (Number(req.headers['content-length'] ?? 0) > MAX_PACKAGE_BYTES) {
        req.resume();
        return send(413, `the package is larger than ${MAX_PACKAGE_BYTES} bytes`);
      }
      busy = true;
      const id = randomUUID();
      const zipPath = join(options.dir, `${id}.zip`);
      try {
        await pipeline(req, createWriteStream(zipPath));
      } catch (error) {
        busy = false;
        throw error;
      }
      const now = new Date().toISOString();
      const param = (name: string) => [...u.searchParams].find(([k]) => k.toLowerCase() === name)?.[1] ?? '';
      records.set(id, {
        record: {
          id,
          status: STATUS.pending,
          status_text: 'Received',
          author: 'N/A',
          deployer: param('deployer') || 'N/A',
          message: param('message'),
          progress: '',
          received_time: now,
          start_time: null,
          end_time: null,
          last_success_end_time: lastSuccess,
          complete: false,
          active: false,
          is_temp: false,
          is_readonly: false,
          url: `${deployUrl}/api/deployments/${id}`,
          log_url: `${deployUrl}/api/deployments/${id}/log`,
          site_name: 'sandbox',
        },
        log: [],
      });
      send(202, id);
      swapping = swap(id, zipPath)
        .catch((error: Error) => log(`functions deploy ${id}: ${error.message}`))
        .finally(() => {
          busy = false;
          void rm(zipPath, { force: true });
        });
      return;
    }
    const m = /^\/api\/deployments\/([0-9a-f-]{36})(\/log)?$/.exec(u.pathname);
    if (req.method === 'GET' && m) {
      const entry = records.get(m[1]!);
      if (!entry) return send(404, 'Not Found');
      return send(200, m[2] ? entry.log : entry.record);
    }
    req.resume();
    return send(404, 'Not Found');
  };
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const deployUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const host: SandboxFunctionsHost = {
    url,
    ingestUrl: first.ingestUrl,
    healthUrl: `${url}${HEALTH_ROUTE}`,
    serving() {
      const c = current;
      if (!c) return null;
      return c.kind === 'sources'
        ? { kind: 'sources' }
        : { kind: 'package', dir: c.dir, pid: c.host.pid, deploymentId: c.deploymentId };
    },
    async close() {
      const c = current;
      current = null;
      await c?.host.close();
      if (c?.kind === 'package') await rm(c.dir, { recursive: true, force: true });
    },
  };
  return {
    host,
    deploy: { url: deployUrl, key },
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await swapping;
      await host.close();
      await new Promise<void>((resolve) => workerLog.end(resolve));
    },
  };
}

function authorized(header: string | undefined, key: string): boolean {
  const m = /^Bearer (.+)$/.exec(header ?? '');
  if (!m) return false;
  const a = Buffer.from(m[1]!);
  const b = Buffer.from(key);
  return a.length === b.length && timingSafeEqual(a, b);
}
