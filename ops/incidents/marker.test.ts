import { decodeMarker, encodeMarker, type IncidentMarker, type StateMarker } from './marker.js';

const incident: IncidentMarker = {
  kind: 'incident',
  v: 1,
  env: 'production',
  fingerprint: 'daily.x',
  checkId: 'daily.x',
  checkTitle: 'X',
  severity: 'high',
  playbook: null,
  consecutiveFailures: 2,
  consecutivePasses: 0,
  since: '2026-03-01T06:00:00.000Z',
  lastStatus: 'fail',
  // Text that would end an HTML comment early if written raw.
  lastSummary: 'bad --> <!-- tricky -- value > <b>',
  evidenceKey: 'abc',
  updatedAt: '2026-03-01T06:00:00.000Z',
  rev: 1,
};

test('a marker round-trips through an issue body and stays one hidden HTML comment', () => {
  const encoded = encodeMarker(incident);
  expect(encoded.startsWith('<!-- ops:marker ')).toBe(true);
  expect(encoded.endsWith(' -->')).toBe(true);
  const inner = encoded.slice('<!-- '.length, -' -->'.length);
  expect(inner).not.toMatch(/--|[<>]/);
  expect(decodeMarker(`# Title\n\nsome text\n\n${encoded}\n`)).toEqual(incident);
});

test('the state marker round-trips; foreign, broken or missing markers read as null', () => {
  const state: StateMarker = { kind: 'ops-state', v: 1, env: 'local', trackers: {}, updatedAt: 'x' };
  expect(decodeMarker(encodeMarker(state))).toEqual(state);
  expect(decodeMarker(null)).toBeNull();
  expect(decodeMarker('no marker here')).toBeNull();
  expect(decodeMarker('<!-- ops:marker {not json} -->')).toBeNull();
  expect(decodeMarker('<!-- ops:marker {"v":2,"kind":"incident"} -->')).toBeNull();
  expect(decodeMarker('<!-- ops:marker {"v":1,"kind":"other"} -->')).toBeNull();
});
