/**
 * The daily archive run on a real PostgreSQL (migrations applied as the deploy applies them, real day
 * partitions) and Azurite's blob service: archive, verify, remove; mixed retention; a corrupt or
 * missing object; disabled; purging; rows of old days in the default partition.
 */
import { BlobServiceClient } from '@azure/storage-blob';
import { jest } from '@jest/globals';
import pg from 'pg';
import { schemaVersion as readSchemaVersion } from '../schema-version.js';
import { createArchiveStore, type ArchiveStore } from '../telemetry-archive-store.js';
import {
  archivedRows,
  databaseRows,
  daysAgo,
  seedArchiveTenants,
  seedDay,
  sixDigits,
  telemetryFingerprint,
  type ArchiveTenant,
} from '../../test/support/archive-fixture.js';
import { startAzurite, type Azurite } from '../../test/support/azurite.js';
import { createTestDatabase, type TestDatabase } from '../../test/support/database.js';
import { DAY_EXPORT_MAX_TENANTS, dayExportFits, runArchive, type ArchiveRunOptions } from './run-archive.js';

jest.setTimeout(60_000);

let db: TestDatabase;
let pool: pg.Pool;
let azurite: Azurite;
let containers = 0;

beforeAll(async () => {
  [db, azurite] = await Promise.all([createTestDatabase('archive_run'), startAzurite()]);
  pool = new pg.Pool({ connectionString: db.url, max: 4 });
}, 120_000);
afterAll(async () => {
  await pool?.end();
  await db?.drop();
  await azurite?.stop();
});

// Each test starts from an empty telemetry table and bookkeeping, with a container of its own.
let store: ArchiveStore;
let container: string;
beforeEach(async () => {
  await pool.query(
    `truncate public.telemetry, public.telemetry_hourly, ops.archive_objects, ops.archive_holds, ops.audit_log`,
  );
  // Old day partitions a test left behind (empty now; a run would drop them).
  await pool.query(
    `do $$ declare r record; begin
       for r in select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid
                 where i.inhparent = 'public.telemetry'::regclass and c.relname ~ '^telemetry_p[0-9]{8}$'
                   and c.relname < 'telemetry_p' || to_char(current_date - 8, 'YYYYMMDD') loop
         execute format('drop table public.%I', r.relname);
       end loop; end $$`,
  );
  container = `archive-${++containers}`;
  store = createArchiveStore({ connectionString: azurite.connectionString, container });
});

const run = (options: Partial<ArchiveRunOptions> = {}) =>
  runArchive({ pool, mode: 'enabled', store, partitionsAheadDays: 7, ...options });
const partitionOf = (day: string) => `telemetry_p${day.replaceAll('-', '')}`;
const exists = async (day: string) =>
  (await pool.query(`select to_regclass($1) as r`, [`public.${partitionOf(day)}`])).rows[0].r !== null;
const states = async () =>
  (
    await pool.query<{ blob_name: string; state: string }>(
      `select blob_name, state from ops.archive_objects order by blob_name`,
    )
  ).rows.map((r) => `${r.blob_name} ${r.state}`);
const folder = (slug: string, day: string) =>
  `${slug}/${day.slice(0, 4)}/${day.slice(5, 7)}/${day.slice(8)}.ndjson.gz`;

