/**
 * The settings the environment YAML owns on the Function App: the archive's, derived from its
 * `archive:` section; merged into whatever else the app has (a property: nothing else changes);
 * written through the Resource Manager calls against the stand-in (test/support/kudu-standin.ts),
 * only when they differ; and the functions stage writing them before it deploys, also when the
 * package is unchanged, and refusing to deploy when they cannot be written.
 */
import fc from 'fast-check';
import { loadOpsTarget, type OpsTarget } from '../config/ops-target.js';
import { MissingSecretError } from '../config/secrets.js';
import { standinCredential } from '../../test/support/azure-standin.js';
import { startKuduStandin, type KuduStandin } from '../../test/support/kudu-standin.js';
import {
  ARCHIVE_SETTING_NAMES,
  archiveAppSettings,
  armAppSettings,
  planAppSettings,
  syncAppSettings,
  type OwnedSettings,
} from './function-app-settings.js';
import { runFunctionsStage } from './functions-stage.js';
import { bearerFromCredential, nodeHttpClient } from './functions-transport-http.js';
import type { FunctionsReleaseStore } from './functions-releases.js';

const SUB = '00000000-1111-2222-3333-444444444444';
const RG = 'rg-test';
const APP = 'func-test';
const CONN =
  'DefaultEndpointsProtocol=https;AccountName=archacct;AccountKey=c2VjcmV0LWtleQ==;EndpointSuffix=core.windows.net';
const secrets = (env: Record<string, string>) => ({
  read: (name: string) => {
    const v = env[name];
    if (v === undefined) throw new MissingSecretError(name, 'test');
    return v;
  },
});

describe('archiveAppSettings: the YAML archive section as ARCHIVE_* settings', () => {
  test('no section: the YAML does not speak, nothing is owned', () => {
    expect(archiveAppSettings(undefined, secrets({}))).toBeNull();
  });

  test('disabled: ARCHIVE_MODE only (every other ARCHIVE_* setting is removed)', () => {
    const owned = archiveAppSettings({ mode: 'disabled', reason: 'the container was deleted' }, secrets({}))!;
    expect(owned.values).toEqual({ ARCHIVE_MODE: 'disabled' });
    expect(owned.names).toEqual(ARCHIVE_SETTING_NAMES);
  });

  test('enabled: the container, the connection string from its env variable, the optional caps', () => {
    const owned = archiveAppSettings(
      {
        mode: 'enabled',
        container: 'archive',
        connectionStringEnv: 'OPS_ARCHIVE_STORAGE_CONNECTION_STRING',
        retentionDays: 30,
        partitionsAheadDays: 10,
        hourlyRetentionDays: 400,
      },
      secrets({ OPS_ARCHIVE_STORAGE_CONNECTION_STRING: CONN }),
    )!;
    expect(owned.values).toEqual({
      ARCHIVE_MODE: 'enabled',
      ARCHIVE_CONTAINER: 'archive',
      ARCHIVE_STORAGE_CONNECTION_STRING: CONN,
      ARCHIVE_RETENTION_DAYS: '30',
      ARCHIVE_PARTITIONS_AHEAD_DAYS: '10',
      ARCHIVE_HOURLY_RETENTION_DAYS: '400',
    });
  });

  test('enabled without its secret: refused by the variable name', () => {
    expect(() =>
      archiveAppSettings(
        {
          mode: 'enabled',
          container: 'archive',
          connectionStringEnv: 'OPS_ARCHIVE_STORAGE_CONNECTION_STRING',
        },
        secrets({}),
      ),
    ).toThrow(/OPS_ARCHIVE_STORAGE_CONNECTION_STRING/);
  });

  test('purge-without-archive: its reason goes to the app (every report of a deletion repeats it)', () => {
    const owned = archiveAppSettings(
      { mode: 'purge-without-archive', reason: 'cost spike, approved by on-call', retentionDays: 14 },
      secrets({}),
    )!;
    expect(owned.values).toEqual({
      ARCHIVE_MODE: 'purge-without-archive',
      ARCHIVE_PURGE_REASON: 'cost spike, approved by on-call',
      ARCHIVE_RETENTION_DAYS: '14',
    });
  });
});

