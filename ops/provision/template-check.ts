/**
 * What Resource Manager would refuse in a composed template and its parameters, found before the
 * request leaves: an expression that does not parse, a `parameters('x')` or `variables('x')` that
 * the template does not declare, a parameter given that it does not declare or one it needs that
 * is missing, a value of the wrong type or outside its allowed values and bounds, and a nested
 * deployment in any mode but Incremental (Complete would delete what the template omits). Nested
 * templates are checked with the parameters their deployment passes them.
 */
import { calls, evaluateValue, expressionsIn, parseExpression } from './arm-expressions.js';
import { NESTED_DEPLOYMENT, type ArmTemplate, type ParameterDefinition } from './templates.js';

export function templateProblems(
  template: ArmTemplate,
  given: Record<string, unknown>,
  where = 'template',
): string[] {
  const problems: string[] = [];
  const declared = template.parameters ?? {};
  const variables = template.variables ?? {};
  for (const name of Object.keys(given))
    if (!(name in declared)) problems.push(`${where}: parameter ${name} is given but not declared`);
  for (const [name, def] of Object.entries(declared)) {
    if (!(name in given)) {
      if (def.defaultValue === undefined) problems.push(`${where}: parameter ${name} has no value`);
      continue;
    }
    problems.push(...valueProblems(`${where}: parameter ${name}`, def, given[name]));
  }

  // The template's own expressions; a nested template's are checked below, in its own scope.
  const own = { ...template, resources: template.resources.map(withoutInlineTemplate) };
  for (const { path, text } of expressionsIn(own)) {
    let tree;
    try {
      tree = parseExpression(text);
    } catch (error) {
      problems.push(`${where} at ${path}: ${(error as Error).message}`);
      continue;
    }
    for (const call of calls(tree)) {
      const fn = call.name.toLowerCase();
      if (fn !== 'parameters' && fn !== 'variables') continue;
      const arg = call.args[0];
      if (arg?.kind !== 'string') continue;
      const known = fn === 'parameters' ? declared : variables;
      if (!(arg.value in known))
        problems.push(`${where} at ${path}: ${call.name}('${arg.value}') is not declared`);
    }
  }

  template.resources.forEach((resource, i) => {
    if (resource.type !== NESTED_DEPLOYMENT || typeof resource.properties !== 'object') return;
    const at = `${where} at resources[${i}]`;
    if (resource.properties.mode !== 'Incremental')
      problems.push(
        `${at}: a nested deployment's mode must be Incremental (got ${String(resource.properties.mode)})`,
      );
    const inner = resource.properties.template as ArmTemplate | undefined;
    if (!inner) {
      problems.push(`${at}: no inline template (a templateLink that was not composed)`);
      return;
    }
    let passed: Record<string, { value?: unknown }>;
    try {
      passed = evaluateValue(resource.properties.parameters ?? {}, {
        parameters: given,
        variables,
      }) as Record<string, { value?: unknown }>;
    } catch (error) {
      problems.push(`${at}: its parameters cannot be worked out: ${(error as Error).message}`);
      return;
    }
    const values = Object.fromEntries(Object.entries(passed).map(([k, v]) => [k, v?.value]));
    const file = (inner.metadata as { file?: string } | undefined)?.file;
    problems.push(
      ...templateProblems(inner, values, `${where} > ${file ? `infra/${file}` : `resources[${i}]`}`),
    );
  });
  return problems;
}

function withoutInlineTemplate(resource: ArmTemplate['resources'][number]) {
  if (resource.type !== NESTED_DEPLOYMENT || typeof resource.properties !== 'object') return resource;
  const { template: _inner, ...rest } = resource.properties;
  return { ...resource, properties: rest };
}

const TYPES: Record<ParameterDefinition['type'], (v: unknown) => boolean> = {
  string: (v) => typeof v === 'string',
  securestring: (v) => typeof v === 'string',
  int: (v) => Number.isInteger(v),
  bool: (v) => typeof v === 'boolean',
  object: (v) => !!v && typeof v === 'object' && !Array.isArray(v),
  secureObject: (v) => !!v && typeof v === 'object' && !Array.isArray(v),
  array: (v) => Array.isArray(v),
};

function valueProblems(what: string, def: ParameterDefinition, value: unknown): string[] {
  const check = TYPES[def.type];
  if (!check) return [`${what}: unknown type ${String(def.type)}`];
  if (!check(value)) return [`${what}: ${JSON.stringify(value)} is not of type ${def.type}`];
  const problems: string[] = [];
  if (def.allowedValues && !def.allowedValues.some((a) => JSON.stringify(a) === JSON.stringify(value)))
    problems.push(`${what}: ${JSON.stringify(value)} is not one of ${JSON.stringify(def.allowedValues)}`);
  if (typeof value === 'number') {
    if (def.minValue !== undefined && value < def.minValue)
      problems.push(`${what}: ${value} < ${def.minValue}`);
    if (def.maxValue !== undefined && value > def.maxValue)
      problems.push(`${what}: ${value} > ${def.maxValue}`);
  }
  const length = typeof value === 'string' || Array.isArray(value) ? value.length : undefined;
  if (length !== undefined) {
    if (def.minLength !== undefined && length < def.minLength)
      problems.push(`${what}: length ${length} < ${def.minLength}`);
    if (def.maxLength !== undefined && length > def.maxLength)
      problems.push(`${what}: length ${length} > ${def.maxLength}`);
  }
  return problems;
}