test('several tenants on one day: archived, verified, the partition dropped; the objects hold exactly its rows; again: nothing', async () => {
  const tenants = await seedArchiveTenants(pool, [
    { slug: 'alpha', retentionDays: 30 },
    { slug: 'beta', retentionDays: 30 },
    { slug: 'gamma', retentionDays: 30 },
  ]);
  const old = daysAgo(40);
  const recent = daysAgo(20);
  expect(await seedDay(pool, old, tenants, 60)).toBe(360);
  await seedDay(pool, recent, tenants, 5);
  const ids = tenants.map((t) => t.id);
  const before = await databaseRows(pool, ids, [old]);
  const recentBefore = await databaseRows(pool, ids, [recent]);
  const hourly = (await telemetryFingerprint(pool)).hourly;
  const lines: string[] = [];

  const result = await run({ log: (l) => lines.push(l) });
  expect(result.errors).toEqual([]);
  expect(result).toMatchObject({
    objectsExported: 3,
    objectsVerified: 3,
    rowsVerified: 360,
    partitionsDropped: [partitionOf(old)],
    rowsRemoved: 360,
    purged: [],
    unfinished: false,
  });
  expect(await exists(old)).toBe(false);
  expect(await databaseRows(pool, ids, [old])).toEqual([]);
  expect(await databaseRows(pool, ids, [recent])).toEqual(recentBefore);
  // Exactly the day's rows, once each, one object per tenant, each described by its manifest.
  const archived = await archivedRows(store);
  expect(archived.lines).toEqual(before);
  expect(archived.objects.map((o) => [o.name, o.rows, o.matchesManifest])).toEqual(
    ['alpha', 'beta', 'gamma'].map((slug) => [folder(slug, old), 120, true]),
  );
  const [info] = await store.list('alpha/');
  expect(info!.manifest).toMatchObject({
    ok: true,
    manifest: {
      tenant: 'alpha',
      tenantId: tenants[0]!.id,
      day: old,
      rows: 120,
      minTs: expect.stringMatching(/Z$/),
      // The database's latest migration (supabase/migrations).
      schemaVersion: await readSchemaVersion(pool),
    },
  });
  const minTs = before.map((l) => (JSON.parse(l) as { ts: string }).ts).sort()[0];
  expect(info!.manifest.ok && sixDigits(info!.manifest.manifest.minTs!)).toBe(minTs);
  expect(await states()).toEqual(['alpha', 'beta', 'gamma'].map((s) => `${folder(s, old)} dropped`));
  // The hourly rollup of archived days stays: the dashboard's long charts read it.
  expect((await telemetryFingerprint(pool)).hourly).toBe(hourly);
  const audit = await pool.query(`select action, target, detail->>'rows' as rows from ops.audit_log`);
  expect(audit.rows).toEqual([
    { action: 'telemetry.drop_archived_day', target: partitionOf(old), rows: '360' },
  ]);
  // Inserts never land in the default partition: the next week's partitions exist.
  expect(await exists(daysAgo(-7))).toBe(true);
  expect(lines.join('\n')).toMatch(new RegExp(`verified ${folder('beta', old)} \\(120 rows\\)`));
  // Three tenants, the whole partition: their objects came from one scan of it.
  expect(lines).toContain(`${old}: exporting 3 objects from one scan of ${partitionOf(old)}`);

  const again = await run();
  expect(again).toMatchObject({
    objectsExported: 0,
    objectsVerified: 0,
    partitionsDropped: [],
    rowsRemoved: 0,
  });
  expect(again.errors).toEqual([]);
  expect((await archivedRows(store)).lines).toEqual(before);
});

test('more tenants on a day than one scan exports at once: an export each, the same objects', async () => {
  const slugs = ['t1', 't2', 't3', 't4', 't5'];
  expect(slugs.length).toBeGreaterThan(DAY_EXPORT_MAX_TENANTS);
  const tenants = await seedArchiveTenants(
    pool,
    slugs.map((slug) => ({ slug, retentionDays: 30 })),
  );
  const day = daysAgo(41);
  await seedDay(pool, day, tenants, 10);
  const before = await databaseRows(
    pool,
    tenants.map((t) => t.id),
    [day],
  );
  const lines: string[] = [];
  const result = await run({ log: (l) => lines.push(l) });
  expect(result.errors).toEqual([]);
  expect(result).toMatchObject({
    objectsExported: 5,
    objectsVerified: 5,
    partitionsDropped: [partitionOf(day)],
  });
  expect(lines.filter((l) => l.includes('one scan'))).toEqual([]);
  expect((await archivedRows(store)).lines).toEqual(before);
});

