/**
 * The local Supabase stand-in against `@supabase/supabase-js` itself, on a migrated and seeded
 * database: sign-in, refresh, sign-out, reads under row-level security, rpc, and hostile requests
 * that must be refused without touching data. Raw fetch only where supabase-js cannot send the
 * request (forged headers, hostile parameters).
 */
import { randomBytes } from 'node:crypto';
import { createClient, type SupabaseClient } from '@supabase/supabase-js';
import { decodeJwt, SignJWT } from 'jose';
import pg from 'pg';
import { issueApiKeyJwt, issueJwt } from '../../test/support/auth-standin.js';
import { createTestDatabase, type TestDatabase } from '../../test/support/database.js';
import { seedSandbox, type SeedResult } from './seed.js';
import { startSupabaseStandin, STANDIN_HEADER, type SupabaseStandin } from './supabase-standin.js';

let db: TestDatabase;
let pool: pg.Pool;
let seed: SeedResult;
let standin: SupabaseStandin;
const jwtSecret = randomBytes(32).toString('base64url');
const otherSecret = randomBytes(32).toString('base64url');

// Functions the dashboard's own migration will provide; here only to exercise rpc.
const TEST_FUNCTIONS = `
  create function public.standin_device_count(p_tenant_id uuid) returns integer
    language sql stable security invoker set search_path = ''
    as $$ select count(*)::int from public.devices d where d.tenant_id = p_tenant_id $$;
  create function public.standin_rename_device(p_device_id uuid, p_name text) returns integer
    language plpgsql security invoker set search_path = ''
    as $$ declare n integer; begin
      update public.devices set name = p_name where id = p_device_id;
      get diagnostics n = row_count; return n; end $$;
  create function public.standin_whoami()
    returns table (uid uuid, db_role text, claim_role text, session_id text)
    language sql stable security invoker set search_path = ''
    as $$ select auth.uid(), current_user::text, auth.jwt() ->> 'role', auth.jwt() ->> 'session_id' $$;
  create function public.standin_slugs() returns setof text
    language sql stable security invoker set search_path = ''
    as $$ select slug from public.tenants order by slug $$;
  create function public.standin_fail(p_message text) returns void
    language plpgsql set search_path = ''
    as $$ begin raise exception '%', p_message; end $$;
  create table public.standin_log (n integer);
  grant select, insert on public.standin_log to authenticated;
  create function public.standin_log_write() returns integer
    language plpgsql volatile security invoker set search_path = ''
    as $$ begin insert into public.standin_log values (1); return 1; end $$;
  create view public.standin_log_view with (security_invoker = true) as select public.standin_log_write() as n;
  grant select on public.standin_log_view to authenticated;
`;

const newClient = (key = standin.anonKey, url = standin.url): SupabaseClient =>
  createClient(url, key, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
  });

const user = (email: string) => seed.users.find((u) => u.email === email)!;
const tenantId = (slug: string) => seed.tenants.find((t) => t.slug === slug)!.id;

async function signedIn(email: string): Promise<SupabaseClient> {
  const client = newClient();
  const { error } = await client.auth.signInWithPassword({ email, password: user(email).password! });
  expect(error).toBeNull();
  return client;
}

/** A raw request to the stand-in: the anon key as apikey unless headers say otherwise. */
function raw(path: string, init: RequestInit & { headers?: Record<string, string> } = {}): Promise<Response> {
  return fetch(`${standin.url}${path}`, { ...init, headers: { apikey: standin.anonKey, ...init.headers } });
}

const errorOf = async (res: Response) => (await res.json()) as { code?: string; message?: string };

/** What nothing in this file may change: the tenants and devices of the seed. */
async function dataFingerprint(): Promise<string> {
  const res = await pool.query<{ f: string }>(
    `select (select count(*) from public.tenants) || '/' || (select count(*) from public.devices) || '/' ||
            (select count(*) from auth.users) as f`,
  );
  return res.rows[0]!.f;
}

