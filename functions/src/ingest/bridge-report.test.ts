/**
 * The bridge's backlog report at mqtt_ingest's HTTP layer, on real PostgreSQL: stored before and
 * independently of the batch (a batch answered 503 still records it), a malformed header ignored
 * with no effect on the batch, heartbeats, and the recorder's ordering, throttle and bounds.
 */
import { gzipSync } from 'node:zlib';
import pg from 'pg';
import {
  BRIDGE_REPORT_HEADER,
  formatBridgeReport,
  parseBridgeReport,
  type IngestBatch,
} from '../../../common/ingest-protocol.js';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database.js';
import { createBridgeReportRecorder } from './bridge-report.js';
import { handleIngestRequest, type PlainRequest } from './http-handler.js';
import type { IngestService } from './ingest-service.js';

let db: TestDatabase;
let pool: pg.Pool;
beforeAll(async () => {
  db = await createTestDatabase('bridge_report');
  pool = new pg.Pool({ connectionString: db.url, max: 4 });
  pool.on('error', () => undefined);
});
afterAll(async () => {
  await pool?.end();
  await db?.drop();
});
beforeEach(async () => {
  await pool.query('truncate ops.bridge_status');
});

const T = Date.parse('2026-11-27T12:00:00Z');
const report = (over: Partial<Parameters<typeof formatBridgeReport>[0]> = {}) =>
  formatBridgeReport({
    bridgeId: 'bridge-vm1',
    pending: 40,
    oldestPendingAgeMs: 690_000,
    sentAt: T,
    ...over,
  });

const batch: IngestBatch = {
  messages: [{ id: 'bridge-vm1:1', topic: 't/acme/acme-1/telemetry', payload: 'e30=', receivedAt: T }],
};
function request(header: string | null, body: IngestBatch = batch): PlainRequest {
  return {
    method: 'POST',
    header: (name) => (name === BRIDGE_REPORT_HEADER ? header : name === 'content-encoding' ? 'gzip' : null),
    body: gzipSync(JSON.stringify(body)),
  };
}

/** An ingest whose write fails for ever, as with the poison message. */
const poisoned: Pick<IngestService, 'ingest'> = {
  ingest: () => Promise.reject(new Error('could not write the batch')),
};
let calls = 0;
const healthy: Pick<IngestService, 'ingest'> = {
  ingest: async (b) => {
    calls++;
    return {
      kind: 'handled',
      response: { results: b.messages.map((m) => ({ id: m.id, status: 'inserted' as const })) },
      inserted: b.messages.length,
      duplicates: 0,
      rejected: 0,
    };
  },
};

async function stored() {
  const res = await pool.query<{
    bridge_id: string;
    pending: string;
    oldest_pending_age_ms: string;
    sent_at: Date;
    received_at: Date;
  }>('select * from ops.bridge_status order by bridge_id');
  return res.rows.map((r) => ({
    bridgeId: r.bridge_id,
    pending: Number(r.pending),
    age: Number(r.oldest_pending_age_ms),
    sentAt: r.sent_at.toISOString(),
    receivedAt: r.received_at.toISOString(),
  }));
}

test('a batch answered 503 (its write fails for ever) still records the backlog', async () => {
  let clock = T + 250;
  const record = createBridgeReportRecorder(pool, { minIntervalMs: 0, now: () => clock });
  const res = await handleIngestRequest(poisoned, request(report()), { recordBridgeReport: record });
  expect(res.status).toBe(503);
  expect(await stored()).toEqual([
    {
      bridgeId: 'bridge-vm1',
      pending: 40,
      age: 690_000,
      sentAt: '2026-11-27T12:00:00.000Z',
      receivedAt: '2026-11-27T12:00:00.250Z',
    },
  ]);
  // The retry a minute later: the age grew, and so does the stored one.
  clock += 60_000;
  const retry = request(report({ oldestPendingAgeMs: 750_000, sentAt: T + 60_000 }));
  expect((await handleIngestRequest(poisoned, retry, { recordBridgeReport: record })).status).toBe(503);
  expect((await stored())[0]).toMatchObject({ pending: 40, age: 750_000 });
});

test('an idle bridge heartbeat (empty batch) is recorded and answered without touching ingest', async () => {
  calls = 0;
  const record = createBridgeReportRecorder(pool, { now: () => T });
  const res = await handleIngestRequest(
    healthy,
    request(report({ pending: 0, oldestPendingAgeMs: 0 }), { messages: [] }),
    { recordBridgeReport: record },
  );
  expect(res).toMatchObject({ status: 200, body: '{"results":[]}' });
  expect(calls).toBe(0);
  expect(await stored()).toMatchObject([{ bridgeId: 'bridge-vm1', pending: 0, age: 0 }]);
});