test("one object of a day's scan failing to upload fails them all and removes nothing; the next run finishes", async () => {
  const tenants = await seedArchiveTenants(pool, [
    { slug: 'up-a', retentionDays: 30 },
    { slug: 'up-b', retentionDays: 30 },
  ]);
  const day = daysAgo(42);
  await seedDay(pool, day, tenants, 200);
  const ids = tenants.map((t) => t.id);
  const before = await databaseRows(pool, ids, [day]);
  const refused = folder('up-b', day);
  // The store refuses up-b's object halfway through its body, once.
  const flaky: ArchiveStore = {
    ...store,
    upload: async (name, body, manifest) => {
      if (name !== refused) return store.upload(name, body, manifest);
      let n = 0;
      for await (const chunk of body)
        if ((n += chunk.length) > 1024) throw new Error('the store refused the block');
      throw new Error('the store refused the commit');
    },
  };
  const failed = await run({ store: flaky });
  expect(failed.errors).toEqual([expect.stringMatching(/^\d{4}-\d{2}-\d{2}: .*the store refused/)]);
  expect(failed).toMatchObject({
    objectsExported: 0,
    objectsVerified: 0,
    partitionsDropped: [],
    rowsRemoved: 0,
  });
  expect(await databaseRows(pool, ids, [day])).toEqual(before);
  expect(await states()).toEqual([`${folder('up-a', day)} failed`, `${refused} failed`]);

  const healed = await run();
  expect(healed.errors).toEqual([]);
  expect(healed.partitionsDropped).toEqual([partitionOf(day)]);
  expect(await databaseRows(pool, ids, [day])).toEqual([]);
  expect((await archivedRows(store)).lines).toEqual(before);
});

test('tenants of one day with different retention: the expired tenant archived and its rows deleted; the other follows later', async () => {
  const [short, long] = await seedArchiveTenants(pool, [
    { slug: 'short', retentionDays: 30 },
    { slug: 'long', retentionDays: 90 },
  ]);
  const day = daysAgo(45);
  await seedDay(pool, day, [short!, long!], 20);
  const shortRows = await databaseRows(pool, [short!.id], [day]);
  const longRows = await databaseRows(pool, [long!.id], [day]);

  const first = await run();
  expect(first.errors).toEqual([]);
  expect(first).toMatchObject({
    objectsVerified: 1,
    tenantDaysDeleted: 1,
    rowsRemoved: 40,
    partitionsDropped: [],
  });
  expect(await exists(day)).toBe(true);
  expect(await databaseRows(pool, [short!.id], [day])).toEqual([]);
  expect(await databaseRows(pool, [long!.id], [day])).toEqual(longRows);
  expect((await archivedRows(store)).lines).toEqual(shortRows);

  // The environment caps retention at 40 days: the other tenant goes too, and the partition with it.
  const second = await run({ retentionDays: 40 });
  expect(second.errors).toEqual([]);
  expect(second).toMatchObject({
    objectsVerified: 1,
    partitionsDropped: [partitionOf(day)],
    rowsRemoved: 40,
  });
  expect((await archivedRows(store)).lines).toEqual([...shortRows, ...longRows].sort());
  expect(await states()).toEqual([`${folder('long', day)} dropped`, `${folder('short', day)} dropped`]);
});

test('a corrupted or a missing object blocks the removal, named in the error; a later run exports it again', async () => {
  const [good, bad] = await seedArchiveTenants(pool, [
    { slug: 'good', retentionDays: 30 },
    { slug: 'bad', retentionDays: 30 },
  ]);
  const day = daysAgo(35);
  await seedDay(pool, day, [good!, bad!], 25);
  const before = await databaseRows(pool, [good!.id, bad!.id], [day]);
  const blobs = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(
    container,
  );
  const badName = folder('bad', day);

  // Between the upload and the read-back, the object's bytes change (its manifest stays).
  const corrupted = await run({
    checkpoint: async (step, name) => {
      if (step !== 'recorded' || name !== badName) return;
      const blob = blobs.getBlockBlobClient(name);
      const { metadata } = await blob.getProperties();
      const bytes = await blob.downloadToBuffer();
      bytes[bytes.length - 9]! ^= 0xff; // inside the gzip trailer's CRC
      await blob.upload(bytes, bytes.length, { metadata });
    },
  });
  expect(corrupted.errors).toEqual([
    expect.stringMatching(new RegExp(`archive object ${badName.replaceAll('.', '\\.')} failed verification`)),
  ]);
  expect(corrupted.partitionsDropped).toEqual([]);
  expect(corrupted.rowsRemoved).toBe(0);
  expect(await databaseRows(pool, [good!.id, bad!.id], [day])).toEqual(before);
  expect(await states()).toEqual([`${badName} failed`, `${folder('good', day)} verified`]);

  // Exported again; this time it is gone before the read-back.
  const missing = await run({
    checkpoint: async (step, name) => {
      if (step === 'recorded' && name === badName) await blobs.getBlockBlobClient(name).delete();
    },
  });
  expect(missing.errors).toEqual([
    expect.stringContaining(
      `archive object ${badName} is missing from Azure blob devstoreaccount1/${container}`,
    ),
  ]);
  expect(await databaseRows(pool, [good!.id, bad!.id], [day])).toEqual(before);

  const healed = await run();
  expect(healed.errors).toEqual([]);
  expect(healed.partitionsDropped).toEqual([partitionOf(day)]);
  expect((await archivedRows(store)).lines).toEqual(before);
});

