/**
 * The Functions app in a process of its own for the benchmarks, as in production where it runs on
 * other machines than the broker: the local host over createIngestWithAlerts, reporting each
 * commit (its time and the readings' publish times) to the parent over IPC.
 *
 * With `onExecution` (bench:cost), every mqtt_ingest execution is reported too: its start, the
 * handler's duration (request received to response finished, what Azure bills as the execution's
 * duration; the body is on loopback), the messages of its batch and its status. Without it the
 * child does not measure them (bench:ingest pays nothing for it).
 *
 * Parent side: startFunctionsProcess(). Child side: this file run with BENCH_FUNCTIONS_CHILD=1.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { INGEST_ROUTE } from '../../common/ingest-protocol.js';
import { createIngestWithAlerts } from '../../functions/src/app-context.js';
import { startLocalFunctionsHost } from '../../functions/src/local-host.js';
import { profileFlags } from './bridge-process.js';
import type { Execution } from './functions-cost.js';

/** One commit as seen by the child. */
export interface CommitReport {
  at: number;
  publishedAt: number[];
}

export type ExecutionReport = Execution & { status: number };

export interface FunctionsProcess {
  ingestUrl: string;
  pid: number;
  /** The child's peak resident set (VmHWM, MB); NaN once it is gone. */
  peakRssMb(): number;
  stop(): Promise<void>;
}

interface ChildMessage {
  ready?: string;
  execution?: ExecutionReport;
  commit?: CommitReport;
  error?: string;
}

export async function startFunctionsProcess(options: {
  databaseUrl: string;
  functionKey: string;
  onCommit: (report: CommitReport) => void;
  onError: (line: string) => void;
  onExecution?: (execution: ExecutionReport) => void;
}): Promise<FunctionsProcess> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), [], {
    execArgv: ['--import', 'tsx', ...profileFlags('BENCH_FUNCTIONS_PROFILE_DIR')],
    env: {
      ...process.env,
      BENCH_FUNCTIONS_CHILD: '1',
      BENCH_FUNCTIONS_EXECUTIONS: options.onExecution ? '1' : '',
      DATABASE_URL: options.databaseUrl,
      FUNCTION_KEY: options.functionKey,
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ingestUrl = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) =>
      reject(new Error(`the Functions process exited (${code}) before listening`)),
    );
    child.on('message', (m: ChildMessage) => {
      if (m.ready) resolve(m.ready);
      if (m.execution) options.onExecution?.(m.execution);
      if (m.commit) options.onCommit(m.commit);
      if (m.error) options.onError(m.error);
    });
  });
  return {
    ingestUrl,
    pid: child.pid!,
    peakRssMb() {
      try {
        const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
        return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? NaN) / 1024;
      } catch {
        return NaN;
      }
    },
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

async function childMain(): Promise<void> {
  const send = (message: ChildMessage) => process.send?.(message);
  const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 6 });
  pool.on('error', () => undefined);
  const service = createIngestWithAlerts(pool, {
    observe: (rows) => send({ commit: { at: Date.now(), publishedAt: rows.map((r) => r.ts.getTime()) } }),
    onError: (what, e) => send({ error: `${what}: ${(e as Error).message}` }),
  });
  const metered = process.env.BENCH_FUNCTIONS_EXECUTIONS === '1';
  // The execution a batch belongs to: set before the host's own request listener runs, so its
  // handler (and the ingest call below) runs in that context.
  const current = new AsyncLocalStorage<{ messages: number }>();
  const ingest = metered
    ? {
        ingest: (batch: Parameters<typeof service.ingest>[0]) => {
          const execution = current.getStore();
          if (execution) execution.messages += batch.messages.length;
          return service.ingest(batch);
        },
      }
    : service;
  const host = await startLocalFunctionsHost({ pool, ingest, functionKey: process.env.FUNCTION_KEY! });
  if (metered)
    host.server.prependListener('request', (req, res) => {
      if (req.method !== 'POST' || !req.url?.startsWith(INGEST_ROUTE)) return;
      const at = Date.now();
      const started = performance.now();
      const execution = { messages: 0 };
      current.enterWith(execution);
      res.once('finish', () =>
        send({
          execution: {
            at,
            ms: performance.now() - started,
            messages: execution.messages,
            status: res.statusCode,
          },
        }),
      );
    });
  process.once('SIGTERM', () => {
    void host
      .close()
      .then(() => pool.end())
      .finally(() => process.exit(0));
  });
  process.once('disconnect', () => process.exit(0));
  send({ ready: host.ingestUrl });
}

if (process.env.BENCH_FUNCTIONS_CHILD === '1') void childMain();
