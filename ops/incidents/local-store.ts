/**
 * Incidents without GitHub (CLI, sandbox): a JSON file per environment, `.ops/<env>/incidents.json`,
 * holding issues (never deleted; closed ones stay with their comments) and the counters. A session
 * holds an exclusive lock file (`incidents.json.lock`, created with O_EXCL) from load to the last
 * write, so concurrent local runs are serialized; a lock older than `staleLockMs` is taken over
 * (a run that crashed).
 */
import { mkdir, open, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { IncidentMarker, Tracker } from './marker.js';
import type { IncidentSnapshot } from './plan.js';
import type { IncidentSession, IncidentStore } from './store.js';

export interface LocalIssue {
  number: number;
  title: string;
  body: string;
  labels: string[];
  state: 'open' | 'closed';
  stateReason: 'completed' | 'duplicate' | null;
  createdAt: string;
  closedAt: string | null;
  comments: { at: string; body: string }[];
  marker: IncidentMarker;
}

export interface LocalIncidentFile {
  version: 1;
  env: string;
  issues: LocalIssue[];
  trackers: Record<string, Tracker>;
}

export interface LocalIncidentStoreOptions {
  env: string;
  /** Directory holding `.ops/`; default the working directory. */
  rootDir?: string;
  /** For the playbook link in issue bodies; null when unknown. */
  playbookWorkflowUrl?: string | null;
  /** Give up waiting for the lock after this long (default 30 s). */
  lockTimeoutMs?: number;
  staleLockMs?: number;
  /** Clock for comment times; default Date.now. */
  now?: () => number;
}

export function localIncidentFile(rootDir: string, env: string): string {
  return join(resolve(rootDir), '.ops', env, 'incidents.json');
}

export function createLocalIncidentStore(options: LocalIncidentStoreOptions): IncidentStore {
  if (!/^[a-z0-9][a-z0-9_-]*$/i.test(options.env))
    throw new Error(`local incident store: env must be a plain name (got ${JSON.stringify(options.env)})`);
  const file = localIncidentFile(options.rootDir ?? process.cwd(), options.env);
  const now = options.now ?? Date.now;
  const iso = () => new Date(now()).toISOString();
  return {
    mode: 'local',
    env: options.env,
    playbookWorkflowUrl: options.playbookWorkflowUrl ?? null,
    async session(fn) {
      await mkdir(dirname(file), { recursive: true });
      const release = await acquireLock(
        `${file}.lock`,
        options.lockTimeoutMs ?? 30_000,
        options.staleLockMs ?? 120_000,
      );
      try {
        const data = await readIncidentFile(file, options.env);
        const url = (n: number) => `${file}#${n}`;
        const find = (n: number) => {
          const issue = data.issues.find((i) => i.number === n);
          if (!issue) throw new Error(`local incident #${n} not found in ${file}`);
          return issue;
        };
        const session: IncidentSession = {
          async load(): Promise<IncidentSnapshot> {
            return {
              incidents: data.issues
                .filter((i) => i.state === 'open')
                .map((i) => ({ number: i.number, url: url(i.number), marker: i.marker, body: i.body })),
              trackers: data.trackers,
            };
          },
          async open(action) {
            const number = data.issues.reduce((max, i) => Math.max(max, i.number), 0) + 1;
            data.issues.push({
              number,
              title: action.title,
              body: action.body,
              labels: action.labels,
              state: 'open',
              stateReason: null,
              createdAt: iso(),
              closedAt: null,
              comments: [],
              marker: action.marker,
            });
            return { number, url: url(number) };
          },
          async update(action) {
            const issue = find(action.number);
            if (issue.state !== 'open' || issue.marker.rev !== action.expectedRev) return 'concurrent';
            if (action.comment) issue.comments.push({ at: iso(), body: action.comment });
            issue.body = action.body;
            issue.marker = action.marker;
            if (action.labels)
              issue.labels = [
                ...issue.labels.filter((l) => !/^(incident|severity:|component:)/.test(l)),
                ...action.labels,
              ];
            return 'done';
          },
          async close(action) {
            const issue = find(action.number);
            if (issue.state !== 'open' || issue.marker.rev !== action.expectedRev) return 'concurrent';
            issue.comments.push({ at: iso(), body: action.comment });
            issue.body = action.body;
            issue.marker = action.marker;
            issue.state = 'closed';
            issue.stateReason = action.reason === 'duplicate' ? 'duplicate' : 'completed';
            issue.closedAt = iso();
            return 'done';
          },
          async saveTrackers(trackers) {
            data.trackers = trackers;
          },
        };
        const result = await fn(session);
        // Written once, atomically, while the lock is still held.
        const tmp = `${file}.${process.pid}.tmp`;
        await writeFile(tmp, `${JSON.stringify(data, null, 2)}\n`);
        await rename(tmp, file);
        return result;
      } finally {
        await release();
      }
    },
  };
}

export async function readIncidentFile(file: string, env: string): Promise<LocalIncidentFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      return { version: 1, env, issues: [], trackers: {} };
    throw error;
  }
  const data = JSON.parse(text) as LocalIncidentFile;
  if (data.version !== 1 || !Array.isArray(data.issues) || typeof data.trackers !== 'object')
    throw new Error(`${file} is not a version 1 incident file`);
  return data;
}

async function acquireLock(lock: string, timeoutMs: number, staleMs: number): Promise<() => Promise<void>> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 10; ; delay = Math.min(delay * 2, 200)) {
    try {
      const handle = await open(lock, 'wx');
      await handle.writeFile(`${process.pid} ${new Date().toISOString()}\n`);
      await handle.close();
      return () => unlink(lock).catch(() => undefined);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const age = await stat(lock).then(
      (s) => Date.now() - s.mtimeMs,
      () => 0,
    );
    if (age > staleMs) {
      await unlink(lock).catch(() => undefined);
      continue;
    }
    if (Date.now() > deadline)
      throw new Error(`incident store is locked by another run (${lock}); waited ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, delay + Math.random() * delay));
  }
}