test('disabled: a month of old data stays untouched, nothing is exported; future partitions are still made', async () => {
  const tenants = await seedArchiveTenants(pool, [
    { slug: 'keep-a', retentionDays: 7 },
    { slug: 'keep-b', retentionDays: 7 },
  ]);
  for (let n = 10; n < 40; n++) await seedDay(pool, daysAgo(n), tenants, 3);
  await seedDay(pool, daysAgo(70), tenants, 3, { partition: false }); // in the default partition
  const before = await telemetryFingerprint(pool);
  expect(before.rows).toBe(31 * 12);
  const partitions = async () =>
    (
      await pool.query<{ n: string }>(
        `select count(*) as n from pg_inherits where inhparent = 'public.telemetry'::regclass`,
      )
    ).rows[0]!.n;
  const countBefore = Number(await partitions());
  let missing = 0;
  for (let n = 0; n <= 7; n++) if (!(await exists(daysAgo(-n)))) missing += 1;

  const result = await run({ mode: 'disabled', store: undefined });
  expect(result).toMatchObject({
    mode: 'disabled',
    days: [],
    objectsExported: 0,
    rowsRemoved: 0,
    errors: [],
  });
  expect(await telemetryFingerprint(pool)).toEqual(before);
  expect(await archivedRows(store)).toEqual({ lines: [], objects: [] });
  expect(await states()).toEqual([]);
  // Today and the next 7 days, whichever were missing.
  expect(result.partitionsCreated).toBe(missing);
  expect(Number(await partitions())).toBe(countBefore + missing);
  for (let n = 0; n <= 7; n++) expect(await exists(daysAgo(-n))).toBe(true);
  expect((await pool.query(`select count(*)::int as n from public.telemetry_default`)).rows[0].n).toBe(12);
});

test('purge-without-archive: past retention deleted with no copy, every deletion reported', async () => {
  const [p, q] = await seedArchiveTenants(pool, [
    { slug: 'purge-p', retentionDays: 30 },
    { slug: 'purge-q', retentionDays: 60 },
  ]);
  const both = daysAgo(70);
  const mixed = daysAgo(40);
  await seedDay(pool, both, [p!, q!], 4);
  await seedDay(pool, mixed, [p!, q!], 4);
  const qMixed = await databaseRows(pool, [q!.id], [mixed]);
  const lines: string[] = [];

  await expect(run({ mode: 'purge-without-archive', store: undefined })).rejects.toThrow(/needs a reason/);
  const result = await run({
    mode: 'purge-without-archive',
    store: undefined,
    purgeReason: 'no archive in this phase',
    log: (l) => lines.push(l),
  });
  expect(result.errors).toEqual([]);
  expect(result.purged).toEqual([
    { day: both, tenant: 'purge-p', rows: 8 },
    { day: both, tenant: 'purge-q', rows: 8 },
    { day: mixed, tenant: 'purge-p', rows: 8 },
  ]);
  expect(result.partitionsDropped).toEqual([partitionOf(both)]);
  expect(await databaseRows(pool, [p!.id, q!.id], [both, mixed])).toEqual(qMixed);
  expect(lines.filter((l) => l.startsWith('PURGED WITHOUT ARCHIVE')).length).toBe(3);
  expect(lines).toContain(`PURGED WITHOUT ARCHIVE: 8 rows of purge-p on ${mixed} (no archive in this phase)`);
  const audit = await pool.query(`select action, detail->>'rows' as rows from ops.audit_log order by id`);
  expect(audit.rows).toEqual([
    { action: 'telemetry.purge_day', rows: '16' },
    { action: 'telemetry.purge_tenant_day', rows: '8' },
  ]);
  expect(await archivedRows(store)).toEqual({ lines: [], objects: [] });
});