describe('planAppSettings', () => {
  const name = fc.oneof(
    fc.constantFrom(
      ...ARCHIVE_SETTING_NAMES,
      'AzureWebJobsStorage',
      'DATABASE_URL',
      'ARCHIVE_TIME_BUDGET_SECONDS',
    ),
    fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,20}$/),
  );
  const settings = fc.dictionary(name, fc.string({ maxLength: 12 }), { maxKeys: 12 });
  const owned = fc
    .dictionary(fc.constantFrom(...ARCHIVE_SETTING_NAMES), fc.string({ maxLength: 12 }))
    .map((values): OwnedSettings => ({ names: ARCHIVE_SETTING_NAMES, values, source: 'test' }));

  test('property: owned names end exactly as the YAML says, every other setting is kept as it was, a second plan changes nothing', () => {
    fc.assert(
      fc.property(settings, owned, (current, o) => {
        const plan = planAppSettings(current, o);
        const ownedNames = new Set<string>(o.names);
        for (const [k, v] of Object.entries(current)) if (!ownedNames.has(k)) expect(plan.next[k]).toBe(v);
        for (const k of o.names) expect(plan.next[k]).toBe(o.values[k]);
        expect(Object.keys(plan.next).filter((k) => !ownedNames.has(k) && !(k in current))).toEqual([]);
        expect(plan.changed).toEqual(
          o.names.filter((k) => k in o.values && current[k] !== o.values[k]).sort(),
        );
        expect(plan.removed).toEqual(o.names.filter((k) => k in current && !(k in o.values)).sort());
        const again = planAppSettings(plan.next, o);
        expect([again.changed, again.removed]).toEqual([[], []]);
        expect(again.next).toEqual(plan.next);
      }),
    );
  });
});

