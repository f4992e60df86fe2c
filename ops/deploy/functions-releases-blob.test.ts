/**
 * The functions release store in Blob storage (Azurite): the same release line as the local
 * store, kept in the environment's storage account so a fresh CI runner can still roll back.
 */
import { BlobServiceClient } from '@azure/storage-blob';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAzurite, type Azurite } from '../../test/support/azurite.js';
import type { EnvironmentConfig } from '../config/environment-config.js';
import { createSecretReader } from '../config/secrets.js';
import { blobFunctionsReleaseStore, FUNCTIONS_RELEASES_CONTAINER } from './functions-releases-blob.js';
import type { FunctionsRelease } from './functions-releases.js';
import { functionsReleaseStoreFor } from './functions-stage.js';

let azurite: Azurite;
let work: string;

beforeAll(async () => {
  azurite = await startAzurite();
  work = await mkdtemp(join(tmpdir(), 'functions-releases-blob-'));
}, 60_000);
afterAll(async () => {
  await azurite?.stop();
  await rm(work, { recursive: true, force: true });
});

async function pkg(commit: string): Promise<{ path: string; release: Omit<FunctionsRelease, 'storedAt'> }> {
  const bytes = Buffer.from(`package of ${commit}`);
  const path = join(work, `${commit}.zip`);
  await writeFile(path, bytes);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  return { path, release: { commitSha: commit, sha256, bytes: bytes.length, functions: ['health'] } };
}

const blobNames = async (prefix: string) => {
  const names: string[] = [];
  const container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(
    FUNCTIONS_RELEASES_CONTAINER,
  );
  for await (const b of container.listBlobsFlat({ prefix })) names.push(b.name.slice(prefix.length));
  return names.sort();
};

test('put, previous, rollback and download, kept in the container under the prefix; old zips pruned', async () => {
  const store = () =>
    blobFunctionsReleaseStore({
      serviceClient: BlobServiceClient.fromConnectionString(azurite.connectionString),
      prefix: 'prod',
      keep: 2,
    });
  const [a, b, c] = [await pkg('aaaaaaa'), await pkg('bbbbbbb'), await pkg('ccccccc')];
  expect(await store().latest()).toBeNull();
  expect((await store().put(a.path, a.release)).stored).toBe(true);
  expect((await store().put(b.path, b.release)).stored).toBe(true);
  expect((await store().put(b.path, b.release)).stored).toBe(false);
  expect((await store().previous())?.commitSha).toBe('aaaaaaa');
  expect(await blobNames('prod/')).toEqual(
    [`${a.release.sha256}.zip`, `${b.release.sha256}.zip`, 'releases.json'].sort(),
  );

  // Keep 2: a third release pushes the first out of line, and its zip out of the container.
  await store().put(c.path, c.release);
  expect(await blobNames('prod/')).not.toContain(`${a.release.sha256}.zip`);

  expect((await store().rollback())?.commitSha).toBe('bbbbbbb');
  expect((await store().history()).rolledBack.map((r) => r.commitSha)).toEqual(['ccccccc']);
  const out = join(work, 'out.zip');
  await store().download(b.release.sha256, out);
  expect((await readFile(out)).toString()).toBe('package of bbbbbbb');
}, 30_000);

test('an environment whose backups go to Blob keeps its functions releases in that account', () => {
  const config = {
    name: 'prod',
    backup: {
      store: 'blob',
      location: 'backups',
      prefix: 'prod/',
      connectionStringEnv: 'STORE_CS',
      keepDays: 30,
    },
  } as unknown as EnvironmentConfig;
  const target = {
    name: 'prod',
    config,
    secrets: createSecretReader('prod', { STORE_CS: azurite.connectionString }),
    env: {},
  };
  expect(functionsReleaseStoreFor(target, work).description).toBe(
    `Azure blob devstoreaccount1/${FUNCTIONS_RELEASES_CONTAINER}/prod/`,
  );
  const noSecret = { ...target, secrets: createSecretReader('prod', {}) };
  expect(() => functionsReleaseStoreFor(noSecret, work)).toThrow(/STORE_CS/);
  const noBlob = { ...target, config: { name: 'prod' } as EnvironmentConfig };
  expect(functionsReleaseStoreFor(noBlob, work).description).toBe(
    `local directory ${join(work, '.ops', 'deploy', 'prod', 'releases', 'functions')}`,
  );
});
