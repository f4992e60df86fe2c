import {
  calls,
  evaluate,
  evaluateValue,
  ExpressionSyntaxError,
  expressionsIn,
  isExpression,
  OfflineError,
  parseExpression,
} from './arm-expressions.js';

const ctx = {
  parameters: { name: 'Func-App', flag: true, list: ['a', 'b'], obj: { x: { y: 3 } }, empty: '' },
  variables: { flex: "[equals(parameters('name'), 'Func-App')]", plain: 'literal' },
  deploymentName: 'dep-1',
};

test('tells expressions from literals, the [[ escape included', () => {
  expect(isExpression("[parameters('x')]")).toBe(true);
  expect(isExpression('[[not an expression]')).toBe(false);
  expect(isExpression('plain')).toBe(false);
  expect(evaluate('[[literal]', ctx)).toBe('[literal]');
});

test('parses calls, strings with escaped quotes, numbers, properties and indexes', () => {
  expect(parseExpression("[concat('it''s', 1, parameters('obj').x['y'])]")).toEqual({
    kind: 'call',
    name: 'concat',
    args: [
      { kind: 'string', value: "it's" },
      { kind: 'number', value: 1 },
      {
        kind: 'index',
        target: {
          kind: 'property',
          target: { kind: 'call', name: 'parameters', args: [{ kind: 'string', value: 'obj' }] },
          name: 'x',
        },
        index: { kind: 'string', value: 'y' },
      },
    ],
  });
  expect(calls(parseExpression("[if(parameters('a'), variables('b'), null())]")).map((c) => c.name)).toEqual([
    'if',
    'parameters',
    'variables',
    'null',
  ]);
});

test.each(["[parameters('x'", "[concat('a' 'b')]", "[parameters('x')) ]", "['unterminated]", '[]'])(
  'refuses %s with a syntax error',
  (text) => {
    expect(() => parseExpression(text)).toThrow(ExpressionSyntaxError);
  },
);

test('evaluates the pure functions the templates use', () => {
  expect(evaluate("[format('{0}/default/{1}', toLower(parameters('name')), 'c')]", ctx)).toBe(
    'func-app/default/c',
  );
  expect(evaluate("[variables('flex')]", ctx)).toBe(true);
  expect(
    evaluate("[if(variables('flex'), createObject('name', 'FC1'), createObject('name', 'Y1'))]", ctx),
  ).toEqual({
    name: 'FC1',
  });
  expect(evaluate("[not(empty(parameters('empty')))]", ctx)).toBe(false);
  expect(evaluate("[take(format('{0}-resources', deployment().name), 5)]", ctx)).toBe('dep-1');
  expect(evaluate("[parameters('obj').x.y]", ctx)).toBe(3);
  expect(evaluate("[json('60.5')]", ctx)).toBe(60.5);
  expect(evaluate("[length(parameters('list'))]", ctx)).toBe(2);
  expect(evaluate('[environment().suffixes.storage]', ctx)).toBe('core.windows.net');
});

test('if() evaluates only the branch it takes; Azure-only functions are reported as such', () => {
  expect(evaluate("[if(true(), 'yes', reference('x').y)]", ctx)).toBe('yes');
  expect(() => evaluate("[reference('x').y]", ctx)).toThrow(OfflineError);
  expect(() => evaluate("[parameters('missing')]", ctx)).toThrow(/has no value/);
  expect(() => evaluate("[variables('missing')]", ctx)).toThrow(/not declared/);
});

test('expands property copy loops and finds every expression with its path', () => {
  const value = {
    ssh: {
      copy: [
        {
          name: 'publicKeys',
          count: "[length(parameters('list'))]",
          input: { keyData: "[parameters('list')[copyIndex('publicKeys')]]" },
        },
      ],
    },
  };
  expect(evaluateValue(value, ctx)).toEqual({ ssh: { publicKeys: [{ keyData: 'a' }, { keyData: 'b' }] } });
  expect(expressionsIn({ a: ['x', "[parameters('p')]"], b: { c: '[[no]' } })).toEqual([
    { path: 'a[1]', text: "[parameters('p')]" },
  ]);
});
