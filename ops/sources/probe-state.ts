/** The uptime probe's recorded state (ops.probe_state): its heartbeat and what it sees now. */
import type pg from 'pg';

export interface ProbeStateRow {
  checkId: string;
  state: 'up' | 'down';
  status: string;
  since: Date;
  lastAt: Date;
  summary: string;
}

export interface ProbeStateSource {
  read(): Promise<ProbeStateRow[]>;
}

export function createProbeStateSource(pool: pg.Pool): ProbeStateSource {
  return {
    async read() {
      const res = await pool.query<{
        check_id: string;
        state: 'up' | 'down';
        status: string;
        since: Date;
        last_at: Date;
        summary: string;
      }>(`select check_id, state, status, since, last_at, summary from ops.probe_state order by check_id`);
      return res.rows.map((r) => ({
        checkId: r.check_id,
        state: r.state,
        status: r.status,
        since: r.since,
        lastAt: r.last_at,
        summary: r.summary,
      }));
    },
  };
}