beforeAll(async () => {
  db = await createTestDatabase('supabase_standin');
  pool = new pg.Pool({ connectionString: db.url, max: 6 });
  seed = await seedSandbox(pool, { jwtSecret, webhookUrl: 'http://127.0.0.1:9/hook', now: Date.now() });
  await pool.query(TEST_FUNCTIONS);
  standin = await startSupabaseStandin({ pool, jwtSecret });
});

afterAll(async () => {
  await standin?.close();
  await pool?.end();
  await db?.drop();
});

describe('labelled as the local stand-in', () => {
  test('every response carries x-local-standin, errors and preflights included', async () => {
    const responses = [
      await raw('/rest/v1/tenants?select=id'),
      await raw('/nowhere'),
      await raw('/rest/v1/tenants', { method: 'OPTIONS', headers: { origin: 'http://127.0.0.1:5173' } }),
    ];
    expect(responses.map((r) => [r.status, r.headers.get(STANDIN_HEADER)])).toEqual([
      [401, 'supabase'],
      [404, 'supabase'],
      [204, 'supabase'],
    ]);
    expect(responses[2]!.headers.get('access-control-allow-origin')).toBe('*');
  });
});

describe('Auth', () => {
  test('signs a seeded user in with the password from the seed: a session with Supabase claims', async () => {
    const owner = user('owner@acme.test');
    const client = newClient();
    const { data, error } = await client.auth.signInWithPassword({
      email: owner.email,
      password: owner.password!,
    });
    expect(error).toBeNull();
    expect(data.user).toMatchObject({ id: owner.userId, email: owner.email, aud: 'authenticated' });
    expect(data.session).toMatchObject({ token_type: 'bearer', expires_in: 3600 });
    const claims = decodeJwt(data.session!.access_token);
    expect(claims).toMatchObject({ sub: owner.userId, role: 'authenticated', iss: `${standin.url}/auth/v1` });
    expect(claims.session_id).toMatch(/^[0-9a-f-]{36}$/);
    const { data: me, error: meError } = await client.auth.getUser();
    expect(meError).toBeNull();
    expect(me.user?.id).toBe(owner.userId);
  });

  test('the password is stored hashed, never in clear', async () => {
    const owner = user('owner@acme.test');
    const res = await pool.query<{ encrypted_password: string }>(
      `select encrypted_password from auth.users where id = $1`,
      [owner.userId],
    );
    expect(res.rows[0]!.encrypted_password).toMatch(/^\$scrypt\$/);
    expect(res.rows[0]!.encrypted_password).not.toContain(owner.password);
  });

  test("a wrong password or an unknown e-mail: GoTrue's 400 invalid_credentials", async () => {
    const client = newClient();
    for (const [email, password] of [
      ['owner@acme.test', 'wrong-password'],
      ['nobody@acme.test', user('owner@acme.test').password!],
    ] as const) {
      const { data, error } = await client.auth.signInWithPassword({ email, password });
      expect(data.session).toBeNull();
      expect(error).toMatchObject({
        status: 400,
        code: 'invalid_credentials',
        message: 'Invalid login credentials',
      });
    }
  });

  test('refresh rotates the refresh token; the old one is refused and its reuse ends the session', async () => {
    const client = await signedIn('viewer@acme.test');
    const first = (await client.auth.getSession()).data.session!;
    const { data, error } = await client.auth.refreshSession();
    expect(error).toBeNull();
    const second = data.session!;
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect(decodeJwt(second.access_token).session_id).toBe(decodeJwt(first.access_token).session_id);
    expect((await client.from('tenants').select('slug')).data).toEqual([{ slug: 'acme' }]);

    const thief = newClient();
    const reused = await thief.auth.refreshSession({ refresh_token: first.refresh_token });
    expect(reused.error).toMatchObject({ status: 400, code: 'refresh_token_already_used' });
    // Reuse detection revoked the session: the current refresh token and /user fail too.
    const after = await newClient().auth.refreshSession({ refresh_token: second.refresh_token });
    expect(after.error).toMatchObject({ status: 400, code: 'refresh_token_not_found' });
    const me = await newClient().auth.getUser(second.access_token);
    expect(me.error?.name).toBe('AuthSessionMissingError');
  });

  test('sign-out ends the session: requests go out anonymous and are refused, the tokens are dead', async () => {
    const client = await signedIn('owner@globex.test');
    const session = (await client.auth.getSession()).data.session!;
    expect((await client.from('devices').select('id')).data).toHaveLength(4);
    expect((await client.auth.signOut()).error).toBeNull();

    const after = await client.from('devices').select('id');
    expect(after.data).toBeNull();
    expect(after).toMatchObject({ status: 401, error: { code: '42501' } });
    const refresh = await newClient().auth.refreshSession({ refresh_token: session.refresh_token });
    expect(refresh.error).toMatchObject({ status: 400, code: 'refresh_token_not_found' });
    expect((await newClient().auth.getUser(session.access_token)).error?.name).toBe(
      'AuthSessionMissingError',
    );
    // As on Supabase, PostgREST does not look sessions up: the access token itself stays valid for
    // the data API until it expires (an hour by default). Shown here so nobody relies on otherwise.
    const res = await raw('/rest/v1/tenants?select=slug', {
      headers: { authorization: `Bearer ${session.access_token}` },
    });
    expect(await res.json()).toEqual([{ slug: 'globex' }]);
  });
});

