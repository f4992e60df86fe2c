/**
 * The Functions app in a process of its own for the benchmark, as in production where it runs on
 * other machines than the broker: the local host over createIngestWithAlerts, reporting each
 * commit (its time and the readings' publish times) to the parent over IPC.
 *
 * Parent side: startFunctionsProcess(). Child side: this file run with BENCH_FUNCTIONS_CHILD=1.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createIngestWithAlerts } from '../../functions/src/app-context.js';
import { startLocalFunctionsHost } from '../../functions/src/local-host.js';
import { profileFlags } from './bridge-process.js';

/** One commit as seen by the child. */
export interface CommitReport {
  at: number;
  publishedAt: number[];
}

export interface FunctionsProcess {
  ingestUrl: string;
  pid: number;
  stop(): Promise<void>;
}

export async function startFunctionsProcess(options: {
  databaseUrl: string;
  functionKey: string;
  onCommit: (report: CommitReport) => void;
  onError: (line: string) => void;
}): Promise<FunctionsProcess> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), [], {
    execArgv: ['--import', 'tsx', ...profileFlags('BENCH_FUNCTIONS_PROFILE_DIR')],
    env: {
      ...process.env,
      BENCH_FUNCTIONS_CHILD: '1',
      DATABASE_URL: options.databaseUrl,
      FUNCTION_KEY: options.functionKey,
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ingestUrl = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) =>
      reject(new Error(`the Functions process exited (${code}) before listening`)),
    );
    child.on('message', (m: { ready?: string; commit?: CommitReport; error?: string }) => {
      if (m.ready) resolve(m.ready);
      if (m.commit) options.onCommit(m.commit);
      if (m.error) options.onError(m.error);
    });
  });
  return {
    ingestUrl,
    pid: child.pid!,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

async function childMain(): Promise<void> {
  const send = (message: object) => process.send?.(message);
  const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 6 });
  pool.on('error', () => undefined);
  const ingest = createIngestWithAlerts(pool, {
    observe: (rows) => send({ commit: { at: Date.now(), publishedAt: rows.map((r) => r.ts.getTime()) } }),
    onError: (what, e) => send({ error: `${what}: ${(e as Error).message}` }),
  });
  const host = await startLocalFunctionsHost({ pool, ingest, functionKey: process.env.FUNCTION_KEY! });
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
