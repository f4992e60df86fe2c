import type { IngestCanarySource } from '../sources/ingest-canary.js';
import { runChecks } from '../engine/run-checks.js';
import { ingestCanaryCheck } from './ingest-canary.js';

/** A source whose reading commits `latency` ms after publish (null: never). */
function fakeSource(latency: number | null, clock: { t: number }): IngestCanarySource {
  return {
    publish: async () => clock.t,
    waitCommitted: async (_id, deadline) => {
      if (latency === null || clock.t + latency > deadline) {
        clock.t = deadline;
        return null;
      }
      clock.t += latency;
      return clock.t;
    },
    close: async () => undefined,
  };
}

const thresholds = { warnMs: 5_000, timeoutMs: 60_000 };

test.each([
  [800, 'ok', /committed 800 ms after publish$/],
  [7_000, 'warn', /committed 7000 ms after publish \(over 5000 ms\)/],
  [null, 'fail', /not committed within 60 s/],
  [61_000, 'fail', /not committed within 60 s/],
] as const)('commit after %p ms: %s', async (latency, status, summary) => {
  const clock = { t: 1_000_000 };
  const [result] = await runChecks([ingestCanaryCheck(fakeSource(latency, clock), thresholds)], {
    now: () => clock.t,
  });
  expect(result!.status).toBe(status);
  expect(result!.summary).toMatch(summary);
  if (status !== 'fail') expect(result!.metrics).toEqual({ latency_ms: latency });
  expect(result!.playbook).toBe('broker-down');
});

test('a broker that refuses the probe makes the check an error, not a crash', async () => {
  const source: IngestCanarySource = {
    publish: () => Promise.reject(new Error('Connection refused: Not authorized')),
    waitCommitted: async () => null,
    close: async () => undefined,
  };
  const [result] = await runChecks([ingestCanaryCheck(source, thresholds)]);
  expect(result!.status).toBe('error');
  expect(result!.summary).toMatch(/Not authorized/);
});
