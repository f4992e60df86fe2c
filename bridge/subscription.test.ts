import { jest } from '@jest/globals';
import { bridgeSubscription } from '../common/topics.js';
import { createMemoryLogger } from './log.js';
import { createSubscription, type SubscribeClient } from './subscription.js';

type Answer = { err: Error | null; granted?: Array<{ qos: number }> };

/** Records every SUBSCRIBE and answers it with the next queued answer (default: granted QoS 1). */
function fakeClient(answers: Answer[] = []) {
  const calls: string[] = [];
  const client: SubscribeClient = {
    subscribe(filter, _options, callback) {
      calls.push(filter);
      const a = answers.shift() ?? { err: null, granted: [{ qos: 1 }] };
      callback(a.err, a.granted);
    },
  };
  return { client, calls };
}

function setup(shared: boolean, answers?: Answer[]) {
  const { client, calls } = fakeClient(answers);
  const log = createMemoryLogger();
  const errors: string[] = [];
  const sub = createSubscription({ client, shared, log, onError: (t) => errors.push(t) });
  return { sub, calls, log, errors };
}

afterEach(() => {
  jest.useRealTimers();
});

describe('subscription', () => {
  it('subscribes on the first connect, then only when the broker lost the session', async () => {
    const { sub, calls, log } = setup(false);
    expect(sub.filter).toBe(bridgeSubscription(false));
    sub.connected(false);
    await sub.subscribed;
    expect(calls).toEqual([sub.filter]);
    expect(log.entries.find((e) => e.msg === 'mqtt_subscribed')?.fields).toEqual({
      filter: sub.filter,
      qos: 1,
    });
    sub.connected(true); // session kept: its (plain) subscription too
    expect(calls).toHaveLength(1);
    sub.connected(false); // session lost
    expect(calls).toHaveLength(2);
  });

  it('subscribes on a connect with a session when no subscription was granted yet', () => {
    const { sub, calls } = setup(false);
    sub.connected(true);
    expect(calls).toHaveLength(1);
  });

  it('re-subscribes a shared subscription on every connect (Mosquitto does not restore $share)', () => {
    const { sub, calls } = setup(true);
    expect(sub.filter).toBe(bridgeSubscription(true));
    sub.connected(false);
    sub.connected(true);
    sub.connected(true);
    expect(calls).toHaveLength(3);
  });

  it('retries a refused subscription every 5 s, reporting it, until stopped', async () => {
    jest.useFakeTimers();
    const { sub, calls, log, errors } = setup(false, [
      { err: new Error('not authorised') },
      { err: null, granted: [{ qos: 128 }] },
    ]);
    sub.connected(false);
    expect(calls).toHaveLength(1);
    expect(errors[0]).toMatch(/subscribe t\/\+\/\+\/telemetry failed: .*not authorised/);
    jest.advanceTimersByTime(4999);
    expect(calls).toHaveLength(1);
    jest.advanceTimersByTime(1);
    expect(calls).toHaveLength(2);
    expect(errors[1]).toMatch(/granted 128/);
    jest.advanceTimersByTime(5000);
    expect(calls).toHaveLength(3);
    await sub.subscribed;
    expect(log.entries.filter((e) => e.msg === 'mqtt_subscribe_failed')).toHaveLength(2);
    sub.stop();
  });

  it('a connect replaces a pending retry instead of adding one; stop() ends retrying', () => {
    jest.useFakeTimers();
    const { sub, calls } = setup(false, [{ err: new Error('no') }, { err: new Error('no') }]);
    sub.connected(false);
    sub.connected(false); // reconnected meanwhile: subscribes now, its retry replaces the first
    expect(calls).toHaveLength(2);
    jest.advanceTimersByTime(5000);
    expect(calls).toHaveLength(3); // one retry, not two
    const { sub: other, calls: otherCalls } = setup(false, [{ err: new Error('no') }]);
    other.connected(false);
    other.stop();
    jest.advanceTimersByTime(60_000);
    expect(otherCalls).toHaveLength(1);
  });

  it('warns when the broker downgrades to QoS 0', async () => {
    const { sub, log } = setup(false, [{ err: null, granted: [{ qos: 0 }] }]);
    sub.connected(false);
    await sub.subscribed;
    expect(log.entries.some((e) => e.msg === 'mqtt_subscription_downgraded')).toBe(true);
  });
});
