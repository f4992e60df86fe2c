/**
 * The embedded broker says why it runs: asked for (SANDBOX_EMBEDDED=1, with Mosquitto installed
 * and not used) is not "mosquitto not installed".
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findMosquitto } from '../../test/support/mosquitto-process.js';
import { provideBroker } from './broker.js';

let dir: string;
const saved = process.env.SANDBOX_EMBEDDED;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sandbox-broker-'));
});
afterAll(async () => {
  if (saved === undefined) delete process.env.SANDBOX_EMBEDDED;
  else process.env.SANDBOX_EMBEDDED = saved;
  await rm(dir, { recursive: true, force: true });
});

async function embeddedLog(envValue: string | undefined): Promise<string> {
  if (envValue === undefined) delete process.env.SANDBOX_EMBEDDED;
  else process.env.SANDBOX_EMBEDDED = envValue;
  const lines: string[] = [];
  const broker = await provideBroker({ users: [], dir, log: (l) => lines.push(l), embedded: true });
  await broker.stop();
  expect(broker.kind).toBe('embedded');
  return lines.join('\n');
}

test('SANDBOX_EMBEDDED=1: says it was asked for, and which Mosquitto it left unused', async () => {
  const log = await embeddedLog('1');
  const mosquitto = findMosquitto();
  if (mosquitto)
    expect(log).toContain(
      `broker: embedded asked for by SANDBOX_EMBEDDED=1 (Mosquitto at ${mosquitto} not used), embedded aedes on mqtt://127.0.0.1:`,
    );
  else expect(log).toMatch(/^broker: embedded asked for by SANDBOX_EMBEDDED=1, embedded aedes on /);
  expect(log).not.toMatch(/not installed/);
});

test('asked for by a caller (tests), without the variable', async () => {
  const log = await embeddedLog(undefined);
  expect(log).toMatch(/^broker: embedded asked for[ ,]/);
  expect(log).not.toMatch(/SANDBOX_EMBEDDED|not installed/);
});
