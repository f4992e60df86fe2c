import { changedSettings, settingAt, type EnvironmentDocument } from './plan-settings.js';

const doc = (value: unknown): EnvironmentDocument => ({ ok: true, value });

test('settingAt follows a dotted path and stops where it does', () => {
  const d = { deploy: { vm: { inventory: 'a' } }, list: [1, 2] };
  expect(settingAt(d, 'deploy.vm')).toEqual({ inventory: 'a' });
  expect(settingAt(d, 'deploy.vm.inventory')).toBe('a');
  expect(settingAt(d, 'deploy.pages')).toBeUndefined();
  expect(settingAt(d, 'deploy.vm.inventory.more')).toBeUndefined();
  expect(settingAt(d, 'list.0')).toBeUndefined();
  expect(settingAt(undefined, 'deploy')).toBeUndefined();
  expect(settingAt(null, 'deploy')).toBeUndefined();
});

test('changedSettings compares values, not text or key order', () => {
  const base = doc({ archive: { mode: 'disabled', reason: 'x' }, ssh: { host: 'h', port: 22 } });
  expect(
    changedSettings(base, doc({ ssh: { port: 22, host: 'h' }, archive: { reason: 'x', mode: 'disabled' } }), [
      'archive',
      'ssh',
    ]),
  ).toEqual([]);
  expect(
    changedSettings(base, doc({ archive: { mode: 'enabled' }, ssh: { host: 'h', port: 22 } }), [
      'ssh',
      'archive',
    ]),
  ).toEqual(['archive']);
  // A section added, removed, or a number that became a string.
  expect(changedSettings(doc(undefined), base, ['archive', 'infra'])).toEqual(['archive']);
  expect(changedSettings(base, doc({}), ['ssh'])).toEqual(['ssh']);
  expect(
    changedSettings(base, doc({ ...(base as { value: object }).value, ssh: { host: 'h', port: '22' } }), [
      'ssh',
    ]),
  ).toEqual(['ssh']);
});

test('an unreadable file changes every setting (the plan deploys; loading the file then fails)', () => {
  const bad: EnvironmentDocument = { ok: false };
  expect(changedSettings(doc({}), bad, ['a', 'b'])).toEqual(['a', 'b']);
  expect(changedSettings(bad, doc({}), ['a'])).toEqual(['a']);
});
