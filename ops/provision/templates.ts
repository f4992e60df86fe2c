/**
 * The ARM templates in infra/: main.json (subscription scope: the resource group, the budget, and
 * resources.json nested into the group). A nested deployment names its template file with
 * `templateLink.relativePath`, as template specs do; Resource Manager only follows relative links
 * inside a template spec or a template deployed from a URL, so the deployment request carries one
 * template, with each linked file put inline here. plannedResources() says, offline, which
 * resources a set of parameters deploys (the conditional ones may be off).
 */
import { readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { evaluate, evaluateValue, OfflineError, type EvaluationContext } from './arm-expressions.js';

const here = dirname(fileURLToPath(import.meta.url));
export const INFRA_DIR = join(here, '..', '..', 'infra');
export const MAIN_TEMPLATE = 'main.json';

export interface ParameterDefinition {
  type: 'string' | 'securestring' | 'int' | 'bool' | 'object' | 'secureObject' | 'array';
  defaultValue?: unknown;
  allowedValues?: unknown[];
  minValue?: number;
  maxValue?: number;
  minLength?: number;
  maxLength?: number;
  metadata?: { description?: string };
}

export interface ArmResource {
  type: string;
  apiVersion: string;
  name: string;
  condition?: unknown;
  location?: string;
  tags?: unknown;
  resourceGroup?: string;
  dependsOn?: string[];
  properties?: Record<string, unknown> | string;
  [key: string]: unknown;
}

export interface ArmTemplate {
  $schema: string;
  contentVersion: string;
  parameters?: Record<string, ParameterDefinition>;
  variables?: Record<string, unknown>;
  resources: ArmResource[];
  outputs?: Record<string, { type: string; value: unknown }>;
  [key: string]: unknown;
}

export const NESTED_DEPLOYMENT = 'Microsoft.Resources/deployments';

export function readTemplate(file: string, dir = INFRA_DIR): ArmTemplate {
  const path = join(dir, file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new Error(`${path} does not exist`);
  }
  let template: ArmTemplate;
  try {
    template = JSON.parse(text) as ArmTemplate;
  } catch (error) {
    throw new Error(`${path} is not valid JSON: ${(error as Error).message}`);
  }
  if (!template || typeof template !== 'object' || !Array.isArray(template.resources))
    throw new Error(`${path} is not an ARM template (no resources array)`);
  return template;
}

/** `file` with every nested deployment's `templateLink.relativePath` replaced by that template. */
export function composeTemplate(file = MAIN_TEMPLATE, dir = INFRA_DIR, seen: string[] = []): ArmTemplate {
  if (seen.includes(file)) throw new Error(`infra: ${[...seen, file].join(' -> ')} links in a circle`);
  const template = readTemplate(file, dir);
  for (const resource of template.resources) {
    if (resource.type !== NESTED_DEPLOYMENT || typeof resource.properties !== 'object') continue;
    const link = resource.properties.templateLink as { relativePath?: string } | undefined;
    if (!link?.relativePath) continue;
    const target = normalize(join(dirname(file), link.relativePath));
    if (relative(dir, join(dir, target)).startsWith('..'))
      throw new Error(`${file}: templateLink ${link.relativePath} is outside infra/`);
    const { templateLink: _link, ...rest } = resource.properties;
    const inner = composeTemplate(target, dir, [...seen, file]);
    // Template metadata is free-form: it keeps the file's name for messages.
    inner.metadata = { ...(inner.metadata as object | undefined), file: target };
    resource.properties = { ...rest, template: inner };
  }
  return template;
}

export interface PlannedResource {
  type: string;
  name: string;
  /** The resource group, or undefined for a subscription-scope resource. */
  resourceGroup?: string;
  deployed: boolean;
  /** For a resource left out: its condition, as written. */
  condition?: string;
}

export interface PlanContext {
  deploymentName: string;
  subscriptionId?: string;
}

/**
 * Every resource of a composed template, nested ones included, with whether `parameters`
 * (a name -> value map) deploy it. Names that need Azure to evaluate are shown as written.
 */
export function plannedResources(
  template: ArmTemplate,
  parameters: Record<string, unknown>,
  context: PlanContext,
  resourceGroup?: string,
): PlannedResource[] {
  const ctx: EvaluationContext = {
    parameters: withDefaults(template, parameters),
    variables: template.variables ?? {},
    deploymentName: context.deploymentName,
    subscriptionId: context.subscriptionId,
  };
  const out: PlannedResource[] = [];
  for (const resource of template.resources) {
    const deployed = resource.condition === undefined ? true : Boolean(evaluate(resource.condition, ctx));
    const name = tryEvaluate(resource.name, ctx);
    if (resource.type === NESTED_DEPLOYMENT && typeof resource.properties === 'object') {
      const inner = resource.properties.template as ArmTemplate | undefined;
      if (!inner) continue;
      const group = String(tryEvaluate(resource.resourceGroup, ctx) ?? resourceGroup);
      const given = evaluateValue(resource.properties.parameters ?? {}, ctx) as Record<
        string,
        { value: unknown }
      >;
      const values = Object.fromEntries(Object.entries(given).map(([k, v]) => [k, v.value]));
      for (const r of plannedResources(inner, values, { ...context, deploymentName: String(name) }, group))
        out.push(deployed ? r : { ...r, deployed: false });
      continue;
    }
    out.push({
      type: resource.type,
      name: String(name),
      ...(resourceGroup ? { resourceGroup } : {}),
      deployed,
      ...(deployed ? {} : { condition: String(resource.condition) }),
    });
  }
  return out;
}

/** The parameter values a template sees: the given ones, else each parameter's default. */
export function withDefaults(template: ArmTemplate, given: Record<string, unknown>): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const [name, def] of Object.entries(template.parameters ?? {}))
    if (name in given) values[name] = given[name];
    else if (def.defaultValue !== undefined) values[name] = def.defaultValue;
  return values;
}

function tryEvaluate(value: unknown, ctx: EvaluationContext): unknown {
  try {
    return evaluate(value, ctx);
  } catch (error) {
    if (error instanceof OfflineError) return value;
    throw error;
  }
}
