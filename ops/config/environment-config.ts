/**
 * One environment's ops configuration (runbook/environments/<name>.yaml): endpoints, Azure
 * resource ids, budget and threshold overrides. It holds no secret: a secret is named by the
 * environment variable that carries it (`...Env` fields), read and masked by ops/config/secrets.ts.
 * `sandbox: true` takes the endpoints and credentials from the local sandbox's .ops/local/dev/env.json.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { JSONSchemaType } from 'ajv';
import { parse } from 'yaml';
import { compileSchema, formatErrors } from './validate.js';

export interface EnvironmentConfig {
  name: string;
  description: string;
  /** Read endpoints and credentials from the sandbox's .ops/local/dev/env.json. */
  sandbox: boolean;
  database?: { urlEnv: string };
  mqtt?: {
    listeners: { name: string; url: string }[];
    /** The uptime probe's broker user (round trips on its own topic). */
    probe: { usernameEnv: string; passwordEnv: string };
    /** The canary device: a registered device that publishes only for the ops checks. */
    canary: { tenant: string; deviceId: string; usernameEnv: string; passwordEnv: string };
  };
  ingest?: { healthUrl: string };
  /** HTTP endpoints that must answer (dashboard, Supabase API). */
  endpoints?: { name: string; url: string; expectStatus: number[] }[];
  /**
   * The tenant dashboard for the go-live check golive.dashboard-live: its URL and the variables
   * holding the e-mail and password of a user of the canary device's tenant (mqtt.canary.tenant).
   */
  dashboard?: { url: string; canaryUserEnv: string; canaryPasswordEnv: string };
  tls?: { name: string; host: string; port: number }[];
  azure?: {
    subscriptionId: string;
    resourceGroup: string;
    vmName: string;
    functionApp: string;
    logAnalyticsWorkspaceId: string;
    budgetName: string;
  };
  ssh?: { host: string; port: number; username: string; hostKeySha256: string; privateKeyEnv: string };
  /** How the deploy reaches each deployable (ops/deploy, docs/deploy.md). */
  deploy?: {
    functions?: {
      /** The Function App's hosting plan: decides the transport (one deploy or zip deploy). */
      plan: 'flex-consumption' | 'linux-consumption';
      /** The app's deployment (Kudu/SCM) endpoint; default https://<azure.functionApp>.scm.azurewebsites.net */
      scmUrl?: string;
    };
    vm?: {
      /** The Ansible inventory of this environment, relative to the repository root. */
      inventory: string;
      /** The variable holding the VM's known_hosts line(s): the pinned host key Ansible's SSH trusts. */
      knownHostsEnv: string;
      /** The variable holding the mqtt_ingest function key the bridge sends. */
      ingestKeyEnv?: string;
      /**
       * The broker's service users besides the devices (read from the registry): the bridge (its
       * credentials also go into the bridge's settings), the alerts publisher, the probes.
       */
      serviceUsers?: { role: 'bridge' | 'alerts' | 'probe'; usernameEnv: string; passwordEnv: string }[];
    };
    /** The dashboard on Cloudflare Pages (ops/deploy/pages-stage.ts); CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID are secrets. */
    pages?: {
      /** The Pages project (created once: `wrangler pages project create <name> --production-branch <branch>`). */
      project: string;
      /** The project's production branch: the deploy publishes to it. */
      productionBranch: string;
      /** The Supabase project URL built into the dashboard (and its CSP's connect-src). */
      supabaseUrl: string;
      /** The variable holding the Supabase anon (publishable) key built into the dashboard. */
      anonKeyEnv: string;
    };
  };
  backup?: {
    store: 'blob' | 'local';
    /** Blob: the container; local: a directory. */
    location: string;
    prefix: string;
    connectionStringEnv?: string;
    /** Days of backups kept after each backup (the newest few are always kept). */
    keepDays: number;
    /** A role that may create and drop the restore test's scratch database. */
    restoreAdminUrlEnv?: string;
  };
  /** Whether the Blob archive of old telemetry runs; go-live accepts "explicitly disabled". */
  archive?: { mode: 'disabled'; reason: string };
  budget: { monthlyUsd: number; aiMonthlyUsd: number };
  /** Per-check threshold overrides on top of runbook.yaml's. */
  thresholds: Record<string, Record<string, number>>;
}

