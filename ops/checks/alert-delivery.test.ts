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

/** An alert left firing by an earlier run (fired an hour ago), then the scripted engine above. */
function leftFiring(options: { clears: boolean }) {
  const fresh = engine({ deliverAfter: 1 });
  const old = { alertId: 'alert-0', firedAt: new Date(Date.now() - 3_600_000) };
  let oldResolved = false;
  const publishes: number[] = [];
  const source: AlertDeliverySource = {
    ...fresh,
    publish: async (value) => {
      publishes.push(value);
      if (value === 0 && options.clears) oldResolved = true;
      return fresh.publish(value);
    },
    // Like the real query: firing alerts fired at or after `since`.
    firingAlert: async (ruleId, since) =>
      !oldResolved && old.firedAt >= since ? old : fresh.firingAlert(ruleId, since),
    resolvedAt: async (alertId) =>
      alertId === old.alertId ? (oldResolved ? new Date() : null) : fresh.resolvedAt(alertId),
  };
  return { source, publishes };
}

test('an alert left firing by an earlier run is cleared first, then the run fires its own', async () => {
  const { source, publishes } = leftFiring({ clears: true });
  const r = await run(source);
  expect(r.status).toBe('ok');
  expect(publishes[0]).toBe(0);
  expect(r.evidence.some((e) => /^cleared alert alert-0, left firing since /.test(e))).toBe(true);
  expect(r.evidence.some((e) => e.startsWith('alert alert-1 fired '))).toBe(true);
});

test('an alert left firing that does not clear fails naming it', async () => {
  const r = await run(leftFiring({ clears: false }).source);
  expect(r.status).toBe('fail');
  expect(r.summary).toBe(
    'alert alert-0, left firing by an earlier run, did not resolve within 0.1 s of a clearing reading',
  );
});
