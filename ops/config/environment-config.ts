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
  database?: {
    urlEnv: string;
    /**
     * The Supabase plan the project is on: its database size limit (prices.supabase: Free's
     * databaseMb, Pro's databaseGbIncluded) is what the check daily.archive projects the size against.
     */
    plan?: SupabasePlan;
  };
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
      /**
       * The variable holding the private key of infra.vm.adminUsername, the login (full sudo) the
       * vm stage's Ansible uses when `infra` is set: the system roles limit the ops user's sudo
       * (ansible/roles/ops_user, docs/vm.md). Without `infra` it logs in as ssh.username.
       */
      adminPrivateKeyEnv?: string;
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
      /**
       * The Supabase project the pull requests' previews talk to (ops/deploy/pages-preview.ts);
       * default the one above. A staging project keeps reviewers' previews off production data.
       */
      preview?: { supabaseUrl: string; anonKeyEnv: string };
    };
  };
  /**
   * The Azure resources this environment is provisioned with (infra/, ops/provision; docs/infra.md)
   * and the VM's network exposure, which the NSG and the VM's firewall (Ansible's hardening role)
   * both take from here (ops/config/vm-ports.ts). Names the `azure` section already gives
   * (resource group, VM, Function App, budget) are not repeated.
   */
  infra?: {
    /** The Azure region of every resource, e.g. southeastasia. */
    location: string;
    /** Tags put on every resource. */
    tags: Record<string, string>;
    /**
     * The naming convention: per kind of resource, a regular expression its name must match
     * (checked by `ops preflight` against every name of this file).
     */
    naming: {
      resourceGroup: string;
      virtualMachine: string;
      functionApp: string;
      storageAccount: string;
      other: string;
    };
    /** Names of the resources the `azure` section does not name. */
    names: {
      networkSecurityGroup: string;
      publicIp: string;
      virtualNetwork: string;
      networkInterface: string;
      /** The Function App's own storage account (its deployment container, its host's state). */
      functionStorage: string;
      /** The storage account holding the backup container (backup.location) and the archive's. */
      dataStorage: string;
      logAnalytics: string;
      applicationInsights: string;
      /** The Flex Consumption / Linux Consumption plan. */
      functionPlan: string;
    };
    vm: {
      /** e.g. Standard_B1s (resize: `ops playbook resize-vm`). */
      size: string;
      /** The first user Azure creates (key only); Ansible's hardening allows it and ssh.username. */
      adminUsername: string;
      /** Public keys authorised for adminUsername (OpenSSH one-line format). */
      sshPublicKeys: string[];
      osDiskGb: number;
      /** The static public IP's DNS label: <label>.<location>.cloudapp.azure.com */
      dnsLabel: string;
      /** Ubuntu 24.04 LTS unless given. */
      image?: { publisher: string; offer: string; sku: string; version: string };
    };
    /** What the VM exposes (NSG and ufw alike). 22 only from adminAddressRanges; 443 and 8883 always. */
    network: {
      /** CIDR ranges (or single addresses) allowed to reach SSH; never 0.0.0.0/0 or *. */
      adminAddressRanges: string[];
      /** 1883, plain MQTT, open to the internet. */
      plainMqtt: boolean;
      /** 9001, MQTT over WebSocket, open to the internet (the reverse proxy serves it on 443 too). */
      websocket: boolean;
    };
    /** The reverse proxy on the VM (nginx on 443): TLS for MQTT over WebSocket and the bridge's health. */
    reverseProxy?: {
      enabled: boolean;
      /** The name its certificate is for (the DNS label's name or a custom domain). */
      domain: string;
      /** The ACME account's contact e-mail (production certificates). */
      acmeEmail: string;
    };
    functions: {
      /** Flex Consumption's instance memory (MB): 512, 2048 or 4096. */
      instanceMemoryMb: number;
      maximumInstanceCount: number;
    };
    logAnalytics: { retentionDays: number };
    /** The monthly budget (azure.budgetName, budget.monthlyUsd): who is told, and when. */
    budgetAlerts: {
      contactEmails: string[];
      /** Percentages of budget.monthlyUsd of actual spend that notify. */
      actualPercent: number[];
      /** Percentages of budget.monthlyUsd of forecast spend that notify. */
      forecastPercent: number[];
    };
    /** IoT Hub Free (F1), only when the environment uses it. */
    iotHub?: { name: string };
  };
  /**
   * Prices this environment's advice uses (the resize playbook's cost change; the cost model):
   * where they were read and when, so a stale list is visible.
   */
  prices?: {
    currency: string;
    /** The Azure region the Azure prices are for (when infra.location differs, they are an estimate). */
    region: string;
    /** The day the prices were read (YYYY-MM-DD). */
    readOn: string;
    /**
     * true: read from their sources on readOn. false: written from the published pages as last
     * known on readOn, not read from them: re-read before relying on them (docs/cost.md).
     */
    verified: boolean;
    /** Where they were read (the Azure pricing page or the retail prices API). */
    source: string;
    /** The VM sizes' monthly pay-as-you-go price in this region (730 h). */
    vmMonthly: Record<string, number>;
    /** Managed disk tiers (LRS, per month); a disk is billed as the smallest tier that holds it. */
    osDisk: {
      source: string;
      standardSsd: { tier: string; gb: number; monthly: number }[];
      premiumSsd: { tier: string; gb: number; monthly: number }[];
      /** Standard SSD bills each I/O of up to 256 KiB as a transaction (Premium SSD does not). */
      standardSsdPer10kTransactions: number;
    };
    publicIp: { source: string; staticStandardHourly: number };
    /** Pay-as-you-go rates and the monthly free grants (per subscription) of both plans. */
    functions: {
      source: string;
      flexConsumption: {
        /** On demand: instance memory x the time the instance is executing. */
        perGbSecond: number;
        perMillionExecutions: number;
        freeGbSeconds: number;
        freeExecutions: number;
        /** The shortest activity period billed (then rounded up to 100 ms). */
        minimumBilledSeconds: number;
        /** Always ready instances (not modelled): baseline per GB-s, and execution time per GB-s. */
        alwaysReadyBaselinePerGbSecond?: number;
        alwaysReadyPerGbSecond?: number;
      };
      linuxConsumption: {
        /** Observed memory (rounded up to 128 MB) x execution time. */
        perGbSecond: number;
        perMillionExecutions: number;
        freeGbSeconds: number;
        freeExecutions: number;
        minimumBilledSeconds: number;
      };
    };
    supabase: {
      source: string;
      free: { monthly: number; databaseMb: number; egressGb: number };
      pro: {
        monthly: number;
        databaseGbIncluded: number;
        perDatabaseGbBeyond: number;
        egressGbIncluded: number;
        perEgressGbBeyond: number;
      };
    };
    /** Block blobs, LRS: storage per GB-month and operations per 10,000, by access tier. */
    blob: {
      source: string;
      hotPerGbMonth: number;
      coolPerGbMonth: number;
      hotWritePer10k: number;
      hotReadPer10k: number;
      coolWritePer10k: number;
      coolReadPer10k: number;
    };
    /** Data out of Azure to the internet (Supabase runs outside Azure); same-region traffic is free. */
    bandwidth: { source: string; freeGbPerMonth: number; internetEgressPerGb: number };
    /** Log Analytics ingestion (Application Insights of the Function App). */
    logAnalytics: { source: string; perGb: number; freeGbPerMonth: number };
    pages: { source: string; monthly: number };
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
  archive?: ArchiveConfig;
  budget: { monthlyUsd: number; aiMonthlyUsd: number };
  /** Per-check threshold overrides on top of runbook.yaml's. */
  thresholds: Record<string, Record<string, number>>;
}