describe('data API under row-level security', () => {
  test("a user reads only their tenant's rows: tenants, memberships, devices", async () => {
    const client = await signedIn('owner@acme.test');
    const acme = tenantId('acme');
    const tenants = await client.from('tenants').select('id, slug');
    expect(tenants.error).toBeNull();
    expect(tenants.data).toEqual([{ id: acme, slug: 'acme' }]);
    const members = await client.from('tenant_members').select('tenant_id, role').order('role');
    expect(members.data).toEqual([
      { tenant_id: acme, role: 'owner' },
      { tenant_id: acme, role: 'viewer' },
    ]);
    const devices = await client.from('devices').select('tenant_id, key:device_key').order('device_key');
    expect(devices.data).toEqual(
      ['acme-sensor-1', 'acme-sensor-2', 'acme-sensor-3'].map((key) => ({ tenant_id: acme, key })),
    );
  });

  test("another tenant's rows requested by id return nothing", async () => {
    const client = await signedIn('owner@acme.test');
    const globexDevice = seed.devices.find((d) => d.tenant === 'globex')!;
    const list = await client.from('devices').select('id').eq('id', globexDevice.dbId);
    expect(list).toMatchObject({ error: null, data: [], status: 200 });
    const tenant = await client.from('tenants').select('id').eq('id', tenantId('globex')).maybeSingle();
    expect(tenant).toMatchObject({ error: null, data: null });
    const single = await client.from('devices').select('id').eq('id', globexDevice.dbId).single();
    expect(single).toMatchObject({ status: 406, data: null, error: { code: 'PGRST116' } });
  });

  test('filters, order, range, count and single as supabase-js sends them', async () => {
    const client = await signedIn('owner@globex.test');
    const keys = (rows: { device_key: string }[] | null) => rows?.map((r) => r.device_key);
    const inList = await client
      .from('devices')
      .select('device_key')
      .in('device_key', ['globex-sensor-1', 'globex-sensor-3', 'acme-sensor-1'])
      .order('device_key', { ascending: false });
    expect(keys(inList.data)).toEqual(['globex-sensor-3', 'globex-sensor-1']);
    const between = await client
      .from('devices')
      .select('device_key')
      .gt('device_key', 'globex-sensor-1')
      .lte('device_key', 'globex-sensor-3')
      .order('device_key');
    expect(keys(between.data)).toEqual(['globex-sensor-2', 'globex-sensor-3']);
    const bounds = await client
      .from('devices')
      .select('device_key')
      .gte('device_key', 'globex-sensor-2')
      .lt('device_key', 'globex-sensor-4')
      .order('device_key');
    expect(keys(bounds.data)).toEqual(['globex-sensor-2', 'globex-sensor-3']);
    const page = await client
      .from('devices')
      .select('device_key', { count: 'exact' })
      .order('device_key')
      .range(1, 2);
    expect(page).toMatchObject({ count: 4, status: 206 });
    expect(keys(page.data)).toEqual(['globex-sensor-2', 'globex-sensor-3']);
    const head = await client.from('devices').select('id', { count: 'exact', head: true });
    expect(head).toMatchObject({ count: 4, data: null, error: null });
    const one = await client
      .from('devices')
      .select('device_key, status')
      .eq('device_key', 'globex-sensor-4')
      .single();
    expect(one).toMatchObject({ error: null, data: { device_key: 'globex-sensor-4', status: 'active' } });
    const none = await client.from('devices').select('id').is('last_seen', null).neq('status', 'active');
    expect(none).toMatchObject({ error: null, data: [] });
  });

  test('column grants hold: select=* on devices is refused (credential_hash is not granted), as on Supabase', async () => {
    const client = await signedIn('owner@acme.test');
    for (const columns of ['*', 'id, credential_hash']) {
      const res = await client.from('devices').select(columns);
      expect(res).toMatchObject({ status: 403, data: null, error: { code: '42501' } });
    }
  });

  test('the anon key sees nothing: 401 permission denied', async () => {
    const anon = newClient();
    for (const table of ['devices', 'tenants', 'tenant_members', 'alerts']) {
      const res = await anon.from(table).select();
      expect(res).toMatchObject({ status: 401, data: null, error: { code: '42501' } });
    }
  });

  test('GET runs read-only, as in PostgREST: a view that writes fails with 25006', async () => {
    const client = await signedIn('owner@acme.test');
    const logged = async () =>
      (await pool.query(`select count(*)::int as n from public.standin_log`)).rows[0]!.n;
    const before = await logged();
    const res = await client.from('standin_log_view').select('n');
    expect(res).toMatchObject({ status: 405, error: { code: '25006' } });
    expect(await logged()).toBe(before);
  });
});

