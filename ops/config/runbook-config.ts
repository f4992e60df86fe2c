/**
 * The machine-readable runbook (runbook/runbook.yaml): which checks each cadence runs, their
 * severities, components, playbooks and thresholds, the incident policy, and the playbooks. The schema below is
 * the one definition: ajv checks it against the TypeScript type at compile time, the loader
 * validates the YAML with it, and runbook/schema/runbook.schema.json (for editors) is generated
 * from it (`npm run ops:schemas`; a test fails when the file is stale).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { JSONSchemaType } from 'ajv';
import { parse } from 'yaml';
import { COMPONENTS, type Component } from '../engine/component.js';
import { SEVERITIES, type Severity } from '../engine/severity.js';
import { compileSchema, formatErrors } from './validate.js';

export const RUNBOOK_CADENCES = ['daily', 'weekly', 'monthly', 'golive', 'uptime'] as const;
export type RunbookCadence = (typeof RUNBOOK_CADENCES)[number];

export interface CheckSpec {
  severity: Severity;
  /** The part of the platform it watches: its incidents' `component:` label. */
  component: Component;
  /** A playbook name from `playbooks`, or null when there is nothing to run. */
  playbook: string | null;
  /** The RUNBOOK.md item ids this check automates or verifies. */
  runbookItems: string[];
  /** Numbers the check compares against (names per check; see its module). */
  thresholds: Record<string, number>;
}

export interface PlaybookSpec {
  title: string;
  /** RUNBOOK.md section 7 item ids this playbook carries out. */
  runbookItems: string[];
}

export interface IncidentPolicySpec {
  /** Consecutive failing runs before an issue opens. */
  openAfter: number;
  /** Consecutive passing runs before it closes. */
  closeAfter: number;
  /** At most this many issues opened by one run; the rest wait for the next run. */
  maxOpenPerRun: number;
  /** Whether `warn` counts as failing. */
  warnIsFailure: boolean;
}

export interface RunbookConfig {
  version: 1;
  incidents: IncidentPolicySpec;
  cadences: Record<RunbookCadence, string[]>;
  checks: Record<string, CheckSpec>;
  playbooks: Record<string, PlaybookSpec>;
}

const idPattern = '^[a-z][a-z-]*(\\.[a-z0-9-]+)+$';

export const runbookSchema: JSONSchemaType<RunbookConfig> = {
  $id: 'https://mqtt-saas.example/schemas/runbook.schema.json',
  title: 'Runbook: cadences, checks, thresholds and playbooks',
  type: 'object',
  additionalProperties: false,
  required: ['version', 'incidents', 'cadences', 'checks', 'playbooks'],
  properties: {
    version: { type: 'integer', const: 1 },
    incidents: {
      type: 'object',
      additionalProperties: false,
      required: ['openAfter', 'closeAfter', 'maxOpenPerRun', 'warnIsFailure'],
      properties: {
        openAfter: { type: 'integer', minimum: 1, maximum: 20 },
        closeAfter: { type: 'integer', minimum: 1, maximum: 20 },
        maxOpenPerRun: { type: 'integer', minimum: 1, maximum: 50 },
        warnIsFailure: { type: 'boolean' },
      },
    },
    cadences: {
      type: 'object',
      additionalProperties: false,
      required: [...RUNBOOK_CADENCES],
      properties: Object.fromEntries(
        RUNBOOK_CADENCES.map((c) => [
          c,
          { type: 'array', uniqueItems: true, items: { type: 'string', pattern: idPattern } },
        ]),
      ) as JSONSchemaType<RunbookConfig>['properties']['cadences']['properties'],
    },
    checks: {
      type: 'object',
      required: [],
      propertyNames: { pattern: idPattern } as never,
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['severity', 'component', 'playbook', 'runbookItems', 'thresholds'],
        properties: {
          severity: { type: 'string', enum: [...SEVERITIES] },
          component: { type: 'string', enum: [...COMPONENTS] },
          playbook: { type: 'string', nullable: true as false, pattern: '^[a-z][a-z0-9-]*$' },
          runbookItems: { type: 'array', minItems: 1, items: { type: 'string', pattern: idPattern } },
          thresholds: {
            type: 'object',
            required: [],
            additionalProperties: { type: 'number' },
          },
        },
      },
    },
    playbooks: {
      type: 'object',
      required: [],
      propertyNames: { pattern: '^[a-z][a-z0-9-]*$' } as never,
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['title', 'runbookItems'],
        properties: {
          title: { type: 'string', minLength: 3 },
          runbookItems: { type: 'array', items: { type: 'string', pattern: idPattern } },
        },
      },
    },
  },
};

const here = dirname(fileURLToPath(import.meta.url));
export const RUNBOOK_YAML_PATH = join(here, '..', '..', 'runbook', 'runbook.yaml');

/** Parses and validates the runbook YAML; every problem is named with its path. */
export function parseRunbookConfig(text: string, source = 'runbook.yaml'): RunbookConfig {
  let data: unknown;
  try {
    data = parse(text);
  } catch (error) {
    throw new Error(`${source}: not valid YAML: ${(error as Error).message}`);
  }
  const validate = compileSchema(runbookSchema);
  if (!validate(data)) throw new Error(`${source} is invalid:\n${formatErrors(validate.errors)}`);
  const config = data as RunbookConfig;
  const problems: string[] = [];
  for (const [cadence, ids] of Object.entries(config.cadences)) {
    for (const id of ids)
      if (!config.checks[id]) problems.push(`cadences.${cadence}: ${id} has no entry under checks`);
  }
  for (const [id, spec] of Object.entries(config.checks)) {
    if (spec.playbook !== null && !config.playbooks[spec.playbook]) {
      problems.push(`checks.${id}.playbook: ${spec.playbook} is not defined under playbooks`);
    }
    if (!Object.values(config.cadences).some((ids) => ids.includes(id))) {
      problems.push(`checks.${id}: not run by any cadence`);
    }
  }
  if (problems.length)
    throw new Error(`${source} is inconsistent:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  return config;
}

export function loadRunbookConfig(path = RUNBOOK_YAML_PATH): RunbookConfig {
  return parseRunbookConfig(readFileSync(path, 'utf8'), path);
}
