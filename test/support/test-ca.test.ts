import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestCa } from './test-ca.js';

const DAY_MS = 86_400_000;

describe('createTestCa', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'test-ca-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('issues a server certificate for 127.0.0.1 and localhost, valid for the given days, signed by the CA', async () => {
    const ca = await createTestCa({ dir, days: 3 });
    const server = new X509Certificate(await readFile(ca.serverCert));
    const root = new X509Certificate(ca.caPem);

    const left = ca.serverNotAfter.getTime() - Date.now();
    expect(left).toBeGreaterThan(3 * DAY_MS - 10 * 60_000);
    expect(left).toBeLessThanOrEqual(3 * DAY_MS + 60_000);
    expect(server.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(server.checkHost('localhost')).toBe('localhost');
    expect(server.verify(root.publicKey)).toBe(true);
    expect(root.ca).toBe(true);
    expect(server.ca).toBe(false);
    expect(new Date(root.validTo).getTime()).toBeGreaterThan(ca.serverNotAfter.getTime());
  });

  it('rejects a validity that openssl cannot express', async () => {
    await expect(createTestCa({ dir, days: 0.5 })).rejects.toThrow(/whole numbers >= 1/);
  });
});