test('rows of an old day in the default partition get their partition, then are archived like any day', async () => {
  const tenants = await seedArchiveTenants(pool, [{ slug: 'late', retentionDays: 30 }]);
  const day = daysAgo(60);
  await seedDay(pool, day, tenants, 10, { partition: false });
  const before = await databaseRows(pool, [tenants[0]!.id], [day]);
  const result = await run();
  expect(result.errors).toEqual([]);
  expect(result.partitionsDropped).toEqual([partitionOf(day)]);
  expect((await pool.query(`select count(*)::int as n from public.telemetry_default`)).rows[0].n).toBe(0);
  expect((await archivedRows(store)).lines).toEqual(before);
});

test('the removal refuses rows that are not exactly those of the verified objects', async () => {
  const tenants = await seedArchiveTenants(pool, [{ slug: 'racy', retentionDays: 30 }]);
  const day = daysAgo(33);
  await seedDay(pool, day, tenants, 5);
  // A row arrives for the day after its object was verified (a restore, a manual insert).
  const result = await run({
    checkpoint: async (step) => {
      if (step === 'verified')
        await pool.query(
          `insert into public.telemetry (tenant_id, device_id, ts, msg_key, metrics)
           values ($1, $2, $3::date::timestamp at time zone 'UTC' + interval '1 hour', 'late', '{}')`,
          [tenants[0]!.id, tenants[0]!.devices[0], day],
        );
    },
  });
  expect(result.errors).toEqual([
    expect.stringMatching(
      new RegExp(
        `telemetry_p\\d{8} not dropped: ${folder('racy', day).replaceAll('.', '\\.')} holds 10 rows, the database 11`,
      ),
    ),
  ]);
  expect(await exists(day)).toBe(true);
  expect((await databaseRows(pool, [tenants[0]!.id], [day])).length).toBe(11);
  // The next run sees 11 rows and an object of 10: it exports them again.
  const next = await run();
  expect(next.errors).toEqual([]);
  expect(next.partitionsDropped).toEqual([partitionOf(day)]);
  expect((await archivedRows(store)).lines.length).toBe(11);
});

