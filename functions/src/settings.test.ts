import { parseSettings, pickSettings, SECTIONS, settingsError, SettingsError } from './settings.js';

const database = { DATABASE_URL: 'postgres://app:db-s3cret@db.example.com:6543/postgres' };
const probe = {
  PROBE_MQTT_LISTENERS: 'tls=mqtts://mqtt.example.com:8883, websocket=wss://mqtt.example.com:9001/mqtt',
  PROBE_MQTT_USERNAME: 'svc-uptime',
  PROBE_MQTT_PASSWORD: 'pw-123456',
};
const all = (env: Record<string, string>) => pickSettings(parseSettings(env), SECTIONS);
const problems = (env: Record<string, string>) => settingsError(parseSettings(env))?.problems ?? [];

test('the minimum: a database and the probe; everything else has its default', () => {
  expect(all({ ...database, ...probe })).toEqual({
    database: { url: database.DATABASE_URL, poolMax: 4 },
    alerts: { mqtt: null, allowPrivateWebhookTargets: false },
    probe: {
      listeners: [
        { name: 'tls', url: 'mqtts://mqtt.example.com:8883' },
        { name: 'websocket', url: 'wss://mqtt.example.com:9001/mqtt' },
      ],
      username: 'svc-uptime',
      password: 'pw-123456',
      endpoints: [],
      healthUrl: undefined,
      github: undefined,
    },
    archive: {
      mode: 'disabled',
      store: undefined,
      retentionDays: undefined,
      purgeReason: undefined,
      partitionsAheadDays: 7,
      hourlyRetentionDays: undefined,
      timeBudgetSeconds: 240,
    },
  });
});

test('everything set', () => {
  const ca = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
  const s = all({
    ...database,
    ...probe,
    DATABASE_POOL_MAX: '10',
    ALERTS_MQTT_URL: 'mqtts://mqtt.example.com:8883',
    ALERTS_MQTT_USERNAME: 'svc-alerts',
    ALERTS_MQTT_PASSWORD: 'alerts-pw',
    ALERTS_MQTT_CA_PEM: ca,
    ALERTS_WEBHOOK_ALLOW_PRIVATE: '1',
    PROBE_ENDPOINTS: 'dashboard=https://app.example.com/,api=http://api.example.com/health',
    PROBE_HEALTH_URL: 'https://func.example.com/api/health',
    GITHUB_REPOSITORY: 'acme/mqtt-saas',
    GITHUB_DISPATCH_TOKEN: 'ghs_x',
  });
  expect(s.database.poolMax).toBe(10);
  expect(s.alerts).toEqual({
    mqtt: { url: 'mqtts://mqtt.example.com:8883', username: 'svc-alerts', password: 'alerts-pw', ca },
    allowPrivateWebhookTargets: true,
  });
  expect(s.probe.endpoints).toEqual([
    { name: 'dashboard', url: 'https://app.example.com/' },
    { name: 'api', url: 'http://api.example.com/health' },
  ]);
  expect(s.probe.healthUrl).toBe('https://func.example.com/api/health');
  expect(s.probe.github).toEqual({
    repository: 'acme/mqtt-saas',
    token: 'ghs_x',
    apiUrl: 'https://api.github.com',
  });
});

test('an empty value is an unset one', () => {
  const s = all({
    ...database,
    ...probe,
    DATABASE_POOL_MAX: '',
    ALERTS_MQTT_URL: '',
    ALERTS_WEBHOOK_ALLOW_PRIVATE: '',
    GITHUB_REPOSITORY: '',
    GITHUB_DISPATCH_TOKEN: '',
  });
  expect(s.database.poolMax).toBe(4);
  expect(s.alerts.mqtt).toBeNull();
  expect(s.probe.github).toBeUndefined();
});

test('nothing set: every required variable is named in one error', () => {
  expect(() => all({})).toThrow(
    new SettingsError([
      'DATABASE_URL is not set',
      'PROBE_MQTT_LISTENERS is not set',
      'PROBE_MQTT_USERNAME is not set',
      'PROBE_MQTT_PASSWORD is not set',
    ]),
  );
  expect(() => all({})).toThrow(
    'Function App settings: DATABASE_URL is not set; PROBE_MQTT_LISTENERS is not set; ' +
      'PROBE_MQTT_USERNAME is not set; PROBE_MQTT_PASSWORD is not set',
  );
});

