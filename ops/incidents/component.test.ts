import { componentOf } from './component.js';

test.each([
  ['daily.broker-uptime.tls', 'broker'],
  ['daily.tls-expiry.mqtts', 'broker'],
  ['monthly.vm-capacity', 'broker'],
  ['daily.ingest-canary', 'ingest'],
  ['daily.function-health', 'ingest'],
  ['daily.dead-letters', 'ingest'],
  ['daily.bridge-backlog', 'ingest'],
  ['daily.backup-freshness', 'database'],
  ['weekly.restore-test', 'database'],
  ['daily.cost-burn', 'cost'],
  ['weekly.ai-spend', 'cost'],
  ['weekly.top-tenants', 'tenants'],
  ['monthly.pricing-review', 'tenants'],
  ['daily.failed-workflows', 'ops'],
  ['golive.Budget Alerts', 'budget-alerts'],
  ['standalone', 'standalone'],
])('%s -> component:%s', (id, component) => {
  expect(componentOf(id)).toBe(component);
});
