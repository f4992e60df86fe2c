import { fitSummary } from './action-core.js';

describe('fitSummary', () => {
  it('keeps a report that fits', () => {
    expect(fitSummary('# ok\n', 100)).toBe('# ok\n');
  });

  it('cuts a report that does not fit and says so', () => {
    const cut = fitSummary('x'.repeat(5000), 2000);
    expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(2000);
    expect(cut).toContain('report truncated');
  });
});