const envVar = { type: 'string', pattern: '^[A-Z][A-Z0-9_]*$' } as const;
const url = { type: 'string', pattern: '^[a-z][a-z0-9+.-]*://' } as const;
const name = { type: 'string', pattern: '^[a-z][a-z0-9-]*$' } as const;

export const environmentSchema: JSONSchemaType<EnvironmentConfig> = {
  $id: 'https://mqtt-saas.example/schemas/environment.schema.json',
  title: 'Ops environment: endpoints, Azure resources, budget, thresholds (no secrets)',
  type: 'object',
  additionalProperties: false,
  required: ['name', 'description', 'sandbox', 'budget', 'thresholds'],
  properties: {
    name,
    description: { type: 'string' },
    sandbox: { type: 'boolean' },
    database: {
      type: 'object',
      nullable: true,
      additionalProperties: false,
      required: ['urlEnv'],
      properties: { urlEnv: envVar },
    },
    mqtt: {
      type: 'object',
      nullable: true,
      additionalProperties: false,
      required: ['listeners', 'probe', 'canary'],
      properties: {
        listeners: {
          type: 'array',
          minItems: 1,
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['name', 'url'],
            properties: { name, url: { type: 'string', pattern: '^(mqtts?|wss?)://' } },
          },
        },
        probe: {
          type: 'object',
          additionalProperties: false,
          required: ['usernameEnv', 'passwordEnv'],
          properties: { usernameEnv: envVar, passwordEnv: envVar },
        },
        canary: {
          type: 'object',
          additionalProperties: false,
          required: ['tenant', 'deviceId', 'usernameEnv', 'passwordEnv'],
          properties: {
            tenant: { type: 'string', minLength: 1 },
            deviceId: { type: 'string', minLength: 1 },
            usernameEnv: envVar,
            passwordEnv: envVar,
          },
        },
      },
    },
    ingest: {
      type: 'object',
      nullable: true,
      additionalProperties: false,
      required: ['healthUrl'],
      properties: { healthUrl: url },
    },
    dashboard: {
      type: 'object',
      nullable: true,
      additionalProperties: false,
      required: ['url', 'canaryUserEnv', 'canaryPasswordEnv'],
      properties: {
        url: { type: 'string', pattern: '^https?://' },
        canaryUserEnv: envVar,
        canaryPasswordEnv: envVar,
      },
    },
    endpoints: {
      type: 'array',
      nullable: true,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'url', 'expectStatus'],
        properties: {
          name,
          url,
          expectStatus: {
            type: 'array',
            minItems: 1,
            items: { type: 'integer', minimum: 100, maximum: 599 },
          },
        },
      },
    },
    tls: {
      type: 'array',
      nullable: true,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'host', 'port'],
        properties: {
          name,
          host: { type: 'string', minLength: 1 },
          port: { type: 'integer', minimum: 1, maximum: 65535 },
        },
      },
    },
    azure: {
      type: 'object',
      nullable: true,
      additionalProperties: false,
      required: [
        'subscriptionId',
        'resourceGroup',
        'vmName',
        'functionApp',
        'logAnalyticsWorkspaceId',
        'budgetName',
      ],
      properties: {
        subscriptionId: { type: 'string', format: 'uuid' },
        resourceGroup: { type: 'string', minLength: 1 },
        vmName: { type: 'string', minLength: 1 },
        functionApp: { type: 'string', minLength: 1 },
        logAnalyticsWorkspaceId: { type: 'string', format: 'uuid' },
        budgetName: { type: 'string', minLength: 1 },
      },
    },
    ssh: {
      type: 'object',
      nullable: true,
      additionalProperties: false,
      required: ['host', 'port', 'username', 'hostKeySha256', 'privateKeyEnv'],
      properties: {
        host: { type: 'string', minLength: 1 },
        port: { type: 'integer', minimum: 1, maximum: 65535 },
        username: { type: 'string', minLength: 1 },
        hostKeySha256: { type: 'string', pattern: '^SHA256:[A-Za-z0-9+/]{43}=?$' },
        privateKeyEnv: envVar,
      },
    },
    deploy: {
      type: 'object',
      nullable: true,
      additionalProperties: false,
      required: [],
      properties: {
        functions: {
          type: 'object',
          nullable: true,
          additionalProperties: false,
          required: ['plan'],
          properties: {
            plan: { type: 'string', enum: ['flex-consumption', 'linux-consumption'] },
            scmUrl: { ...url, nullable: true },
          },
        },
        vm: {
          type: 'object',
          nullable: true,
          additionalProperties: false,
          required: ['inventory', 'knownHostsEnv'],
          properties: {
            inventory: { type: 'string', pattern: '^ansible/inventories/[A-Za-z0-9._/-]+$' },
            knownHostsEnv: envVar,
            ingestKeyEnv: { ...envVar, nullable: true },
            serviceUsers: {
              type: 'array',
              nullable: true,
              items: {
                type: 'object',
                additionalProperties: false,
                required: ['role', 'usernameEnv', 'passwordEnv'],
                properties: {
                  role: { type: 'string', enum: ['bridge', 'alerts', 'probe'] },
                  usernameEnv: envVar,
                  passwordEnv: envVar,
                },
              },
            },
          },
        },
        pages: {
          type: 'object',
          nullable: true,
          additionalProperties: false,
          required: ['project', 'productionBranch', 'supabaseUrl', 'anonKeyEnv'],
          properties: {
            // Cloudflare's rule for project names: lower-case letters, digits and dashes.
            project: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,57}$' },
            productionBranch: { type: 'string', minLength: 1 },
            supabaseUrl: url,
            anonKeyEnv: envVar,
          },
        },
      },
    },
    backup: {
      type: 'object',
      nullable: true,
      additionalProperties: false,
      required: ['store', 'location', 'prefix', 'keepDays'],
      properties: {
        store: { type: 'string', enum: ['blob', 'local'] },
        location: { type: 'string', minLength: 1 },
        prefix: { type: 'string' },
        connectionStringEnv: { ...envVar, nullable: true },
        keepDays: { type: 'integer', minimum: 1, maximum: 3650 },
        restoreAdminUrlEnv: { ...envVar, nullable: true },
      },
    },
    archive: {
      type: 'object',
      nullable: true,
      additionalProperties: false,
      required: ['mode', 'reason'],
      // Only "disabled" until an archive job exists (RUNBOOK.md app.archive).
      properties: { mode: { type: 'string', const: 'disabled' }, reason: { type: 'string', minLength: 10 } },
    },
    budget: {
      type: 'object',
      additionalProperties: false,
      required: ['monthlyUsd', 'aiMonthlyUsd'],
      properties: {
        monthlyUsd: { type: 'number', minimum: 0 },
        aiMonthlyUsd: { type: 'number', minimum: 0 },
      },
    },
    thresholds: {
      type: 'object',
      required: [],
      additionalProperties: { type: 'object', required: [], additionalProperties: { type: 'number' } },
    },
  },
};

const here = dirname(fileURLToPath(import.meta.url));
export const ENVIRONMENTS_DIR = join(here, '..', '..', 'runbook', 'environments');

export function parseEnvironmentConfig(text: string, source: string): EnvironmentConfig {
  let data: unknown;
  try {
    data = parse(text);
  } catch (error) {
    throw new Error(`${source}: not valid YAML: ${(error as Error).message}`);
  }
  const validate = compileSchema(environmentSchema);
  if (!validate(data)) throw new Error(`${source} is invalid:\n${formatErrors(validate.errors)}`);
  return data;
}

/** Loads runbook/environments/<name>.yaml; an unknown name lists the known ones. */
export function loadEnvironmentConfig(envName: string, dir = ENVIRONMENTS_DIR): EnvironmentConfig {
  if (!/^[a-z][a-z0-9-]*$/.test(envName))
    throw new Error(`environment name "${envName}" is not a valid name`);
  const path = join(dir, `${envName}.yaml`);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new Error(`no environment "${envName}": ${path} does not exist`);
  }
  const config = parseEnvironmentConfig(text, path);
  if (config.name !== envName) throw new Error(`${path}: name is "${config.name}", expected "${envName}"`);
  return config;
}