describe('rpc', () => {
  test('runs with the claims PostgREST sets: role, auth.uid(), request.jwt.claims', async () => {
    const client = await signedIn('viewer@acme.test');
    const session = (await client.auth.getSession()).data.session!;
    const me = await client.rpc('standin_whoami').single();
    expect(me).toMatchObject({
      error: null,
      data: {
        uid: user('viewer@acme.test').userId,
        db_role: 'authenticated',
        claim_role: 'authenticated',
        session_id: decodeJwt(session.access_token).session_id,
      },
    });
    const anon = await newClient().rpc('standin_whoami');
    expect(anon).toMatchObject({ error: null, data: [{ uid: null, db_role: 'anon', claim_role: 'anon' }] });
  });

  test('named arguments, scalar and set results, RLS inside the function', async () => {
    const client = await signedIn('owner@acme.test');
    expect((await client.rpc('standin_device_count', { p_tenant_id: tenantId('acme') })).data).toBe(3);
    expect((await client.rpc('standin_device_count', { p_tenant_id: tenantId('globex') })).data).toBe(0);
    expect((await client.rpc('standin_slugs')).data).toEqual(['acme']);
  });

  test('writes commit under the policies: an owner renames a device, a viewer cannot', async () => {
    const device = seed.devices.find((d) => d.deviceId === 'acme-sensor-2')!;
    const owner = await signedIn('owner@acme.test');
    const viewer = await signedIn('viewer@acme.test');
    expect(
      (await viewer.rpc('standin_rename_device', { p_device_id: device.dbId, p_name: 'viewer' })).data,
    ).toBe(0);
    expect(
      (await owner.rpc('standin_rename_device', { p_device_id: device.dbId, p_name: 'Cold room' })).data,
    ).toBe(1);
    const read = await viewer.from('devices').select('name').eq('id', device.dbId).single();
    expect(read.data).toEqual({ name: 'Cold room' });
    const other = await signedIn('owner@globex.test');
    expect((await other.rpc('standin_rename_device', { p_device_id: device.dbId, p_name: 'x' })).data).toBe(
      0,
    );
  });

  test('errors as PostgREST maps them: raise (400), unknown function (404), void (204)', async () => {
    const client = await signedIn('owner@acme.test');
    const raised = await client.rpc('standin_fail', { p_message: 'nope' });
    expect(raised).toMatchObject({ status: 400, error: { code: 'P0001', message: 'nope' } });
    const missing = await client.rpc('standin_no_such_function', { a: 1 });
    expect(missing).toMatchObject({ status: 404, error: { code: 'PGRST202' } });
    const wrongArgs = await client.rpc('standin_device_count', { tenant: tenantId('acme') });
    expect(wrongArgs).toMatchObject({ status: 404, error: { code: 'PGRST202' } });
    const badValue = await client.rpc('standin_device_count', {
      p_tenant_id: "x'); delete from public.devices; --",
    });
    expect(badValue).toMatchObject({ status: 400, error: { code: '22P02' } });
    const written = await client.rpc('standin_log_write');
    expect(written).toMatchObject({ error: null, data: 1 });
  });
});

