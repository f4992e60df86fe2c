import { InputError, InputReader } from './inputs.js';

const reader = (inputs: Record<string, string>) => new InputReader({ getInput: (n) => inputs[n] ?? '' });

describe('InputReader', () => {
  it('reads valid inputs and applies fallbacks', () => {
    const r = reader({ cadence: 'weekly', environment: 'prod', 'dry-run': 'FALSE', incident: '42' });
    expect(r.choice('cadence', ['daily', 'weekly'] as const)).toBe('weekly');
    expect(r.choice('mode', ['a', 'b'] as const, 'b')).toBe('b');
    expect(r.name('environment')).toBe('prod');
    expect(r.boolean('dry-run', true)).toBe(false);
    expect(r.boolean('other', true)).toBe(true);
    expect(r.optionalCount('incident')).toBe(42);
    expect(r.optionalCount('none')).toBeUndefined();
    expect(r.relativePath('report-dir', 'reports')).toBe('reports');
    expect(() => r.done()).not.toThrow();
  });

  it('names every bad input at once, with what it accepts and what it got', () => {
    const r = reader({
      cadence: 'dialy',
      environment: 'Prod; rm -rf /',
      'dry-run': 'yes',
      incident: '-3',
      'report-dir': '../../etc',
    });
    r.choice('cadence', ['daily', 'weekly'] as const);
    r.name('environment');
    r.boolean('dry-run', true);
    r.optionalCount('incident');
    r.relativePath('report-dir', 'reports');
    let thrown: unknown;
    try {
      r.done();
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InputError);
    const problems = (thrown as InputError).problems;
    expect(problems).toEqual([
      '"cadence" must be one of daily, weekly (got "dialy")',
      '"environment" must be a lower-case name like "prod" (got "Prod; rm -rf /")',
      '"dry-run" must be true or false (got "yes")',
      '"incident" must be a positive whole number (got "-3")',
      '"report-dir" must be a relative path inside the workspace (got "../../etc")',
    ]);
  });

  it('says "nothing" for a required input that is missing', () => {
    const r = reader({});
    r.choice('cadence', ['daily'] as const);
    expect(() => r.done()).toThrow('"cadence" must be one of daily (got nothing)');
  });

  it('refuses absolute report paths', () => {
    const r = reader({ 'report-dir': '/tmp/x' });
    r.relativePath('report-dir', 'reports');
    expect(() => r.done()).toThrow('relative path');
  });
});
