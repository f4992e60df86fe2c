/**
 * Reading what ansible-playbook printed: the bridge role's release line, also when Ansible's YAML
 * output folds it across lines (it does with real 40-character commits: the deploy end-to-end test
 * caught a report of "none -> unknown"), and the PLAY RECAP counters.
 */
import { parseBridgeRelease, parseRecap } from './ansible-runner.js';

const a = '719ec7bc35f4ce9dde095dd949eb92c56a5ab685';
const b = '4f13151671469ce8fe9886899bad1e6c29902db5';

test('the release line, on one line and folded by the YAML callback', () => {
  expect(
    parseBridgeRelease(`ok: [vm] =>\n    msg: bridge-release before=${a} after=${b} previous=${a}\n`),
  ).toEqual({
    before: a,
    after: b,
    previous: a,
  });
  const folded = `ok: [sandbox] =>\n    msg: bridge-release before=${a}\n        after=${b} previous=${a}\n\nPLAY RECAP`;
  expect(parseBridgeRelease(folded)).toEqual({ before: a, after: b, previous: a });
  expect(parseBridgeRelease('msg: bridge-release before=- after=x previous=-')).toEqual({
    before: null,
    after: 'x',
    previous: null,
  });
  expect(parseBridgeRelease('no such line')).toBeNull();
});

test('the last PLAY RECAP, per host', () => {
  const out = [
    'PLAY RECAP *****',
    'vm : ok=1 changed=1 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0',
    '',
    'PLAY RECAP *********************************************************************',
    'sandbox                    : ok=17   changed=0    unreachable=0    failed=0    skipped=29   rescued=0    ignored=0   ',
  ].join('\n');
  expect(parseRecap(out)).toEqual({
    sandbox: { ok: 17, changed: 0, unreachable: 0, failed: 0, skipped: 29, rescued: 0, ignored: 0 },
  });
});
