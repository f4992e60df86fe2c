import { BlobServiceClient } from '@azure/storage-blob';
import { connect } from 'node:net';
import { startAzurite } from './azurite.js';

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });

test('serves blobs on loopback with the devstoreaccount1 connection string, and stops', async () => {
  const azurite = await startAzurite();
  try {
    expect(azurite.connectionString).toContain(
      `BlobEndpoint=http://127.0.0.1:${azurite.port}/devstoreaccount1;`,
    );
    const service = BlobServiceClient.fromConnectionString(azurite.connectionString);
    const container = service.getContainerClient('probe');
    await container.create();
    await container.getBlockBlobClient('a.txt').upload('hello', 5);
    const text = (await container.getBlockBlobClient('a.txt').downloadToBuffer()).toString();
    expect(text).toBe('hello');
  } finally {
    await azurite.stop();
  }
  expect(await listening(azurite.port)).toBe(false);
});
