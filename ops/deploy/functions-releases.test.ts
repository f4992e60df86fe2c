import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localFunctionsReleaseStore, type FunctionsRelease } from './functions-releases.js';

let work: string;
let clock: number;
const now = () => new Date(clock);

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'functions-releases-'));
  clock = Date.parse('2026-12-01T10:00:00Z');
});
afterEach(() => rm(work, { recursive: true, force: true }));

/** A stand-in zip: what the store keeps is bytes and their hash. */
async function pkg(commit: string): Promise<{ path: string; release: Omit<FunctionsRelease, 'storedAt'> }> {
  const bytes = Buffer.from(`package of ${commit}`);
  const path = join(work, `${commit}.zip`);
  await writeFile(path, bytes);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  return { path, release: { commitSha: commit, sha256, bytes: bytes.length, functions: ['health'] } };
}

const store = (keep?: number) => localFunctionsReleaseStore(join(work, 'releases'), { now, keep });

test('an empty store has no latest and no previous', async () => {
  const s = store();
  expect(await s.latest()).toBeNull();
  expect(await s.previous()).toBeNull();
  expect(await s.rollback()).toBeNull();
  expect(s.description).toContain(join(work, 'releases'));
});

test('put makes the newest; the one before is previous; the index survives a new instance', async () => {
  const a = await pkg('aaaaaaa');
  const b = await pkg('bbbbbbb');
  const put = await store().put(a.path, a.release);
  expect(put).toEqual({ stored: true, release: { ...a.release, storedAt: '2026-12-01T10:00:00.000Z' } });
  clock += 60_000;
  await store().put(b.path, b.release);
  const s = store();
  expect((await s.latest())?.commitSha).toBe('bbbbbbb');
  expect((await s.previous())?.commitSha).toBe('aaaaaaa');
});

test('the newest package again changes nothing and says so (an unchanged app is not redeployed)', async () => {
  const a = await pkg('aaaaaaa');
  const s = store();
  const first = await s.put(a.path, a.release);
  clock += 60_000;
  const again = await s.put(a.path, a.release);
  expect(again).toEqual({ stored: false, release: first.release });
  expect((await s.history()).releases).toHaveLength(1);
});

test('rollback takes the failed package out of line: previous is the newest again, and stays so', async () => {
  const [a, b, c] = [await pkg('aaaaaaa'), await pkg('bbbbbbb'), await pkg('ccccccc')];
  const s = store();
  await s.put(a.path, a.release);
  await s.put(b.path, b.release);
  await s.put(c.path, c.release);
  clock += 60_000;
  expect((await s.rollback())?.commitSha).toBe('bbbbbbb');
  expect((await s.latest())?.commitSha).toBe('bbbbbbb');
  expect((await s.previous())?.commitSha).toBe('aaaaaaa');
  const { rolledBack } = await s.history();
  expect(rolledBack).toEqual([
    expect.objectContaining({ commitSha: 'ccccccc', rolledBackAt: '2026-12-01T10:01:00.000Z' }),
  ]);
  // The failed package is kept on record (the incident's report may want it).
  const out = join(work, 'c-again.zip');
  await s.download(c.release.sha256, out);
  expect(await readFile(out)).toEqual(await readFile(c.path));
});

test('download checks the hash; put refuses a zip that is not the one declared', async () => {
  const a = await pkg('aaaaaaa');
  const s = store();
  await expect(s.put(a.path, { ...a.release, sha256: '0'.repeat(64) })).rejects.toThrow(
    /not the .* declared/,
  );
  await expect(s.put(a.path, { ...a.release, bytes: 1 })).rejects.toThrow(/not the .* declared/);
  await s.put(a.path, a.release);
  await writeFile(join(work, 'releases', `${a.release.sha256}.zip`), 'tampered');
  await expect(s.download(a.release.sha256, join(work, 'out.zip'))).rejects.toThrow(/altered/);
  expect(existsSync(join(work, 'out.zip'))).toBe(false);
});

test('only the last releases are kept, and only their zips', async () => {
  const s = store(2);
  const all = [await pkg('aaaaaaa'), await pkg('bbbbbbb'), await pkg('ccccccc')];
  for (const p of all) await s.put(p.path, p.release);
  expect((await s.history()).releases.map((r) => r.commitSha)).toEqual(['bbbbbbb', 'ccccccc']);
  const zips = (await readdir(join(work, 'releases'))).filter((f) => f.endsWith('.zip')).sort();
  expect(zips).toEqual([all[1]!.release.sha256, all[2]!.release.sha256].sort().map((h) => `${h}.zip`));
});