describe('hostile requests are refused without touching data', () => {
  let before: string;
  beforeAll(async () => {
    before = await dataFingerprint();
  });
  afterAll(async () => {
    expect(await dataFingerprint()).toBe(before);
  });

  test('SQL in a relation, a column, a filter column, a filter value, an order', async () => {
    const client = await signedIn('owner@acme.test');
    const relation = await client.from('devices; drop table public.tenants; --').select('id');
    expect(relation).toMatchObject({ status: 404, error: { code: 'PGRST205' } });
    const column = await client.from('devices').select('id, "tenant_id" from public.tenants --');
    expect(column).toMatchObject({ status: 400, error: { code: '42703' } });
    const value = await client.from('devices').select('id').eq('device_key', "x' or '1'='1");
    expect(value).toMatchObject({ status: 200, data: [] });
    const typed = await client.from('devices').select('id').eq('id', "x' or 1=1 --");
    expect(typed).toMatchObject({ status: 400, error: { code: '22P02' } });
    const token = (await client.auth.getSession()).data.session!.access_token;
    const auth = { authorization: `Bearer ${token}` };
    for (const [name, code] of [
      ['id);delete from devices;--', '42703'],
      ['id);delete from public.devices;--', 'PGRST100'], // a dot: an embedded filter, not implemented
    ] as const) {
      const filter = await raw(`/rest/v1/devices?select=id&${encodeURIComponent(name)}=eq.1`, {
        headers: auth,
      });
      expect([filter.status, (await errorOf(filter)).code]).toEqual([400, code]);
    }
    const order = await raw(
      `/rest/v1/devices?select=id&order=${encodeURIComponent('id;drop table devices')}`,
      { headers: auth },
    );
    expect([order.status, (await errorOf(order)).code]).toEqual([400, '42703']);
    const operator = await raw(
      `/rest/v1/devices?select=id&id=${encodeURIComponent('eq);drop table x;--.1')}`,
      { headers: auth },
    );
    expect(operator.status).toBe(400);
  });

  test('limits: never more than max_rows; malformed limits and offsets are 400', async () => {
    const small = await startSupabaseStandin({ pool, jwtSecret, maxRows: 2 });
    try {
      const client = newClient(small.anonKey, small.url);
      await client.auth.signInWithPassword({
        email: 'owner@globex.test',
        password: user('owner@globex.test').password!,
      });
      const { data, count } = await client.from('devices').select('id', { count: 'exact' }).limit(1_000_000);
      expect([data?.length, count]).toEqual([2, 4]);
    } finally {
      await small.close();
    }
    const token = await issueJwt({ userId: user('owner@acme.test').userId }, jwtSecret);
    const auth = { authorization: `Bearer ${token}` };
    const huge = await raw('/rest/v1/devices?select=id&limit=999999999999999999999999999', { headers: auth });
    expect([huge.status, ((await huge.json()) as unknown[]).length]).toEqual([200, 3]);
    for (const query of ['limit=-1', 'limit=1e9', 'limit=abc', 'offset=99999999999999999999', 'offset=-5']) {
      const res = await raw(`/rest/v1/devices?select=id&${query}`, { headers: auth });
      expect([query, res.status, (await errorOf(res)).code]).toEqual([query, 400, 'PGRST100']);
    }
  });

  test('keys and tokens: missing, another secret, forged service_role, expired, foreign role, alg none', async () => {
    const owner = user('owner@acme.test');
    const noKey = await fetch(`${standin.url}/rest/v1/tenants?select=id`);
    expect([noKey.status, (await errorOf(noKey)).message]).toEqual([401, 'No API key found in request']);
    const foreignKey = await raw('/rest/v1/tenants?select=id', {
      headers: { apikey: await issueApiKeyJwt('anon', otherSecret) },
    });
    expect([foreignKey.status, (await errorOf(foreignKey)).message]).toEqual([401, 'Invalid API key']);

    const forgedService = await issueApiKeyJwt('service_role', otherSecret);
    const sign = (claims: Record<string, unknown>, secret: string) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .sign(new TextEncoder().encode(secret));
    const now = Math.floor(Date.now() / 1000);
    const cases: [string, string, string][] = [
      ['service_role signed with another secret', forgedService, 'PGRST301'],
      [
        'a user token signed with another secret',
        await issueJwt({ userId: owner.userId }, otherSecret),
        'PGRST301',
      ],
      [
        'an expired user token',
        await issueJwt({ userId: owner.userId, expiresInSeconds: -10 }, jwtSecret),
        'PGRST303',
      ],
      [
        'a valid signature with role postgres',
        await sign({ role: 'postgres', exp: now + 60 }, jwtSecret),
        'PGRST301',
      ],
      [
        'alg none with role service_role',
        `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify({ role: 'service_role', exp: now + 60 })).toString('base64url')}.`,
        'PGRST301',
      ],
      ['garbage', 'not-a-jwt', 'PGRST301'],
    ];
    for (const [name, token, code] of cases) {
      const res = await raw('/rest/v1/devices?select=id', { headers: { authorization: `Bearer ${token}` } });
      expect([name, res.status, (await errorOf(res)).code]).toEqual([name, 401, code]);
      const call = await raw('/rest/v1/rpc/standin_log_write', {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: '{}',
      });
      expect([name, call.status]).toEqual([name, 401]);
    }
    // A forged service_role key as the client's key: refused at the gateway.
    const forgedClient = newClient(forgedService);
    expect((await forgedClient.from('devices').select('id')).status).toBe(401);
    expect(
      (await forgedClient.auth.signInWithPassword({ email: owner.email, password: owner.password! })).error
        ?.status,
    ).toBe(401);
  });

  test('bodies: too large (413), not JSON (400), an array (400)', async () => {
    const token = await issueJwt({ userId: user('owner@acme.test').userId }, jwtSecret);
    const post = (body: string) =>
      raw('/rest/v1/rpc/standin_log_write', {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body,
      });
    expect((await post(`{"a":"${'x'.repeat(2 * 1024 * 1024)}"}`)).status).toBe(413);
    expect((await post('{not json')).status).toBe(400);
    expect((await post('[{}]')).status).toBe(400);
    const write = await raw('/rest/v1/devices', {
      method: 'PATCH',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: '{"name":"x"}',
    });
    expect(write.status).toBe(400);
  });
});
