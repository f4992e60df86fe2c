import type pg from 'pg';
import { createDevice } from './provisioning.js';

test("refuses a device key reserved for services before touching the registry (it would be the device's client id)", async () => {
  const queries: string[] = [];
  const db = {
    query: async (sql: string) => (queries.push(sql), { rows: [{ id: 'x' }] }),
  } as unknown as pg.Pool;
  for (const deviceKey of ['bridge-vm1', 'svc-bridge']) {
    await expect(createDevice(db, { tenantId: 't', deviceKey, credentialHash: 'h' })).rejects.toThrow(
      /reserved/,
    );
  }
  expect(queries).toEqual([]);
  await expect(
    createDevice(db, { tenantId: 't', deviceKey: 'bridgewater-1', credentialHash: 'h' }),
  ).resolves.toBe('x');
});