export const SUPABASE_PLANS = ['free', 'pro'] as const;
export type SupabasePlan = (typeof SUPABASE_PLANS)[number];

const envVar = { type: 'string', pattern: '^[A-Z][A-Z0-9_]*$' } as const;
const url = { type: 'string', pattern: '^[a-z][a-z0-9+.-]*://' } as const;
const name = { type: 'string', pattern: '^[a-z][a-z0-9-]*$' } as const;
const price = { type: 'number', minimum: 0 } as const;
/** What both Functions plans' price lists give (Flex adds its always-ready rates). */
const FUNCTIONS_PLAN_RATES = [
  'perGbSecond',
  'perMillionExecutions',
  'freeGbSeconds',
  'freeExecutions',
  'minimumBilledSeconds',
] as const;
const functionsPlanRates = Object.fromEntries(FUNCTIONS_PLAN_RATES.map((k) => [k, price])) as Record<
  (typeof FUNCTIONS_PLAN_RATES)[number],
  typeof price
>;
const diskTiers = {
  type: 'array',
  minItems: 1,
  items: {
    type: 'object',
    additionalProperties: false,
    required: ['tier', 'gb', 'monthly'],
    properties: {
      tier: { type: 'string', minLength: 1 },
      gb: { type: 'integer', minimum: 1 },
      monthly: price,
    },
  },
} as const;