describe('a malformed or hostile header is ignored, with no effect on the batch', () => {
  const good = report();
  test.each([
    ['a second report joined by the host', `${good}, ${good}`],
    ['an unknown version', good.replace('v1', 'v2')],
    ['fields out of order', 'v1 pending=40 id=bridge-vm1 oldest-ms=690000 sent-at=1795780800000'],
    ['a negative count', good.replace('pending=40', 'pending=-40')],
    ['a fraction', good.replace('oldest-ms=690000', 'oldest-ms=690000.5')],
    ['a leading zero', good.replace('pending=40', 'pending=040')],
    ['an exponent', good.replace('pending=40', 'pending=4e1')],
    ['16 digits (past a safe integer)', good.replace('pending=40', `pending=${'9'.repeat(16)}`)],
    ['a short timestamp', good.replace(/sent-at=\d+/, 'sent-at=1795780800')],
    ['an id too long', good.replace('bridge-vm1', 'b'.repeat(65))],
    ['an id with SQL in it', good.replace('bridge-vm1', "x';drop table ops.bridge_status;--")],
    ['an id with a space', good.replace('bridge-vm1', 'bridge vm1')],
    ['a non-ASCII id', good.replace('bridge-vm1', 'bridge-vм1')],
    ['an age with nothing pending', good.replace('pending=40', 'pending=0')],
    ['trailing data', `${good} extra=1`],
    ['a trailing newline', `${good}\n`],
    ['a double space', good.replace(' pending', '  pending')],
    ['empty', ''],
    ['very long', `${good} ${'x'.repeat(100_000)}`],
  ])('%s', async (_label, header) => {
    expect(parseBridgeReport(header)).toBeNull();
    const recorded: unknown[] = [];
    const res = await handleIngestRequest(healthy, request(header), {
      recordBridgeReport: async (r) => void recorded.push(r),
    });
    const plain = await handleIngestRequest(healthy, request(null));
    expect(res).toEqual(plain);
    expect(res.status).toBe(200);
    expect(recorded).toEqual([]);
  });

  test('the well-formed one for comparison', () => {
    expect(parseBridgeReport(good)).toEqual({
      bridgeId: 'bridge-vm1',
      pending: 40,
      oldestPendingAgeMs: 690_000,
      sentAt: T,
    });
  });
});

test('a report that cannot be stored never changes the answer', async () => {
  const errors: string[] = [];
  const broken = new pg.Pool({ connectionString: db.url.replace(/\/[^/]+$/, '/no_such_database'), max: 1 });
  broken.on('error', () => undefined);
  try {
    const record = createBridgeReportRecorder(broken, {
      onError: (what, error) => errors.push(`${what}: ${(error as Error).message}`),
    });
    const res = await handleIngestRequest(healthy, request(report()), { recordBridgeReport: record });
    expect(res).toEqual(await handleIngestRequest(healthy, request(null)));
    expect(errors).toEqual([expect.stringMatching(/^bridge report: .*no_such_database/)]);
  } finally {
    await broken.end();
  }
  // A write that hangs holds the answer up only for waitMs.
  const hanging = { query: () => new Promise(() => undefined) } as unknown as pg.Pool;
  const record = createBridgeReportRecorder(hanging, { waitMs: 10 });
  expect(
    (await handleIngestRequest(poisoned, request(report()), { recordBridgeReport: record })).status,
  ).toBe(503);
});

describe('the recorder', () => {
  test('the newest report on the bridge clock wins, unless the stored one is over a minute old on ingest clock', async () => {
    let clock = T;
    const record = createBridgeReportRecorder(pool, { minIntervalMs: 0, now: () => clock });
    await record(parseBridgeReport(report({ sentAt: T + 2_000, pending: 5, oldestPendingAgeMs: 1 }))!);
    // Sent earlier, arrived later (concurrent requests): ignored.
    clock += 500;
    await record(parseBridgeReport(report({ sentAt: T + 1_000, pending: 9, oldestPendingAgeMs: 2 }))!);
    expect((await stored())[0]).toMatchObject({ pending: 5, receivedAt: '2026-11-27T12:00:00.000Z' });
    // The bridge's clock went back an hour: after a minute its reports count again.
    clock = T + 60_001;
    await record(parseBridgeReport(report({ sentAt: T - 3_600_000, pending: 7, oldestPendingAgeMs: 3 }))!);
    expect((await stored())[0]).toMatchObject({ pending: 7, age: 3, receivedAt: '2026-11-27T12:01:00.001Z' });
  });

  test('writes at most once per interval and bridge, except when the backlog appears or clears', async () => {
    let clock = T;
    const record = createBridgeReportRecorder(pool, { minIntervalMs: 5_000, now: () => clock });
    const at = (sentAt: number, pending: number) =>
      record(parseBridgeReport(report({ sentAt, pending, oldestPendingAgeMs: pending ? 10 : 0 }))!);
    await at(T, 3);
    clock += 1_000;
    await at(T + 1_000, 4); // throttled
    expect((await stored())[0]).toMatchObject({ pending: 3 });
    clock += 1_000;
    await at(T + 2_000, 0); // cleared: written at once
    expect((await stored())[0]).toMatchObject({ pending: 0 });
    clock += 5_000;
    await at(T + 7_000, 0); // the interval passed
    expect((await stored())[0]).toMatchObject({ receivedAt: new Date(T + 7_000).toISOString() });
    await record(parseBridgeReport(report({ bridgeId: 'bridge-vm2', sentAt: T + 7_000 }))!); // its own
    expect((await stored()).map((r) => r.bridgeId)).toEqual(['bridge-vm1', 'bridge-vm2']);
  });
});