test('every invalid value is named at once, and no value is echoed', () => {
  const env = {
    DATABASE_URL: 'mysql://root:db-s3cret@db.example.com/x',
    DATABASE_POOL_MAX: '0',
    ALERTS_MQTT_URL: 'https://user:mqtt-s3cret@mqtt.example.com',
    ALERTS_MQTT_PASSWORD: 'alerts-s3cret',
    ALERTS_MQTT_CA_PEM: 'ca-s3cret',
    ALERTS_WEBHOOK_ALLOW_PRIVATE: 'true',
    PROBE_MQTT_LISTENERS: 'tls=http://probe-s3cret@nope,tls=mqtts://a:8883,tls=mqtts://b:8883',
    PROBE_MQTT_PASSWORD: 'pw-s3cret',
    PROBE_ENDPOINTS: 'Dashboard=https://app.example.com/,status',
    PROBE_HEALTH_URL: 'ftp://func.example.com/health',
    GITHUB_REPOSITORY: 'not a repo',
    GITHUB_API_URL: 'api.github.com',
  };
  const listed = problems(env);
  expect(listed).toEqual([
    'DATABASE_URL is not a postgres:// URL',
    'DATABASE_POOL_MAX must be a whole number from 1 to 9999',
    'ALERTS_MQTT_URL is not an mqtt(s):// or ws(s):// URL',
    'ALERTS_MQTT_PASSWORD is set but ALERTS_MQTT_USERNAME is not',
    'ALERTS_MQTT_CA_PEM is not a PEM certificate',
    'ALERTS_WEBHOOK_ALLOW_PRIVATE must be 1 or 0',
    'PROBE_MQTT_LISTENERS: entry 1 is not name=url (name: a-z, 0-9, -; url: mqtt, mqtts, ws, wss)',
    'PROBE_MQTT_LISTENERS: name tls appears twice',
    'PROBE_MQTT_USERNAME is not set',
    'PROBE_ENDPOINTS: entry 1 is not name=url (name: a-z, 0-9, -; url: http, https)',
    'PROBE_ENDPOINTS: entry 2 is not name=url (name: a-z, 0-9, -; url: http, https)',
    'PROBE_HEALTH_URL is not an http(s):// URL',
    'GITHUB_REPOSITORY must be owner/name',
    'GITHUB_DISPATCH_TOKEN is not set (GITHUB_REPOSITORY is)',
    'GITHUB_API_URL is not an http(s):// URL',
  ]);
  expect(listed.join('\n')).not.toMatch(/s3cret|example\.com|nope/);
});

test('alerts: credentials without a broker URL are a mistake, not a silent no-op', () => {
  expect(
    problems({ ...database, ...probe, ALERTS_MQTT_USERNAME: 'svc-alerts', ALERTS_MQTT_PASSWORD: 'x' }),
  ).toEqual([
    'ALERTS_MQTT_USERNAME is set but ALERTS_MQTT_URL is not',
    'ALERTS_MQTT_PASSWORD is set but ALERTS_MQTT_URL is not',
  ]);
  // A broker without credentials is allowed: the broker refuses it if it must.
  expect(all({ ...database, ...probe, ALERTS_MQTT_URL: 'mqtt://127.0.0.1:1883' }).alerts.mqtt).toEqual({
    url: 'mqtt://127.0.0.1:1883',
    username: undefined,
    password: undefined,
    ca: undefined,
  });
});

test('probe: the GitHub pair is all or nothing; without it the probe records only', () => {
  expect(problems({ ...database, ...probe, GITHUB_DISPATCH_TOKEN: 'ghs_x' })).toEqual([
    'GITHUB_REPOSITORY must be owner/name',
  ]);
  expect(problems({ ...database, ...probe, GITHUB_REPOSITORY: 'acme/mqtt-saas' })).toEqual([
    'GITHUB_DISPATCH_TOKEN is not set (GITHUB_REPOSITORY is)',
  ]);
  const github = { GITHUB_REPOSITORY: 'acme/mqtt-saas', GITHUB_DISPATCH_TOKEN: 'ghs_x' };
  expect(
    all({ ...database, ...probe, ...github, GITHUB_API_URL: 'http://127.0.0.1:9/' }).probe.github,
  ).toEqual({
    ...{ repository: 'acme/mqtt-saas', token: 'ghs_x' },
    apiUrl: 'http://127.0.0.1:9/',
  });
  // GITHUB_API_URL alone configures nothing.
  expect(
    all({ ...database, ...probe, GITHUB_API_URL: 'https://ghe.example.com/api/v3' }).probe.github,
  ).toBeUndefined();
});