describe('against the Resource Manager stand-in', () => {
  let standin: KuduStandin;
  beforeAll(async () => {
    standin = await startKuduStandin({ subscriptionId: SUB, resourceGroup: RG, functionApp: APP });
  });
  afterAll(() => standin?.close());
  beforeEach(() => standin.reset());

  const client = (token = standin.token, masked: string[] = []) =>
    armAppSettings({
      armUrl: standin.armUrl,
      subscriptionId: SUB,
      resourceGroup: RG,
      functionApp: APP,
      authorization: bearerFromCredential(standinCredential(token)),
      http: nodeHttpClient({ ca: standin.caPem }),
      mask: (v) => masked.push(v),
    });
  const enabled = (): OwnedSettings =>
    archiveAppSettings(
      { mode: 'enabled', container: 'archive', connectionStringEnv: 'CONN', retentionDays: 30 },
      secrets({ CONN }),
    )!;
  const armCalls = () =>
    standin.requests.map((r) => `${r.method} ${r.path.split(`/sites/${APP}`)[1]} ${r.query['api-version']}`);

  test('writes the owned settings once, keeps every other setting, names settings and never values', async () => {
    standin.scenario.appSettings = {
      FUNCTIONS_EXTENSION_VERSION: '~4',
      DATABASE_URL: 'postgres://app:s3cret-db@db.example/postgres',
      ARCHIVE_PURGE_REASON: 'left from a purge',
      ARCHIVE_TIME_BUDGET_SECONDS: '300',
    };
    const masked: string[] = [];
    const lines: string[] = [];
    const first = await syncAppSettings(client(standin.token, masked), enabled(), (l) => lines.push(l));
    expect(first).toMatchObject({
      unchanged: false,
      changed: [
        'ARCHIVE_CONTAINER',
        'ARCHIVE_MODE',
        'ARCHIVE_RETENTION_DAYS',
        'ARCHIVE_STORAGE_CONNECTION_STRING',
      ],
      removed: ['ARCHIVE_PURGE_REASON'],
    });
    expect(armCalls()).toEqual([
      'POST /config/appsettings/list 2016-08-01',
      'PUT /config/appsettings 2016-08-01',
    ]);
    expect(standin.appSettings()).toEqual({
      FUNCTIONS_EXTENSION_VERSION: '~4',
      DATABASE_URL: 'postgres://app:s3cret-db@db.example/postgres',
      // Not in the YAML: the app's own.
      ARCHIVE_TIME_BUDGET_SECONDS: '300',
      ARCHIVE_MODE: 'enabled',
      ARCHIVE_CONTAINER: 'archive',
      ARCHIVE_RETENTION_DAYS: '30',
      ARCHIVE_STORAGE_CONNECTION_STRING: CONN,
    });
    expect(masked).toContain('postgres://app:s3cret-db@db.example/postgres');
    expect([...lines, first.summary].join('\n')).not.toMatch(/AccountKey|s3cret|c2VjcmV0/);

    // Again: the app says what the YAML says, no PUT (a PUT restarts the app).
    standin.requests.length = 0;
    const second = await syncAppSettings(client(), enabled());
    expect(second.unchanged).toBe(true);
    expect(armCalls()).toEqual(['POST /config/appsettings/list 2016-08-01']);
  });

  test('an identity Resource Manager refuses: a clear error, nothing written', async () => {
    await expect(syncAppSettings(client('not-the-token'), enabled())).rejects.toThrow(
      /listing the app settings: 401 .*Website Contributor/,
    );
    expect(standin.requests.filter((r) => r.method === 'PUT')).toEqual([]);
  });

  describe('the functions stage', () => {
    let target: OpsTarget;
    beforeAll(async () => {
      target = await loadOpsTarget('prod', { env: { CONN } });
    });
    beforeEach(() => {
      standin.scenario.appSettings = { FUNCTIONS_EXTENSION_VERSION: '~4', FUNCTIONS_WORKER_RUNTIME: 'node' };
    });
    const store: FunctionsReleaseStore = {
      description: 'test store',
      latest: async () => ({
        commitSha: 'a'.repeat(40),
        sha256: 'b'.repeat(64),
        bytes: 1,
        functions: [],
        storedAt: '',
      }),
      previous: async () => null,
      put: async () => undefined,
      download: async () => undefined,
      rollback: async () => undefined,
    } as unknown as FunctionsReleaseStore;
    const deployed: string[] = [];
    const stage = (archive: OpsTarget['config']['archive'], token = standin.token) => {
      target.config.archive = archive;
      let built = 0;
      const run = runFunctionsStage({
        target,
        root: '/nonexistent',
        commitSha: 'a'.repeat(40),
        healthUrl: 'https://func.example/api/health',
        readHealth: async () => ({ reachable: true, httpStatus: 200, status: 'ok', version: 'a'.repeat(40) }),
        buildPackage: async () => {
          built += 1;
          return {
            path: '/x.zip',
            sha256: 'b'.repeat(64),
            bytes: 1,
            commitSha: 'a'.repeat(40),
            functions: [],
          };
        },
        transport: { description: 'test transport', deploy: async (zip) => void deployed.push(zip) },
        store,
        appSettings: client(token),
      });
      return run.then((r) => ({ r, built }));
    };

    test('an unchanged package still gets the settings the YAML changed: success, nothing deployed', async () => {
      const { r } = await stage({
        mode: 'enabled',
        container: 'archive',
        connectionStringEnv: 'CONN',
      });
      expect(r.status).toBe('success');
      expect(r.deployed).toBe(false);
      expect(r.summary).toMatch(
        /^app settings: archive: enabled: set ARCHIVE_CONTAINER, ARCHIVE_MODE, ARCHIVE_STORAGE_CONNECTION_STRING; package unchanged/,
      );
      expect(r.summary).not.toContain('AccountKey');
      expect(standin.appSettings().ARCHIVE_MODE).toBe('enabled');
      expect(deployed).toEqual([]);
      // And the same again is skipped.
      expect(
        (await stage({ mode: 'enabled', container: 'archive', connectionStringEnv: 'CONN' })).r.status,
      ).toBe('skipped');
    });

    test('settings that cannot be written: the stage fails and deploys nothing', async () => {
      const { r } = await stage({ mode: 'disabled', reason: 'the container was deleted' }, 'not-the-token');
      expect(r.status).toBe('failure');
      expect(r.summary).toMatch(
        /^writing the Function App settings \(nothing deployed\): listing the app settings: 401/,
      );
      expect(deployed).toEqual([]);
    });

    test('enabled without the connection string secret: refused before anything is built', async () => {
      const { r, built } = await stage({
        mode: 'enabled',
        container: 'archive',
        connectionStringEnv: 'OPS_NOT_SET',
      });
      expect(r.status).toBe('failure');
      expect(r.summary).toMatch(/OPS_NOT_SET/);
      expect(built).toBe(0);
      expect(standin.requests).toEqual([]);
    });
  });
});
