import { WORKED_PLATFORM, WORKED_PRICES } from '../../test/support/cost-fixture.js';
import { attributeModelCost, DRIVERS, fixedEstimate } from './attribution.js';
import type { Load } from './load.js';
import { monthlyCost } from './model.js';

// 100 devices x 1 msg/10 s on Linux Consumption, archive on: docs/cost.md's row (50.38 at prod's prices).
const load: Load = {
  devices: 100,
  messagesPerDevicePerMinute: 6,
  payloadBytes: 100,
  retentionDays: 30,
  ageDays: 365,
  archive: true,
  functionsPlan: 'linux-consumption',
  batching: { messagesPerExecution: 11, executionMs: 50 },
};
const estimate = monthlyCost(load, WORKED_PLATFORM, WORKED_PRICES);
const fixed = fixedEstimate(estimate, WORKED_PRICES);
const component = (e: typeof estimate, id: string) => e.components.find((c) => c.id === id)!.monthly;

test('the fixed part is the same platform and plans without devices', () => {
  expect(fixed.load.devices).toBe(0);
  // Supabase stays on the plan the load needed (Pro): its fee is fixed, not variable.
  expect(fixed.components.find((c) => c.id === 'supabase')!.title).toBe('Supabase (Pro)');
  expect(component(fixed, 'supabase')).toBe(25);
  expect(component(fixed, 'vm')).toBe(7.59);
  expect(component(fixed, 'public-ip')).toBeCloseTo(3.65, 10);
  // The disk: E4 2.40 + 1 idle I/O a second x 2,628,000 s / 10,000 x 0.002 = 0.53.
  expect(component(fixed, 'os-disk')).toBeCloseTo(2.4 + 0.5256, 10);
});

test('variable parts by their drivers, the fixed part evenly over active tenants', () => {
  // A sends 3 of 4 messages at 100 B; B 1 of 4 at 300 B. C is active and silent.
  const usage = [
    { tenant: 'a', messages: 300, bytes: 30_000, devices: 75 },
    { tenant: 'b', messages: 100, bytes: 30_000, devices: 25 },
  ];
  const r = attributeModelCost(estimate, fixed, usage, ['a', 'b', 'c']);
  const [a, b, c] = r.tenants;
  const fixedTotal = estimate.components.reduce((s, x) => s + Math.min(x.monthly, component(fixed, x.id)), 0);
  expect(r.fixed).toBeCloseTo(fixedTotal, 10);
  for (const t of [a!, b!, c!]) expect(t.fixed).toBeCloseTo(fixedTotal / 3, 10);
  expect(c!.variable).toBe(0);
  const v = (id: string) => component(estimate, id) - component(fixed, id);
  // Messages: a 3/4. Database bytes: a 300 x 260 + 30,000 = 108,000, b 100 x 260 + 30,000 = 56,000.
  // Egress bytes: a 300 x 150 + 30,000 = 75,000, b 100 x 150 + 30,000 = 45,000.
  const byMessages = v('os-disk') + v('functions') + v('log-analytics') + v('blob-archive');
  expect(a!.variable).toBeCloseTo(
    byMessages * 0.75 + (v('supabase') * 108) / 164 + (v('egress') * 75) / 120,
    10,
  );
  expect(a!.variable + b!.variable).toBeCloseTo(estimate.total - fixedTotal, 10);
  expect(a!.messageShare).toBe(0.75);
  expect(r.working.at(-1)).toMatch(/split evenly over 3 active tenants/);
});

test('every component has a driver; the flat ones none', () => {
  expect(DRIVERS.vm).toBe('none');
  expect(DRIVERS.pages).toBe('none');
  expect(DRIVERS.functions).toBe('messages');
});
