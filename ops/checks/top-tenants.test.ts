import { runChecks } from '../engine/run-checks.js';
import type { PlatformDbSource, TenantUsage } from '../sources/platform-db.js';
import { topTenantsCheck } from './top-tenants.js';

const HOUR = 3_600_000;
// 25 minutes into the hour, as a run right after a `npm run dev` session might be.
const NOW = Date.parse('2026-11-30T13:25:00Z');

interface Row extends TenantUsage {
  /** The rollup row's hour (start). */
  hour: number;
}

/** A rollup by hour, summed per tenant over [from, to) the way the SQL does (`hour >= $1 and hour < $2`). */
function source(rows: Row[]) {
  const windows: [string, string][] = [];
  const s: Pick<PlatformDbSource, 'tenantUsage'> = {
    async tenantUsage(from, to) {
      windows.push([from.toISOString(), to.toISOString()]);
      const sums = new Map<string, TenantUsage>();
      for (const r of rows.filter((r) => r.hour >= from.getTime() && r.hour < to.getTime())) {
        const t = sums.get(r.tenant) ?? { tenant: r.tenant, messages: 0, bytes: 0, devices: 0 };
        t.messages += r.messages;
        t.bytes += r.bytes;
        t.devices += r.devices;
        sums.set(r.tenant, t);
      }
      return [...sums.values()].sort((a, b) => b.messages - a.messages || a.tenant.localeCompare(b.tenant));
    },
  };
  return { s: s as PlatformDbSource, windows };
}

const hourAgo = (hours: number) => Math.floor(NOW / HOUR) * HOUR - hours * HOUR;
const row = (tenant: string, hour: number, messages: number): Row => ({
  tenant,
  hour,
  messages,
  bytes: messages * 10,
  devices: 1,
});

async function run(rows: Row[], options: { top?: number; growthWarnPct?: number } = {}) {
  const { s, windows } = source(rows);
  const [result] = await runChecks([topTenantsCheck(s, options)], { now: () => NOW });
  return { result: result!, windows };
}

test('traffic of the current hour so far counts, and the report names the window it looked at', async () => {
  // A dev session that started this hour: nothing in any whole hour.
  const { result, windows } = await run([row('acme', hourAgo(0), 480)]);
  expect(windows).toEqual([
    ['2026-11-23T14:00:00.000Z', '2026-11-30T14:00:00.000Z'],
    ['2026-11-16T14:00:00.000Z', '2026-11-23T14:00:00.000Z'],
  ]);
  expect(result.status).toBe('ok');
  expect(result.summary).toBe(
    '480 messages from 1 tenant in 2026-11-23T14:00Z .. now (2026-11-30T13:25Z); top: acme',
  );
  expect(result.evidence).toEqual([
    'Accepted messages in 2026-11-23T14:00Z .. now (2026-11-30T13:25Z), the current hour so far included; ' +
      'compared with 2026-11-16T14:00Z .. 2026-11-23T14:00Z',
    'acme: 480 messages, 4800 bytes, 1 devices, new this week',
  ]);
});

test('no traffic says which window was empty', async () => {
  const { result } = await run([row('acme', hourAgo(7 * 24), 5)]); // the week before only
  expect(result.summary).toBe('no accepted messages in 2026-11-23T14:00Z .. now (2026-11-30T13:25Z)');
  expect(result.metrics).toEqual({ tenants: 0, messages: 0 });
});

test('tenants past the top N are one "others" line, not dropped; their growth does not warn', async () => {
  const rows = [
    ...['a', 'b', 'c'].map((t, i) => row(t, hourAgo(2), 1_000 - i)),
    ...['d', 'e', 'f', 'g'].map((t, i) => row(t, hourAgo(3), 10 + i)),
    row('g', hourAgo(7 * 24 + 1), 1), // g grew +1200%, but it is not a top tenant
  ];
  const { result } = await run(rows, { top: 3 });
  expect(result.evidence.slice(1)).toEqual([
    'a: 1000 messages, 10000 bytes, 1 devices, new this week',
    'b: 999 messages, 9990 bytes, 1 devices, new this week',
    'c: 998 messages, 9980 bytes, 1 devices, new this week',
    '4 other tenants: 46 messages, 460 bytes, 4 devices',
  ]);
  expect(result.status).toBe('ok');
  expect(result.metrics).toEqual({ tenants: 7, messages: 3_043 });
});

test('a top tenant that grew past the threshold warns with the growth-spike playbook', async () => {
  const { result } = await run([row('acme', hourAgo(1), 300), row('acme', hourAgo(7 * 24 + 1), 100)]);
  expect(result).toMatchObject({
    status: 'warn',
    summary: 'traffic grew over +100% week over week for acme',
    fingerprint: 'weekly.top-tenants:acme',
    playbook: 'growth-spike',
  });
  expect(result.evidence[1]).toBe('acme: 300 messages, 3000 bytes, 1 devices, +200% week over week');
});