test('a function is refused only for the sections it uses', () => {
  const parsed = parseSettings({ ...database, PROBE_MQTT_USERNAME: 'svc-uptime' });
  // Ingest and health run although the probe is misconfigured.
  expect(pickSettings(parsed, ['database']).database.url).toBe(database.DATABASE_URL);
  expect(pickSettings(parsed, ['database', 'alerts']).alerts.mqtt).toBeNull();
  expect(() => pickSettings(parsed, ['database', 'probe'])).toThrow(
    'Function App settings: PROBE_MQTT_LISTENERS is not set; PROBE_MQTT_PASSWORD is not set',
  );
  // The log at start lists every problem of every section.
  expect(settingsError(parsed)?.problems).toEqual([
    'PROBE_MQTT_LISTENERS is not set',
    'PROBE_MQTT_PASSWORD is not set',
  ]);
  expect(settingsError(parseSettings({ ...database, ...probe }))).toBeNull();
});

test('archive: disabled unless asked; enabled needs its store, purging needs a reason', () => {
  const archive = (env: Record<string, string>) => pickSettings(parseSettings(env), ['archive']).archive;
  const blob =
    'DefaultEndpointsProtocol=https;AccountName=stdata;AccountKey=a2V5;EndpointSuffix=core.windows.net';
  expect(archive({ ARCHIVE_RETENTION_DAYS: '30' })).toMatchObject({ mode: 'disabled', store: undefined });
  expect(
    archive({
      ARCHIVE_MODE: 'enabled',
      ARCHIVE_STORAGE_CONNECTION_STRING: blob,
      ARCHIVE_RETENTION_DAYS: '30',
    }),
  ).toEqual({
    mode: 'enabled',
    store: { connectionString: blob, container: 'archive' },
    retentionDays: 30,
    purgeReason: undefined,
    partitionsAheadDays: 7,
    hourlyRetentionDays: undefined,
    timeBudgetSeconds: 240,
  });
  expect(archive({ ARCHIVE_HOURLY_RETENTION_DAYS: '400' }).hourlyRetentionDays).toBe(400);
  expect(problems({ ...database, ...probe, ARCHIVE_MODE: 'enabled', ARCHIVE_CONTAINER: 'Bad_Name' })).toEqual(
    [
      'ARCHIVE_STORAGE_CONNECTION_STRING is not set (ARCHIVE_MODE is enabled)',
      'ARCHIVE_CONTAINER is not a container name (3-63 lowercase letters, digits, single hyphens)',
    ],
  );
  expect(problems({ ...database, ...probe, ARCHIVE_MODE: 'purge-without-archive' })).toEqual([
    'ARCHIVE_PURGE_REASON is not set (ARCHIVE_MODE is purge-without-archive)',
  ]);
  expect(
    problems({
      ...database,
      ...probe,
      ARCHIVE_MODE: 'on',
      ARCHIVE_RETENTION_DAYS: '0',
      ARCHIVE_STORAGE_CONNECTION_STRING: blob,
    }),
  ).toEqual([
    'ARCHIVE_MODE must be disabled, enabled or purge-without-archive',
    'ARCHIVE_RETENTION_DAYS must be a whole number from 1 to 36500',
  ]);
  // The dashboard's 30-day charts read the rollup.
  expect(problems({ ...database, ...probe, ARCHIVE_HOURLY_RETENTION_DAYS: '30' })).toEqual([
    'ARCHIVE_HOURLY_RETENTION_DAYS must be a whole number from 31 to 36500',
  ]);
  expect(
    JSON.stringify(problems({ ARCHIVE_MODE: 'enabled', ARCHIVE_STORAGE_CONNECTION_STRING: 'k=s3cr3t' })),
  ).not.toContain('s3cr3t');
});
