import { cronMatches, parseCron, runsPerMonth, shortestIntervalMinutes } from './cron.js';

describe('parseCron', () => {
  it('expands lists, ranges, steps and names', () => {
    const s = parseCron('0,30 */6 1-3 JAN,jul MON-FRI');
    expect([...s.minutes]).toEqual([0, 30]);
    expect([...s.hours]).toEqual([0, 6, 12, 18]);
    expect([...s.days]).toEqual([1, 2, 3]);
    expect([...s.months]).toEqual([1, 7]);
    expect([...s.weekdays]).toEqual([1, 2, 3, 4, 5]);
    expect([...parseCron('5/20 * * * *').minutes]).toEqual([5, 25, 45]);
  });

  it.each([
    ['* * * *', 'expected 5 fields'],
    ['60 * * * *', 'minute "60": 60 is outside 0-59'],
    ['0 24 * * *', 'hour "24"'],
    ['0 0 0 * *', 'day of month "0"'],
    ['0 0 * 13 *', 'month "13"'],
    ['0 0 * * 7', 'day of week "7"'],
    ['*/0 * * * *', 'step "0"'],
    ['5-1 * * * *', 'runs backwards'],
    ['a * * * *', '"a" is not a number'],
    ['1,,2 * * * *', 'malformed'],
  ])('refuses %s', (expression, message) => {
    expect(() => parseCron(expression)).toThrow(message);
  });
});

describe('cronMatches', () => {
  it('matches day of month OR day of week when both are restricted (POSIX)', () => {
    const s = parseCron('0 0 1 * MON');
    expect(cronMatches(s, new Date('2027-02-01T00:00:00Z'))).toBe(true); // 1st (a Monday too)
    expect(cronMatches(s, new Date('2027-03-01T00:00:00Z'))).toBe(true); // 1st, a Monday
    expect(cronMatches(s, new Date('2027-03-08T00:00:00Z'))).toBe(true); // a Monday
    expect(cronMatches(s, new Date('2027-03-09T00:00:00Z'))).toBe(false);
  });
});

describe('runsPerMonth / shortestIntervalMinutes', () => {
  it('counts runs over a year', () => {
    expect(runsPerMonth('17 0 * * *')).toBeCloseTo(365 / 12, 5);
    expect(runsPerMonth('23 */6 * * *')).toBeCloseTo((365 * 4) / 12, 5);
    expect(runsPerMonth('47 0 1 * *')).toBe(1);
    expect(runsPerMonth('37 0 * * 1')).toBeCloseTo(52 / 12, 5); // 2027 has 52 Mondays
  });

  it('finds the shortest gap', () => {
    expect(shortestIntervalMinutes('*/5 * * * *')).toBe(5);
    expect(shortestIntervalMinutes('0,2 * * * *')).toBe(2);
    expect(shortestIntervalMinutes('23 */6 * * *')).toBe(360);
  });
});
