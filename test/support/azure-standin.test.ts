import { request } from 'node:https';
import { assertSameShape, startAzureStandin, type AzureStandin, type FixtureJson } from './azure-standin.js';

let standin: AzureStandin;
beforeAll(async () => {
  standin = await startAzureStandin();
});
afterAll(() => standin.close());

function get(
  path: string,
  token = standin.token,
  method = 'GET',
): Promise<{ status: number; body: FixtureJson }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${standin.url}${path}`,
      { method, ca: standin.ca, headers: { authorization: `Bearer ${token}` } },
      (res) => {
        let raw = '';
        res.on('data', (c) => (raw += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(raw) }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const BUDGET =
  '/subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.Consumption/budgets/b1';

test('answers a route with its fixture body over TLS that verifies against the given CA', async () => {
  const res = await get(`${BUDGET}?api-version=2024-08-01`);
  expect(res.status).toBe(200);
  expect(res.body.properties.amount).toBe(100.65);
  expect(standin.requests.at(-1)).toMatchObject({ route: 'budget', apiVersion: '2024-08-01', method: 'GET' });
});

test('refuses a wrong api-version, a wrong token and an unknown path the way ARM does', async () => {
  const version = await get(`${BUDGET}?api-version=2021-10-01`);
  expect(version.status).toBe(400);
  expect(version.body.error.code).toBe('InvalidApiVersionParameter');
  expect((await get(`${BUDGET}?api-version=2024-08-01`, 'wrong')).status).toBe(401);
  expect((await get('/nothing/here')).status).toBe(404);
});

test('a scenario body that changes the shape is refused with a 500 that names the difference', async () => {
  standin.on('budget', (_req, t) => {
    t.properties.amount = 20;
    t.properties.surprise = true;
    return t;
  });
  const res = await get(`${BUDGET}?api-version=2024-08-01`);
  expect(res.status).toBe(500);
  expect(res.body.error.message).toMatch(/properties: extra surprise/);
  standin.on('budget', (_req, t) => ({
    status: 200,
    body: { ...t, properties: { ...t.properties, amount: 20 } },
  }));
  expect((await get(`${BUDGET}?api-version=2024-08-01`)).body.properties.amount).toBe(20);
});

describe('assertSameShape', () => {
  const template = { a: 1, list: [{ x: 'a', y: null }], rows: [['s', null, 'n']], tags: { k: 'v' } };
  const rules = { maps: ['tags'] };
  test.each([
    [{ a: 2, list: [], rows: [], tags: {} }, null],
    [{ a: 2, list: [{ x: 'b', y: 3 }], rows: [['t', 'u', null, 'w']], tags: { other: 'z' } }, null],
    [{ a: '2', list: [], rows: [], tags: {} }, /at a: number in the fixture, string sent/],
    [{ a: 2, list: [{ x: 'b' }], rows: [], tags: {} }, /at list\[\]: missing y/],
    [{ a: 2, list: [], rows: [], tags: {}, more: 1 }, /at \(root\): extra more/],
    [{ a: 2, list: [], rows: [[{}]], tags: {} }, /rows\[\]\[0\]: a leaf in the fixture/],
    [{ a: 2, list: [], rows: [], tags: { k: 1 } }, /tags\.k: string in the fixture/],
  ])('%j', (value, error) => {
    if (error) expect(() => assertSameShape(template, value, '', rules)).toThrow(error);
    else expect(() => assertSameShape(template, value, '', rules)).not.toThrow();
  });

  test('optional keys are allowed only where declared', () => {
    const t = { data: [{ average: 1 }] };
    expect(() =>
      assertSameShape(t, { data: [{ average: 1, total: 2 }] }, '', { optionalKeys: { 'data[]': ['total'] } }),
    ).not.toThrow();
    expect(() => assertSameShape(t, { data: [{ average: 1, total: 2 }] })).toThrow(/extra total/);
  });

  test('a template key declared optional may also be left out; an undeclared one may not', () => {
    const t = { change: { after: { id: 'a' }, before: { id: 'b' }, changeType: 'Modify' } };
    const rules = { optionalKeys: { change: ['before', 'after'] } };
    expect(() =>
      assertSameShape(t, { change: { before: { id: 'x' }, changeType: 'Delete' } }, '', rules),
    ).not.toThrow();
    expect(() => assertSameShape(t, { change: { after: { id: 'x' } } }, '', rules)).toThrow(
      /missing changeType/,
    );
  });
});
