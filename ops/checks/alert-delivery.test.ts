import { runChecks } from '../engine/run-checks.js';
import type { AlertDeliverySource, Delivery } from '../sources/alert-delivery.js';
import { alertDeliveryCheck } from './alert-delivery.js';

/** A scripted alert engine: fires after `fireAfter` publishes, delivers after `deliverAfter` polls. */
function engine(script: {
  fireAfter?: number;
  deliverAfter?: number;
  failDelivery?: string;
  resolves?: boolean;
}) {
  let published = 0;
  let polls = 0;
  let cleared = false;
  const firedAt = new Date();
  const source: AlertDeliverySource = {
    ensureRule: async () => ({ ruleId: 'rule-1', created: true }),
    publish: async (value) => {
      if (value === 0) cleared = true;
      else published++;
      return Date.now();
    },
    firingAlert: async () => (published >= (script.fireAfter ?? 1) ? { alertId: 'alert-1', firedAt } : null),
    deliveries: async (): Promise<Delivery[]> => {
      polls++;
      if (script.failDelivery)
        return [
          {
            channel: 'webhook',
            status: 'failed',
            attempts: 5,
            deliveredAt: null,
            lastError: script.failDelivery,
          },
        ];
      if (script.deliverAfter === undefined || polls < script.deliverAfter)
        return [
          {
            channel: 'mqtt',
            status: 'pending',
            attempts: 1,
            deliveredAt: null,
            lastError: 'broker unreachable',
          },
        ];
      return [
        {
          channel: 'mqtt',
          status: 'delivered',
          attempts: 1,
          deliveredAt: new Date(firedAt.getTime() + 1_500),
          lastError: null,
        },
      ];
    },
    resolvedAt: async () => (cleared && script.resolves !== false ? new Date() : null),
  };
  return source;
}

const fast = { fireTimeoutMs: 300, deliverTimeoutMs: 300, resolveTimeoutMs: 100, pollMs: 5 };
const run = async (source: AlertDeliverySource) => (await runChecks([alertDeliveryCheck(source, fast)]))[0]!;

test('fires, is delivered and resolves: ok with the timings', async () => {
  const r = await run(engine({ deliverAfter: 3 }));
  expect(r.status).toBe('ok');
  expect(r.summary).toMatch(/^fired in \d+\.\d s, mqtt notification delivered 1\.5 s later, resolved$/);
  expect(r.metrics.deliver_ms).toBe(1_500);
});

test('each missing stage fails naming it', async () => {
  expect((await run(engine({ fireAfter: 99 }))).summary).toBe(
    'no alert within 0.3 s of the tripping reading',
  );
  const stuck = await run(engine({}));
  expect(stuck.summary).toBe('the alert fired but no notification was delivered within 0.3 s');
  expect(stuck.evidence).toContain('mqtt: pending after 1 attempts broker unreachable');
  expect((await run(engine({ failDelivery: 'HTTP 500' }))).summary).toBe(
    'the webhook notification failed: HTTP 500',
  );
  expect((await run(engine({ deliverAfter: 1, resolves: false }))).status).toBe('warn');
});