test('a dry run changes nothing, in the database or the container, and plans exactly what the run then does', async () => {
  const [a, b, c] = (await seedArchiveTenants(pool, [
    { slug: 'dry-a', retentionDays: 30 },
    { slug: 'dry-b', retentionDays: 30 },
    { slug: 'dry-c', retentionDays: 90 },
  ])) as [ArchiveTenant, ArchiveTenant, ArchiveTenant];
  const inDefault = daysAgo(50); // a and b, no partition of its own: moved, then dropped
  const mixed = daysAgo(40); // a and b leave, c stays (90 days): rows deleted
  const held = daysAgo(35); // a leaves, b is held by a restore: rows deleted
  const recent = daysAgo(5); // within ingest's backfill window: never looked at
  await seedDay(pool, inDefault, [a, b], 3, { partition: false });
  await seedDay(pool, mixed, [a, b, c], 4);
  await seedDay(pool, held, [a, b], 5);
  await seedDay(pool, recent, [a, b, c], 2);
  await pool.query(
    `insert into ops.archive_holds (tenant_id, day, until, reason, created_by)
     values ($1, $2::date, now() + interval '3 days', 'restored for a test', 'test')`,
    [b.id, held],
  );
  const snapshot = async () => ({
    telemetry: await telemetryFingerprint(pool),
    defaultRows: (await pool.query(`select count(*)::int as n from public.telemetry_default`)).rows[0].n,
    partitions: (
      await pool.query<{ name: string }>(
        `select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
          where i.inhparent = 'public.telemetry'::regclass order by 1`,
      )
    ).rows.map((r) => r.name),
    objects: await states(),
    holds: (await pool.query(`select tenant_id, day, until from ops.archive_holds order by 1, 2`)).rows,
    audit: (await pool.query(`select count(*)::int as n from ops.audit_log`)).rows[0].n,
    container: await archivedRows(store),
  });
  // A future partition the run would create: the dry run must not.
  await pool.query(`drop table if exists public.${partitionOf(daysAgo(-7))}`);
  const before = await snapshot();
  expect(before.defaultRows).toBe(12);
  const lines: string[] = [];

  const dry = await run({ dryRun: true, store: undefined, log: (l) => lines.push(l) });
  expect(await snapshot()).toEqual(before);
  expect(await exists(daysAgo(-7))).toBe(false);
  expect(dry).toMatchObject({
    partitionsCreated: 0,
    objectsExported: 0,
    rowsRemoved: 0,
    partitionsDropped: [],
    errors: [],
  });
  const t = (tenant: string, rows: number, action: string) =>
    expect.objectContaining({ tenant, rows, action });
  expect(dry.plan).toEqual([
    {
      day: inDefault,
      inDefaultPartition: true,
      removal: 'drop',
      tenants: [t('dry-a', 6, 'archive'), t('dry-b', 6, 'archive')],
    },
    {
      day: mixed,
      inDefaultPartition: false,
      removal: 'delete',
      tenants: [t('dry-a', 8, 'archive'), t('dry-b', 8, 'archive'), t('dry-c', 8, 'keep')],
    },
    {
      day: held,
      inDefaultPartition: false,
      removal: 'delete',
      tenants: [t('dry-a', 10, 'archive'), t('dry-b', 10, 'held')],
    },
  ]);
  expect(lines).toContain(
    `${held}: would archive: 10 rows of 1 tenant(s) deleted, 1 tenant(s) kept: dry-a 10 archive, dry-b 10 held`,
  );

  // The real run: the same days, and exactly the planned tenant-days' rows archived and removed.
  const planned = dry.plan!.flatMap((d) =>
    d.tenants.filter((x) => x.action === 'archive').map((x) => `${x.tenant} ${d.day} ${x.rows}`),
  );
  const stays = dry.plan!.flatMap((d) =>
    d.tenants
      .filter((x) => x.action !== 'archive')
      .map((x) => ({ id: x.tenantId, day: d.day, rows: x.rows })),
  );
  const real = await run();
  expect(real.errors).toEqual([]);
  expect(real.days.map((d) => d.day)).toEqual(dry.days.map((d) => d.day));
  expect(real.partitionsDropped).toEqual(
    dry.plan!.filter((d) => d.removal === 'drop').map((d) => partitionOf(d.day)),
  );
  const archivedObjects = await pool.query<{ line: string }>(
    `select tenant_slug || ' ' || to_char(day, 'YYYY-MM-DD') || ' ' || rows as line
       from ops.archive_objects where state = 'dropped' order by day, tenant_slug`,
  );
  expect(archivedObjects.rows.map((r) => r.line)).toEqual(planned);
  const plannedRows = planned.reduce((n, l) => n + Number(l.split(' ')[2]), 0);
  expect(real).toMatchObject({ rowsVerified: plannedRows, rowsRemoved: plannedRows });
  for (const s of stays) expect(await databaseRows(pool, [s.id], [s.day])).toHaveLength(s.rows);
  expect(await databaseRows(pool, [a.id, b.id, c.id], [recent])).toHaveLength(12);
});

test('one scan serves a day when it is cheaper: 2 to 4 objects holding at least half the rows', () => {
  const of = (...rows: number[]) => rows.map((n) => ({ t: { rows: n } }));
  expect(dayExportFits(of(50, 50), 100)).toBe(true);
  expect(dayExportFits(of(25, 25), 100)).toBe(true); // half the partition: as cheap as it gets
  expect(dayExportFits(of(25, 24), 100)).toBe(false); // less: an index scan each reads less
  expect(dayExportFits(of(100), 100)).toBe(false); // one object: its own export
  expect(dayExportFits(of(1, 1, 1, 1), 4)).toBe(true);
  expect(dayExportFits(of(1, 1, 1, 1, 1), 5)).toBe(false); // more than DAY_EXPORT_MAX_TENANTS at once
});
