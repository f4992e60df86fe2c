/**
 * What a deploy can change, and which repository paths change it: one row per deployable, keyed by
 * the stage that deploys it (stages.ts). The plan (plan.ts) runs a deployable's stage when a
 * changed path matches its `paths` (minus NOT_DEPLOYED), or is a source file bundled from one of
 * its `bundles` entries (esbuild's metafile, so an ops module the Functions probe imports counts,
 * and one it does not import does not), or when package-lock.json changed a package those bundles
 * import (plan-lockfile.ts).
 *
 * To add a deployable (the dashboard's Pages step, the VM's base roles): add its stage to
 * STAGES, then a row here; the plan, its report and docs/deploy.md follow.
 */
import type { Stage } from './stages.js';

/** The stages that deploy something; the others (plan, preflight, smoke, rollback) act around them. */
export const DEPLOY_STAGES = ['database', 'functions', 'vm', 'pages'] as const satisfies readonly Stage[];
export type DeployStage = (typeof DEPLOY_STAGES)[number];

export interface Deployable {
  stage: DeployStage;
  /** What the stage deploys, for reports. */
  what: string;
  /** Globs (`*` within a segment, `**` across) of repository paths that change it. */
  paths: readonly string[];
  /** Bundle entry points (repository paths): every repository file esbuild pulls in counts. */
  bundles: readonly string[];
  /**
   * Settings (dotted paths) of the deployed environment's YAML (runbook/environments/<env>.yaml)
   * the stage deploys from: a change of one deploys it (plan-settings.ts), whatever else changed.
   */
  settings: readonly string[];
  /** What the rollback stage puts back when the smoke test fails; false: it stays (forward only). */
  rolledBack: string | false;
}

export const DEPLOYABLES: readonly Deployable[] = [
  {
    stage: 'database',
    what: 'database migrations (supabase db push, forward only)',
    // supabase/local/ is the sandbox's stand-in for what Supabase provides: never deployed.
    paths: ['supabase/migrations/**'],
    bundles: [],
    settings: [],
    rolledBack: false,
  },
  {
    stage: 'functions',
    what: 'the Azure Functions app (one zip package)',
    // host.json, package.json and the build itself, besides the bundled sources.
    paths: ['functions/**'],
    bundles: ['functions/src/index.ts'],
    // Where it deploys, and the app settings it writes (function-app-settings.ts): a change of the
    // archive's settings alone redeploys no package (unchanged) but writes the settings.
    settings: [
      'azure.subscriptionId',
      'azure.resourceGroup',
      'azure.functionApp',
      'deploy.functions',
      'archive',
    ],
    rolledBack: 'the previous Functions package',
  },
  {
    stage: 'vm',
    what: 'the broker configuration and the bridge release on the VM (Ansible)',
    // broker/ renders the Ansible role's templates and the users and ACL the deploy passes.
    paths: ['ansible/**', 'broker/**', 'bridge/**'],
    bundles: ['bridge/main.ts'],
    // The login, the system roles' variables (vm-stage.ts vmSystemVars: users, ufw's ports, the
    // reverse proxy) and the bridge's ingest URL.
    settings: [
      'ssh',
      'deploy.vm',
      'ingest.healthUrl',
      'infra.vm.adminUsername',
      'infra.network',
      'infra.reverseProxy',
    ],
    rolledBack: 'the previous bridge release',
  },
  {
    stage: 'pages',
    what: 'the dashboard on Cloudflare Pages (wrangler pages deploy)',
    // Paths only: every source the bundle uses is under dashboard/ (ops/ and common/ are fenced
    // off from it), and plan-bundles.ts's esbuild reader cannot read this entry (its CSS imports
    // need an output path). So a package-lock.json change alone does not redeploy the dashboard.
    // dashboard/test/ is not deployed.
    paths: [
      'dashboard/src/**',
      'dashboard/public/**',
      'dashboard/index.html',
      'dashboard/vite.config.ts',
      'dashboard/tsconfig.json',
    ],
    bundles: [],
    // The project, its branch and the Supabase URL built into the dashboard.
    settings: ['deploy.pages'],
    rolledBack: 'the previous Pages production deployment',
  },
];

/**
 * Under a deployable's paths, yet never deployed unless a bundle pulls them in: tests and their
 * support (named as eslint.config.js's fence names them), benches, documentation.
 */
export const NOT_DEPLOYED: readonly string[] = [
  '**/*.test.ts',
  '**/test-*',
  '**/*-test-*',
  '**/*fixture*',
  '**/*fixture*/**',
  '**/*harness*',
  '**/*standin*',
  '**/bench*',
  '**/*.md',
];

/** `**` matches any number of segments (none included), `*` and `?` stay within one. */
export function globToRegExp(glob: string): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      i++;
      if (glob[i + 1] === '/') {
        i++;
        source += '(?:.*/)?';
      } else source += '.*';
    } else if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else source += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

export function matchesAny(path: string, globs: readonly string[]): boolean {
  return globs.some((g) => globToRegExp(g).test(path));
}
