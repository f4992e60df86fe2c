/**
 * Records one probe run: every result in ops.probe_runs, and per check its state (up/down) in
 * ops.probe_state, in one transaction. Returns the state changes, including earlier ones whose
 * dispatch to GitHub is still pending, so a failed dispatch is retried on the next run.
 */
import type pg from 'pg';
import type { CheckResult, CheckStatus } from '../../../ops/engine/check.js';

export type ProbeState = 'up' | 'down';

export interface StateChange {
  checkId: string;
  from: ProbeState | null;
  to: ProbeState;
  status: CheckStatus;
  since: string;
  summary: string;
}

export function stateOf(status: CheckStatus): ProbeState | null {
  if (status === 'ok' || status === 'warn') return 'up';
  if (status === 'fail' || status === 'error') return 'down';
  return null; // skipped: says nothing about up or down
}

export async function recordProbeRun(
  pool: pg.Pool,
  results: CheckResult[],
  at: Date,
): Promise<StateChange[]> {
  const client = await pool.connect();
  client.on('error', () => undefined);
  try {
    await client.query('begin');
    await client.query(
      `insert into ops.probe_runs (at, check_id, status, latency_ms, summary)
       select $1, * from unnest($2::text[], $3::text[], $4::int[], $5::text[])`,
      [
        at,
        results.map((r) => r.id),
        results.map((r) => r.status),
        results.map((r) => Math.max(0, Math.round(r.durationMs))),
        results.map((r) => r.summary.slice(0, 500)),
      ],
    );
    const ids = results.map((r) => r.id);
    // Row locks: two overlapping runs (a slow one and the next minute's) see each change once.
    const previous = await client.query<{
      check_id: string;
      state: ProbeState;
      since: Date;
      dispatch_pending: boolean;
    }>(
      `select check_id, state, since, dispatch_pending from ops.probe_state where check_id = any($1) for update`,
      [ids],
    );
    const before = new Map(previous.rows.map((r) => [r.check_id, r]));
    const changes: StateChange[] = [];
    for (const r of results) {
      const state = stateOf(r.status);
      if (!state) continue;
      const prev = before.get(r.id);
      const changed = !prev || prev.state !== state;
      const since = changed ? at : prev.since;
      if (changed || prev.dispatch_pending) {
        changes.push({
          checkId: r.id,
          from: changed ? (prev?.state ?? null) : state === 'up' ? 'down' : 'up',
          to: state,
          status: r.status,
          since: since.toISOString(),
          summary: r.summary,
        });
      }
      await client.query(
        `insert into ops.probe_state (check_id, state, status, since, last_at, summary, dispatch_pending)
         values ($1, $2, $3, $4, $5, $6, $7)
         on conflict (check_id) do update set state = excluded.state, status = excluded.status,
           since = excluded.since, last_at = excluded.last_at, summary = excluded.summary,
           dispatch_pending = excluded.dispatch_pending`,
        // A check seen for the first time and up is no news; anything else waits for its dispatch.
        [
          r.id,
          state,
          r.status,
          since,
          at,
          r.summary.slice(0, 500),
          changed ? !(prev === undefined && state === 'up') : prev.dispatch_pending,
        ],
      );
    }
    await client.query('commit');
    return changes.filter((c) => !(c.from === null && c.to === 'up'));
  } catch (error) {
    await client.query('rollback').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** After GitHub accepted the dispatch: these changes are delivered. */
export async function markDispatched(pool: pg.Pool, checkIds: string[]): Promise<void> {
  await pool.query(`update ops.probe_state set dispatch_pending = false where check_id = any($1)`, [
    checkIds,
  ]);
}

/** Drops run rows older than `keepDays` (the state table keeps the current picture). */
export async function pruneProbeRuns(pool: pg.Pool, before: Date): Promise<number> {
  const res = await pool.query(`delete from ops.probe_runs where at < $1`, [before]);
  return res.rowCount ?? 0;
}