/**
 * The telemetry archive (docs/archive.md): disabled (nothing exported, nothing deleted), enabled
 * (rows past retention exported to Blob, verified, then removed), or purge-without-archive (removed
 * with no copy, every deletion reported). The Function App's ARCHIVE_* settings say the same
 * (functions/src/settings.ts).
 */
export type ArchiveConfig =
  | { mode: 'disabled'; reason: string }
  | {
      mode: 'enabled';
      /** The archive container, in the storage account `connectionStringEnv` reaches. */
      container: string;
      connectionStringEnv: string;
      /** Caps every tenant's retention (plan, override): older rows are archived, then removed. */
      retentionDays?: number;
      /** Future day partitions kept created (default 7). */
      partitionsAheadDays?: number;
      /** The hourly rollup's hours older than this many days leave (at least 31; unset: kept). */
      hourlyRetentionDays?: number;
    }
  | {
      mode: 'purge-without-archive';
      reason: string;
      retentionDays?: number;
      partitionsAheadDays?: number;
      hourlyRetentionDays?: number;
    };

const archiveDays = { type: 'integer', minimum: 1, maximum: 36500, nullable: true } as const;
const archiveAhead = { type: 'integer', minimum: 1, maximum: 60, nullable: true } as const;
const archiveHourly = { type: 'integer', minimum: 31, maximum: 36500, nullable: true } as const;
const archiveSchema = {
  type: 'object',
  nullable: true,
  required: ['mode'],
  properties: { mode: { type: 'string', enum: ['disabled', 'enabled', 'purge-without-archive'] } },
  oneOf: [
    {
      type: 'object',
      additionalProperties: false,
      required: ['mode', 'reason'],
      properties: { mode: { type: 'string', const: 'disabled' }, reason: { type: 'string', minLength: 10 } },
    },
    {
      type: 'object',
      additionalProperties: false,
      required: ['mode', 'container', 'connectionStringEnv'],
      properties: {
        mode: { type: 'string', const: 'enabled' },
        container: { type: 'string', pattern: '^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$' },
        connectionStringEnv: envVar,
        retentionDays: archiveDays,
        partitionsAheadDays: archiveAhead,
        hourlyRetentionDays: archiveHourly,
      },
    },
    {
      type: 'object',
      additionalProperties: false,
      required: ['mode', 'reason'],
      properties: {
        mode: { type: 'string', const: 'purge-without-archive' },
        reason: { type: 'string', minLength: 10 },
        retentionDays: archiveDays,
        partitionsAheadDays: archiveAhead,
        hourlyRetentionDays: archiveHourly,
      },
    },
  ],
} as const;

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
      properties: {
        urlEnv: envVar,
        plan: { type: 'string', enum: [...SUPABASE_PLANS], nullable: true },
      },
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
            adminPrivateKeyEnv: { ...envVar, nullable: true },
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
            preview: {
              type: 'object',
              nullable: true,
              additionalProperties: false,
              required: ['supabaseUrl', 'anonKeyEnv'],
              properties: { supabaseUrl: url, anonKeyEnv: envVar },
            },
          },
        },
      },
    },
    infra: {
      type: 'object',
      nullable: true,
      additionalProperties: false,
      required: [
        'location',
        'tags',
        'naming',
        'names',
        'vm',
        'network',
        'functions',
        'logAnalytics',
        'budgetAlerts',
      ],
      properties: {
        location: { type: 'string', pattern: '^[a-z][a-z0-9]*$' },
        tags: { type: 'object', required: [], additionalProperties: { type: 'string', maxLength: 256 } },
        naming: {
          type: 'object',
          additionalProperties: false,
          required: ['resourceGroup', 'virtualMachine', 'functionApp', 'storageAccount', 'other'],
          properties: {
            resourceGroup: { type: 'string', format: 'regex' },
            virtualMachine: { type: 'string', format: 'regex' },
            functionApp: { type: 'string', format: 'regex' },
            storageAccount: { type: 'string', format: 'regex' },
            other: { type: 'string', format: 'regex' },
          },
        },
        names: {
          type: 'object',
          additionalProperties: false,
          required: [
            'networkSecurityGroup',
            'publicIp',
            'virtualNetwork',
            'networkInterface',
            'functionStorage',
            'dataStorage',
            'logAnalytics',
            'applicationInsights',
            'functionPlan',
          ],
          properties: {
            networkSecurityGroup: { type: 'string', minLength: 1 },
            publicIp: { type: 'string', minLength: 1 },
            virtualNetwork: { type: 'string', minLength: 1 },
            networkInterface: { type: 'string', minLength: 1 },
            // Azure's rule for storage account names.
            functionStorage: { type: 'string', pattern: '^[a-z0-9]{3,24}$' },
            dataStorage: { type: 'string', pattern: '^[a-z0-9]{3,24}$' },
            logAnalytics: { type: 'string', minLength: 4 },
            applicationInsights: { type: 'string', minLength: 1 },
            functionPlan: { type: 'string', minLength: 1 },
          },
        },
        vm: {
          type: 'object',
          additionalProperties: false,
          required: ['size', 'adminUsername', 'sshPublicKeys', 'osDiskGb', 'dnsLabel'],
          properties: {
            size: { type: 'string', pattern: '^Standard_[A-Za-z0-9_]+$' },
            adminUsername: { type: 'string', pattern: '^[a-z_][a-z0-9_-]{0,31}$' },
            sshPublicKeys: {
              type: 'array',
              minItems: 1,
              items: {
                type: 'string',
                pattern: '^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/=]+( .*)?$',
              },
            },
            osDiskGb: { type: 'integer', minimum: 30, maximum: 4095 },
            dnsLabel: { type: 'string', pattern: '^[a-z][a-z0-9-]{1,61}[a-z0-9]$' },
            image: {
              type: 'object',
              nullable: true,
              additionalProperties: false,
              required: ['publisher', 'offer', 'sku', 'version'],
              properties: {
                publisher: { type: 'string', minLength: 1 },
                offer: { type: 'string', minLength: 1 },
                sku: { type: 'string', minLength: 1 },
                version: { type: 'string', minLength: 1 },
              },
            },
          },
        },
        network: {
          type: 'object',
          additionalProperties: false,
          required: ['adminAddressRanges', 'plainMqtt', 'websocket'],
          properties: {
            adminAddressRanges: {
              type: 'array',
              minItems: 1,
              // An address or a CIDR range; never everything (vm-ports.ts refuses /0 too).
              items: { type: 'string', pattern: '^[0-9a-fA-F:.]+(/[0-9]{1,3})?$' },
            },
            plainMqtt: { type: 'boolean' },
            websocket: { type: 'boolean' },
          },
        },
        reverseProxy: {
          type: 'object',
          nullable: true,
          additionalProperties: false,
          required: ['enabled', 'domain', 'acmeEmail'],
          properties: {
            enabled: { type: 'boolean' },
            domain: { type: 'string', pattern: '^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$' },
            acmeEmail: { type: 'string', pattern: '^[^@\\s]+@[^@\\s]+$' },
          },
        },
        functions: {
          type: 'object',
          additionalProperties: false,
          required: ['instanceMemoryMb', 'maximumInstanceCount'],
          properties: {
            instanceMemoryMb: { type: 'integer', enum: [512, 2048, 4096] },
            maximumInstanceCount: { type: 'integer', minimum: 1, maximum: 1000 },
          },
        },
        logAnalytics: {
          type: 'object',
          additionalProperties: false,
          required: ['retentionDays'],
          properties: { retentionDays: { type: 'integer', minimum: 30, maximum: 730 } },
        },
        budgetAlerts: {
          type: 'object',
          additionalProperties: false,
          required: ['contactEmails', 'actualPercent', 'forecastPercent'],
          properties: {
            contactEmails: {
              type: 'array',
              minItems: 1,
              items: { type: 'string', pattern: '^[^@\\s]+@[^@\\s]+$' },
            },
            actualPercent: { type: 'array', items: { type: 'number', exclusiveMinimum: 0, maximum: 1000 } },
            forecastPercent: { type: 'array', items: { type: 'number', exclusiveMinimum: 0, maximum: 1000 } },
          },
        },
        iotHub: {
          type: 'object',
          nullable: true,
          additionalProperties: false,
          required: ['name'],
          properties: { name: { type: 'string', pattern: '^[A-Za-z0-9-]{3,50}$' } },
        },
      },
    },
    prices: {
      type: 'object',
      nullable: true,
      additionalProperties: false,
      required: [
        'currency',
        'region',
        'readOn',
        'verified',
        'source',
        'vmMonthly',
        'osDisk',
        'publicIp',
        'functions',
        'supabase',
        'blob',
        'bandwidth',
        'logAnalytics',
        'pages',
      ],
      properties: {
        currency: { type: 'string', pattern: '^[A-Z]{3}$' },
        region: { type: 'string', pattern: '^[a-z][a-z0-9]*$' },
        readOn: { type: 'string', format: 'date' },
        verified: { type: 'boolean' },
        source: url,
        vmMonthly: {
          type: 'object',
          required: [],
          additionalProperties: { type: 'number', minimum: 0 },
        },
        osDisk: {
          type: 'object',
          additionalProperties: false,
          required: ['source', 'standardSsd', 'premiumSsd', 'standardSsdPer10kTransactions'],
          properties: {
            source: url,
            standardSsd: diskTiers,
            premiumSsd: diskTiers,
            standardSsdPer10kTransactions: price,
          },
        },
        publicIp: {
          type: 'object',
          additionalProperties: false,
          required: ['source', 'staticStandardHourly'],
          properties: { source: url, staticStandardHourly: price },
        },
        functions: {
          type: 'object',
          additionalProperties: false,
          required: ['source', 'flexConsumption', 'linuxConsumption'],
          properties: {
            source: url,
            flexConsumption: {
              type: 'object',
              additionalProperties: false,
              required: FUNCTIONS_PLAN_RATES,
              properties: {
                ...functionsPlanRates,
                alwaysReadyBaselinePerGbSecond: { ...price, nullable: true },
                alwaysReadyPerGbSecond: { ...price, nullable: true },
              },
            },
            linuxConsumption: {
              type: 'object',
              additionalProperties: false,
              required: FUNCTIONS_PLAN_RATES,
              properties: functionsPlanRates,
            },
          },
        },
        supabase: {
          type: 'object',
          additionalProperties: false,
          required: ['source', 'free', 'pro'],
          properties: {
            source: url,
            free: {
              type: 'object',
              additionalProperties: false,
              required: ['monthly', 'databaseMb', 'egressGb'],
              properties: { monthly: price, databaseMb: price, egressGb: price },
            },
            pro: {
              type: 'object',
              additionalProperties: false,
              required: [
                'monthly',
                'databaseGbIncluded',
                'perDatabaseGbBeyond',
                'egressGbIncluded',
                'perEgressGbBeyond',
              ],
              properties: {
                monthly: price,
                databaseGbIncluded: price,
                perDatabaseGbBeyond: price,
                egressGbIncluded: price,
                perEgressGbBeyond: price,
              },
            },
          },
        },
        blob: {
          type: 'object',
          additionalProperties: false,
          required: [
            'source',
            'hotPerGbMonth',
            'coolPerGbMonth',
            'hotWritePer10k',
            'hotReadPer10k',
            'coolWritePer10k',
            'coolReadPer10k',
          ],
          properties: {
            source: url,
            hotPerGbMonth: price,
            coolPerGbMonth: price,
            hotWritePer10k: price,
            hotReadPer10k: price,
            coolWritePer10k: price,
            coolReadPer10k: price,
          },
        },
        bandwidth: {
          type: 'object',
          additionalProperties: false,
          required: ['source', 'freeGbPerMonth', 'internetEgressPerGb'],
          properties: { source: url, freeGbPerMonth: price, internetEgressPerGb: price },
        },
        logAnalytics: {
          type: 'object',
          additionalProperties: false,
          required: ['source', 'perGb', 'freeGbPerMonth'],
          properties: { source: url, perGb: price, freeGbPerMonth: price },
        },
        pages: {
          type: 'object',
          additionalProperties: false,
          required: ['source', 'monthly'],
          properties: { source: url, monthly: price },
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
    // One of three shapes (ArchiveConfig), which JSONSchemaType cannot express: checked by ajv alike.
    archive: archiveSchema as unknown as JSONSchemaType<EnvironmentConfig>['properties']['archive'],
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
  // What one schema cannot say across sections.
  if (data.database?.plan && !data.prices)
    throw new Error(
      `${source} is invalid:\n  - /database/plan: ${data.database.plan} needs prices.supabase (the plan's database limit): add the prices section or remove database.plan`,
    );
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
