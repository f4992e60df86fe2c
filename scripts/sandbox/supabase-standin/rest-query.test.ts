import fc from 'fast-check';
import {
  buildReadSql,
  parseFilter,
  parseList,
  parseReadQuery,
  parseSelect,
  quoteIdent,
} from './rest-query.js';

const COLUMNS = new Set(['id', 'tenant_id', 'device_key', 'we"ird']);

describe('PostgREST read syntax', () => {
  test('in-lists: plain, quoted with commas, escaped quotes, empty', () => {
    expect(parseList('(a,b,c)')).toEqual(['a', 'b', 'c']);
    expect(parseList('("a,b",c)')).toEqual(['a,b', 'c']);
    expect(parseList('("say \\"hi\\"",x)')).toEqual(['say "hi"', 'x']);
    expect(parseList('()')).toEqual([]);
    expect(() => parseList('a,b')).toThrow();
    expect(() => parseList('("open,b)')).toThrow();
  });

  test('filters: operators, not., like stars, is keywords; unknown operators refused', () => {
    expect(parseFilter('ts', 'gte.2026-01-01T00:00:00Z')).toEqual({
      column: 'ts',
      negate: false,
      op: 'gte',
      value: '2026-01-01T00:00:00Z',
    });
    expect(parseFilter('name', 'not.ilike.*cold*')).toMatchObject({
      negate: true,
      op: 'ilike',
      value: '%cold%',
    });
    expect(parseFilter('last_seen', 'is.null')).toMatchObject({ op: 'is', value: 'null' });
    expect(() => parseFilter('last_seen', 'is.1;select')).toThrow();
    expect(() => parseFilter('id', 'fts.x')).toThrow(/not implemented/);
    expect(() => parseFilter('id', 'nodot')).toThrow();
  });

  test('select: columns and aliases; embedding, JSON paths and casts are refused as not implemented', () => {
    expect(parseSelect('id, key:device_key')).toEqual([
      { column: 'id' },
      { column: 'device_key', alias: 'key' },
    ]);
    expect(parseSelect(null)).toBe('*');
    expect(() => parseSelect('id,tenants(name)')).toThrow(/not implemented/);
    expect(() => parseSelect('values->temperature')).toThrow(/not implemented/);
    expect(() => parseSelect('id::text')).toThrow(/not implemented/);
  });

  test('limit is clamped to max_rows; only plain non-negative integers are accepted', () => {
    const q = (s: string) => parseReadQuery(new URLSearchParams(s), 1000);
    expect(q('').limit).toBe(1000);
    expect(q('limit=5&offset=10')).toMatchObject({ limit: 5, offset: 10 });
    expect(q(`limit=${'9'.repeat(30)}`).limit).toBe(1000);
    for (const bad of [
      'limit=-1',
      'limit=1.5',
      'limit=1e3',
      'limit=',
      'offset=0x10',
      `limit=${'9'.repeat(31)}`,
    ]) {
      expect(() => q(bad)).toThrow();
    }
    expect(() => q('limit=1&limit=2')).toThrow(/more than once/);
    expect(() => q('or=(a.eq.1,b.eq.2)')).toThrow(/not implemented/);
  });

  test('SQL: identifiers quoted and checked against the catalog, every value a parameter', () => {
    const query = parseReadQuery(
      new URLSearchParams(
        'select=id,k:device_key&tenant_id=in.(a,b)&device_key=eq.x&order=id.desc.nullslast&limit=3',
      ),
      1000,
    );
    const sql = buildReadSql('public', 'devices', COLUMNS, query);
    expect(sql.rows).toContain('select "id", "device_key" as "k" from "public"."devices"');
    expect(sql.rows).toContain(
      'where "tenant_id" = any($1) and "device_key" = $2 order by "id" desc nulls last limit $3 offset $4',
    );
    expect(sql.params).toEqual([['a', 'b'], 'x', 3, 0]);
    expect(sql.count).toBe(
      'select count(*)::text as total from "public"."devices" where "tenant_id" = any($1) and "device_key" = $2',
    );
    expect(sql.countParams).toEqual([['a', 'b'], 'x']);
    expect(() =>
      buildReadSql(
        'public',
        'devices',
        COLUMNS,
        parseReadQuery(new URLSearchParams('select=credential'), 10),
      ),
    ).toThrow(/column devices.credential does not exist/);
    expect(quoteIdent('we"ird')).toBe('"we""ird"');
  });

  test('property: no filter value ever reaches the SQL text', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }),
        fc.constantFrom('eq', 'neq', 'gt', 'lte', 'like'),
        (value, op) => {
          fc.pre(!value.includes('\0'));
          const params = new URLSearchParams();
          params.set('device_key', `${op}.${value}`);
          const sql = buildReadSql('public', 'devices', COLUMNS, parseReadQuery(params, 10));
          expect(sql.rows).toBe(
            `select coalesce(json_agg(_t), '[]')::text as body, (json_agg(_t) -> 0)::text as first, count(*)::int as n from (select "devices".* from "public"."devices" where "device_key" ${
              { eq: '=', neq: '<>', gt: '>', lte: '<=', like: 'like' }[op]
            } $1 limit $2 offset $3) _t`,
          );
        },
      ),
    );
  });
});
