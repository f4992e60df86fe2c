/**
 * The env file's owner record: localSandboxStatus tells a running sandbox from a missing, stopped,
 * dead or pid-reused one without trusting the file's mere existence.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  currentOwner,
  localSandboxStatus,
  markLocalEnvStopped,
  ownerAlive,
  processStartToken,
  readLocalEnv,
  writeLocalEnv,
  LOCAL_ENV_PATH,
  START_ENV_PATH,
  type LocalEnv,
  type SandboxOwner,
} from './local-env.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'local-env-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

// Only the owner matters to the status; the rest of the file is not read.
const envWith = (owner: SandboxOwner) => ({ generatedAt: new Date().toISOString(), owner }) as LocalEnv;

async function statusOf(name: string, owner: SandboxOwner) {
  const path = join(dir, `${name}.json`);
  await writeLocalEnv(envWith(owner), path);
  return localSandboxStatus(path);
}

test('dev and start keep separate env files; the ops default is the dev one', () => {
  expect(LOCAL_ENV_PATH).toBe(join('.ops', 'local', 'dev', 'env.json'));
  expect(START_ENV_PATH).toBe(join('.ops', 'local', 'start', 'env.json'));
});

test('the owner record names this process, host and checkout', () => {
  const owner = currentOwner('dev', '/some/checkout');
  expect(owner).toMatchObject({
    mode: 'dev',
    pid: process.pid,
    hostname: hostname(),
    checkout: '/some/checkout',
  });
  expect(owner.runId).toMatch(/^[0-9a-f]{8}$/);
  expect(currentOwner('dev').runId).not.toBe(owner.runId);
  if (process.platform === 'linux') {
    expect(owner.processStart).not.toBeNull();
    expect(processStartToken(process.pid)).toBe(owner.processStart);
  }
});

test('running: the file of a live process on this host', async () => {
  const owner = currentOwner('dev');
  expect(await statusOf('live', owner)).toEqual({ running: true, owner });
  expect(ownerAlive(owner)).toEqual({ alive: true });
});

test('not running: file missing, not JSON, no owner record', async () => {
  const missing = join(dir, 'missing.json');
  expect(await localSandboxStatus(missing)).toEqual({ running: false, reason: `${missing} not found` });
  const broken = join(dir, 'broken.json');
  await writeFile(broken, '{"owner": ');
  expect(await localSandboxStatus(broken)).toEqual({
    running: false,
    reason: `${broken} is not valid JSON`,
  });
  const old = join(dir, 'old.json');
  await writeFile(old, JSON.stringify({ generatedAt: 'x' }));
  expect(await localSandboxStatus(old)).toEqual({
    running: false,
    reason: `${old} has no owner record (written by an older sandbox)`,
  });
});

test('not running: its process is gone', async () => {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  const pid = child.pid!;
  await once(child, 'exit');
  const status = await statusOf('gone', { ...currentOwner('dev'), pid });
  expect(status.running).toBe(false);
  // Should the pid already be taken again, the start time tells the new process apart.
  expect(status).toMatchObject({
    reason: expect.stringMatching(new RegExp(`pid ${pid}\\) is gone|pid ${pid} now belongs`)),
  });
});

test('not running: its pid was reused by another process', async () => {
  if (process.platform === 'win32') return; // no start times there: a reused pid is not told apart
  // This process's pid with another start time: what a reused pid looks like.
  const owner = { ...currentOwner('dev'), processStart: 'another-boot:1' };
  expect(await statusOf('reused', owner)).toEqual({
    running: false,
    reason: `its pid ${process.pid} now belongs to another process`,
    owner,
  });
});

test('not running: written on another host', async () => {
  const owner = { ...currentOwner('dev'), hostname: `not-${hostname()}` };
  expect(await statusOf('elsewhere', owner)).toMatchObject({
    running: false,
    reason: `it ran on host not-${hostname()}, not this one (${hostname()})`,
  });
});

test('stopped: marked by its own run only', async () => {
  const owner = currentOwner('dev');
  const path = join(dir, 'stopped.json');
  await writeLocalEnv(envWith(owner), path);
  await markLocalEnvStopped(path, 'another-run');
  expect((await localSandboxStatus(path)).running).toBe(true);
  await markLocalEnvStopped(path, owner.runId, new Date('2030-01-02T03:04:05Z'));
  expect(await localSandboxStatus(path)).toMatchObject({
    running: false,
    reason: 'it stopped at 2030-01-02T03:04:05.000Z',
  });
  expect((await readLocalEnv(path)).owner.stoppedAt).toBe('2030-01-02T03:04:05.000Z');
  await markLocalEnvStopped(join(dir, 'never-written.json'), owner.runId); // no file: nothing to do
});
