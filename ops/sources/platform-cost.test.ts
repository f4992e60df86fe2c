import { lastMonthPlatformCost } from './platform-cost.js';

test('sums the whole previous UTC month, in its currency; no rows is unknown', async () => {
  const asked: [string, string][] = [];
  const source = lastMonthPlatformCost(
    {
      usage: async (from, to) => {
        asked.push([from, to]);
        return {
          currency: 'USD',
          rows: 3,
          services: [],
          days: [
            { date: '2026-02-01', cost: 1.25 },
            { date: '2026-02-28', cost: 2.5 },
          ],
        };
      },
    },
    () => Date.parse('2026-03-01T00:30:00Z'),
  );
  expect(await source.lastMonth()).toEqual({ amount: 3.75, currency: 'USD' });
  expect(asked).toEqual([['2026-02-01', '2026-02-28']]);
  const empty = lastMonthPlatformCost({
    usage: async () => ({ currency: null, rows: 0, services: [], days: [] }),
  });
  expect(await empty.lastMonth()).toBeNull();
});
