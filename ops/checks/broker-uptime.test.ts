import { runChecks } from '../engine/run-checks.js';
import type { RoundTripReading } from '../sources/mqtt-round-trip.js';
import { brokerUptimeCheck } from './broker-uptime.js';

test.each([
  [{ ok: true, connectMs: 12, roundTripMs: 3 }, 'ok', /connect 12 ms, round trip 3 ms/],
  [{ ok: true, connectMs: 900, roundTripMs: 300 }, 'warn', /slow: .* \(over 1000 ms\)/],
  [
    { ok: false, stage: 'connect', error: 'Connection refused: Not authorized', elapsedMs: 20 },
    'fail',
    /connect failed: Connection refused: Not authorized/,
  ],
  [
    { ok: false, stage: 'deliver', error: 'not delivered within 10 s', elapsedMs: 10_020 },
    'fail',
    /deliver failed/,
  ],
] as const)('%j: %s', async (reading, status, summary) => {
  const check = brokerUptimeCheck(
    { roundTrip: async () => reading as RoundTripReading },
    { listener: 'mqtt', endpoint: 'broker:1883' },
  );
  const [result] = await runChecks([check]);
  expect(result!.id).toBe('daily.broker-uptime.mqtt');
  expect(result!.status).toBe(status);
  expect(result!.summary).toMatch(summary);
  expect(result!.playbook).toBe('broker-down');
});
