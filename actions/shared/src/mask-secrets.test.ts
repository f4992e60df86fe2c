import { recordingCore } from './recording-core.js';
import { maskSecrets, secretValues } from './mask-secrets.js';

const KEY = [
  '-----BEGIN OPENSSH PRIVATE KEY-----',
  'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW',
  'QyNTUxOQAAACBm6Yq3o0p3JmX8o0gk1pZq0Qm2J8fV1r6n0u7b2c3d4QAAAJg=',
  '-----END OPENSSH PRIVATE KEY-----',
].join('\n');

describe('secretValues', () => {
  it('finds values of secret-named variables, URL passwords and storage keys', () => {
    const values = secretValues({
      OPS_DATABASE_URL: 'postgres://ops:s3cr%40t-pw@db.example.com:6543/postgres',
      OPS_PROBE_MQTT_PASSWORD: 'probe-password',
      OPS_SSH_PRIVATE_KEY: KEY,
      OPS_BACKUP_STORAGE_CONNECTION_STRING:
        'DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=a2V5LWJhc2U2NA==;EndpointSuffix=core.windows.net',
      SOME_API_TOKEN: 'tok_123456',
    });
    expect(values).toEqual(
      expect.arrayContaining([
        'postgres://ops:s3cr%40t-pw@db.example.com:6543/postgres',
        's3cr%40t-pw',
        's3cr@t-pw',
        'probe-password',
        KEY,
        'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW',
        'QyNTUxOQAAACBm6Yq3o0p3JmX8o0gk1pZq0Qm2J8fV1r6n0u7b2c3d4QAAAJg=',
        'a2V5LWJhc2U2NA==',
        'tok_123456',
      ]),
    );
  });

  it('leaves public values alone: runner variables, URLs without a password, short values', () => {
    const values = secretValues({
      GITHUB_TOKEN: 'ghs_runner_masks_this_itself',
      GITHUB_API_URL: 'https://api.github.com',
      MQTT_URL: 'mqtts://mqtt.example.com:8883',
      AZURE_CLIENT_ID: '00000000-0000-4000-8000-000000000000',
      OPS_FLAG_KEY: 'on',
      HOME: '/home/runner',
    });
    expect(values).toEqual([]);
  });
});

describe('maskSecrets', () => {
  it('registers every secret once, plus extra values such as a token input', () => {
    const core = recordingCore();
    const n = maskSecrets(core, { OPS_DATABASE_URL: 'postgres://u:pw123456@h/db', X_PASSWORD: 'pw123456' }, [
      'ghs_input_token',
      '',
    ]);
    expect(core.secrets.sort()).toEqual(['ghs_input_token', 'postgres://u:pw123456@h/db', 'pw123456'].sort());
    expect(n).toBe(3);
  });
});
