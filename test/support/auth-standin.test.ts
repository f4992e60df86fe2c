import { SignJWT, decodeJwt, decodeProtectedHeader } from 'jose';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from './database.js';
import {
  InvalidJwtError,
  SUPABASE_LOCAL_JWT_SECRET,
  createAuthUser,
  issueApiKeyJwt,
  issueJwt,
  verifyJwt,
  withJwtClaims,
} from './auth-standin.js';

const SECRET = SUPABASE_LOCAL_JWT_SECRET;

describe('issueJwt / verifyJwt', () => {
  test('issues an HS256 token with the claims Supabase Auth puts in', async () => {
    const now = new Date('2026-11-26T10:00:00Z');
    const token = await issueJwt(
      {
        userId: '6f1c1d52-5d55-4f0e-9a55-0d2b2f0f4a11',
        email: 'ana@example.test',
        expiresInSeconds: 600,
        now,
      },
      SECRET,
    );
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'HS256', typ: 'JWT' });
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({
      sub: '6f1c1d52-5d55-4f0e-9a55-0d2b2f0f4a11',
      email: 'ana@example.test',
      role: 'authenticated',
      aud: 'authenticated',
      iss: 'http://127.0.0.1:54321/auth/v1',
      iat: now.getTime() / 1000,
      exp: now.getTime() / 1000 + 600,
      app_metadata: { provider: 'email', providers: ['email'] },
      user_metadata: {},
      aal: 'aal1',
      is_anonymous: false,
    });
    expect(claims.session_id).toMatch(/^[0-9a-f-]{36}$/);
  });

  test('verifies a valid token and returns its claims', async () => {
    const token = await issueJwt(
      { userId: '6f1c1d52-5d55-4f0e-9a55-0d2b2f0f4a11', email: 'ana@example.test' },
      SECRET,
    );
    const claims = await verifyJwt(token, SECRET);
    expect(claims.sub).toBe('6f1c1d52-5d55-4f0e-9a55-0d2b2f0f4a11');
    expect(claims.role).toBe('authenticated');
  });

  test('refuses an expired token', async () => {
    const token = await issueJwt({ userId: 'u', expiresInSeconds: -1 }, SECRET);
    await expect(verifyJwt(token, SECRET)).rejects.toMatchObject({
      name: 'InvalidJwtError',
      reason: 'expired',
    });
  });

  test('refuses a token signed with another secret', async () => {
    const forged = await issueJwt({ userId: 'u' }, 'another-secret-that-is-at-least-32-characters');
    await expect(verifyJwt(forged, SECRET)).rejects.toMatchObject({ reason: 'signature' });
  });

  test('refuses a token whose payload was changed after signing', async () => {
    const token = await issueJwt({ userId: 'victim' }, SECRET);
    const [header, payload, signature] = token.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<string, unknown>;
    const tampered = Buffer.from(
      JSON.stringify({ ...claims, sub: 'attacker', role: 'service_role' }),
    ).toString('base64url');
    await expect(verifyJwt(`${header}.${tampered}.${signature}`, SECRET)).rejects.toMatchObject({
      reason: 'signature',
    });
  });

  test('refuses an unsigned (alg none) token and garbage', async () => {
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const exp = Math.floor(Date.now() / 1000) + 3600;
    const unsigned = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'u', role: 'service_role', exp })}.`;
    await expect(verifyJwt(unsigned, SECRET)).rejects.toBeInstanceOf(InvalidJwtError);
    await expect(verifyJwt('not-a-jwt', SECRET)).rejects.toMatchObject({ reason: 'malformed' });
  });

  test('refuses a token without exp or without role', async () => {
    const key = new TextEncoder().encode(SECRET);
    const noExp = await new SignJWT({ sub: 'u', role: 'authenticated' })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(key);
    await expect(verifyJwt(noExp, SECRET)).rejects.toMatchObject({ reason: 'claims' });
    const noRole = await new SignJWT({ sub: 'u' })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('1h')
      .sign(key);
    await expect(verifyJwt(noRole, SECRET)).rejects.toMatchObject({ reason: 'claims' });
  });

  test('refuses a secret shorter than 32 characters, as Supabase does', async () => {
    await expect(issueJwt({ userId: 'u' }, 'short')).rejects.toThrow(/at least 32/);
  });

  test('issues API keys (anon) that verify with their role and no user', async () => {
    const claims = await verifyJwt(await issueApiKeyJwt('anon', SECRET), SECRET);
    expect(claims.role).toBe('anon');
    expect(claims.sub).toBeUndefined();
  });
});

describe('withJwtClaims against a migrated database', () => {
  let db: TestDatabase;
  let client: pg.Client;
  let ana: { id: string };
  let bob: { id: string };
  const tenantA = '0b7e7a52-8d6c-4c43-9a7e-6c2a1f0e0a0a';
  const tenantB = '0b7e7a52-8d6c-4c43-9a7e-6c2a1f0e0b0b';

  beforeAll(async () => {
    db = await createTestDatabase('auth_standin');
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
    ana = await createAuthUser(client, { email: 'ana@example.test' });
    bob = await createAuthUser(client, { email: 'bob@example.test' });
    await client.query(`
      insert into public.plans (id, name, max_devices, max_messages_per_day, retention_days, ai_tokens_per_month, monthly_price_cents)
      values ('standin', 'Stand-in', 10, 1000, 7, 0, 0);
      insert into public.tenants (id, slug, name, plan_id) values
        ('${tenantA}', 'tenant-a', 'A', 'standin'), ('${tenantB}', 'tenant-b', 'B', 'standin');
      insert into public.tenant_members (tenant_id, user_id, role) values
        ('${tenantA}', '${ana.id}', 'viewer'), ('${tenantB}', '${bob.id}', 'owner');
      insert into public.devices (tenant_id, device_key, name, credential_hash) values
        ('${tenantA}', 'dev-a1', 'A1', '$7$x'), ('${tenantA}', 'dev-a2', 'A2', '$7$x'),
        ('${tenantB}', 'dev-b1', 'B1', '$7$x');
    `);
  });

  afterAll(async () => {
    await client?.end();
    await db?.drop();
  });

  test('createAuthUser returns the existing user for a known email', async () => {
    expect(await createAuthUser(client, { email: 'ana@example.test' })).toEqual(ana);
  });

  test('a member reads only the devices of their own tenant', async () => {
    const claims = await verifyJwt(
      await issueJwt({ userId: ana.id, email: 'ana@example.test' }, SECRET),
      SECRET,
    );
    const seen = await withJwtClaims(client, claims, async (c) => {
      const who = await c.query(`select current_user as role, auth.uid() as uid, auth.role() as claim_role`);
      const devices = await c.query(`select device_key, tenant_id from public.devices order by device_key`);
      return { who: who.rows[0], devices: devices.rows };
    });
    expect(seen.who).toEqual({ role: 'authenticated', uid: ana.id, claim_role: 'authenticated' });
    expect(seen.devices).toEqual([
      { device_key: 'dev-a1', tenant_id: tenantA },
      { device_key: 'dev-a2', tenant_id: tenantA },
    ]);
  });

  test('sets request.jwt.claims and the older per-claim settings as PostgREST does', async () => {
    const claims = await verifyJwt(
      await issueJwt({ userId: bob.id, email: 'bob@example.test' }, SECRET),
      SECRET,
    );
    const settings = await withJwtClaims(client, claims, async (c) => {
      const res = await c.query(
        `select current_setting('request.jwt.claims')::jsonb as claims,
                current_setting('request.jwt.claim.sub') as sub,
                current_setting('request.jwt.claim.role') as role,
                current_setting('request.jwt.claim.email') as email`,
      );
      return res.rows[0];
    });
    expect(settings).toEqual({ claims, sub: bob.id, role: 'authenticated', email: 'bob@example.test' });
  });

  test('the context is transaction-local: the connection is itself again afterwards', async () => {
    const claims = await verifyJwt(await issueJwt({ userId: ana.id }, SECRET), SECRET);
    await withJwtClaims(client, claims, async () => undefined);
    const res = await client.query(
      `select current_user as role, auth.uid() as uid, count(*)::int as devices from public.devices`,
    );
    expect(res.rows[0]).toEqual({ role: 'postgres', uid: null, devices: 3 });
  });

  test('rolls back when fn throws', async () => {
    const claims = await verifyJwt(await issueJwt({ userId: bob.id }, SECRET), SECRET);
    await expect(
      withJwtClaims(client, claims, async (c) => {
        await c.query(`update public.devices set name = 'renamed' where device_key = 'dev-b1'`);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const res = await client.query(`select name from public.devices where device_key = 'dev-b1'`);
    expect(res.rows[0].name).toBe('B1');
    expect((await client.query('select current_user as r')).rows[0].r).toBe('postgres');
  });

  test('commits what fn did under RLS (an owner renames their device)', async () => {
    const claims = await verifyJwt(await issueJwt({ userId: bob.id }, SECRET), SECRET);
    const updated = await withJwtClaims(client, claims, async (c) => {
      const res = await c.query(`update public.devices set name = 'Boiler' where device_key like 'dev-%'`);
      return res.rowCount;
    });
    expect(updated).toBe(1);
    const res = await client.query(`select device_key, name from public.devices order by device_key`);
    expect(res.rows.map((r) => r.name)).toEqual(['A1', 'A2', 'Boiler']);
  });

  test('anon sees no tenant data', async () => {
    const claims = await verifyJwt(await issueApiKeyJwt('anon', SECRET), SECRET);
    await expect(
      withJwtClaims(client, claims, (c) => c.query(`select device_key from public.devices`)),
    ).rejects.toThrow(/permission denied/);
  });

  test('refuses a role PostgREST would never switch to', async () => {
    await expect(withJwtClaims(client, { role: 'postgres', sub: ana.id }, async () => 1)).rejects.toThrow(
      /not one of anon, authenticated, service_role/,
    );
  });
});
