/**
 * The real functions and vm stages behind run.ts's StageRunner (stage-runner.ts): each adapter
 * maps its stage module's own result to the common one and keeps what its rollback needs (the
 * package the run shipped), so a rollback puts back exactly the release before this deploy's.
 */
import type { TokenCredential } from '@azure/core-auth';
import { createAzureCredential } from '../sources/azure-credential.js';
import {
  rollbackFunctions,
  runFunctionsStage,
  type FunctionsStageOptions,
  type FunctionsVersion,
} from './functions-stage.js';
import { rollbackPages, runPagesStage, shortDeployment, type PagesStageOptions } from './pages-stage.js';
import type { StageRunner, StageRunResult } from './stage-runner.js';
import { rollbackVm, runVmStage, type VmStageOptions, type VmStageResult } from './vm-stage.js';

export interface StageRunnerOptions {
  /** Azure environments: the credential the functions transport uses (DefaultAzureCredential). */
  credential?: () => TokenCredential;
  /** Tests: the functions stage's bounds (health wait) and build. */
  functions?: Partial<Omit<FunctionsStageOptions, 'target' | 'root' | 'commitSha' | 'log'>>;
  /** Tests: the vm stage's bounds. */
  vm?: Partial<Pick<VmStageOptions, 'ansiblePlaybook' | 'timeoutMs' | 'checkOnly'>>;
  /** Tests: the pages stage's Cloudflare API base and wrangler's bound. */
  pages?: Partial<Pick<PagesStageOptions, 'apiBaseUrl' | 'timeoutMs' | 'keepWorkDir'>>;
}

const shortVersion = (v: FunctionsVersion | null) =>
  v?.commit ? v.commit.slice(0, 7) : v?.sha256 ? `package ${v.sha256.slice(0, 12)}` : null;

export function functionsStageRunner(options: StageRunnerOptions = {}): StageRunner {
  // The package the run deployed: a rollback refuses unless it is still the newest release.
  let shipped: string | undefined;
  const credential = () => (options.credential ?? (() => createAzureCredential()))();
  return {
    async run({ target, root, head, log }) {
      shipped = undefined;
      const r = await runFunctionsStage({
        ...options.functions,
        target,
        root,
        commitSha: head,
        log,
        ...(target.local || options.functions?.transport ? {} : { credential: credential() }),
      });
      if (r.deployed) shipped = r.package?.sha256;
      const details = [
        `Package: ${r.package ? `\`${r.package.sha256.slice(0, 12)}\` (${r.package.bytes} bytes)` : 'not built'}` +
          `${r.transport ? `, through ${r.transport}` : ''}${r.store ? `; releases kept in ${r.store}` : ''}.`,
        r.health
          ? `Health: ${r.health.url} ${r.health.reached ? 'reported' : '**did not report**'} the new commit` +
            ` after ${(r.health.waitedMs / 1000).toFixed(1)} s (${r.health.polls} polls).`
          : '',
        r.appSettings?.length
          ? `Function App settings: ${r.appSettings.map((s) => s.summary).join('; ')}.`
          : '',
        `Timings: build ${r.timings.buildMs} ms, deploy ${r.timings.deployMs} ms, health ${r.timings.healthMs} ms.`,
        r.error ? `\n\`\`\`text\n${r.error}\n\`\`\`` : '',
      ];
      const result: StageRunResult = {
        // The same package runs already: nothing to do, and that is a success of the stage.
        status: r.status === 'skipped' ? 'success' : r.status,
        summary: r.summary,
        ms: r.ms,
        versions: { before: shortVersion(r.before), after: shortVersion(r.after) },
        changed: r.deployed,
        details: details.filter(Boolean).join('\n\n'),
        raw: { ...r, health: r.health ? { ...r.health } : undefined },
      };
      return result;
    },
    async rollback({ target, root, log }) {
      const r = await rollbackFunctions({
        ...options.functions,
        target,
        root,
        log,
        expectLatestSha256: shipped,
        ...(target.local || options.functions?.transport ? {} : { credential: credential() }),
      });
      return {
        status: r.status,
        summary: r.summary,
        ms: r.ms,
        versions: { before: shortVersion(r.before), after: shortVersion(r.after) },
        changed: r.status === 'success',
        raw: r,
      };
    },
  };
}

function vmResult(r: VmStageResult, rollback: boolean): StageRunResult {
  const recap = Object.entries(r.recap)
    .map(([host, h]) => `${host}: ${JSON.stringify(h)}`)
    .join('; ');
  const details = rollback
    ? undefined
    : [
        `Bridge release: ${r.before?.bridgeRelease ?? 'none'} before, ${r.after?.bridgeRelease ?? 'unknown'} after` +
          ` (kept for rollback: ${r.after?.previousRelease ?? 'none'}). Ansible changed ${r.changed} task(s)${recap ? ` (${recap})` : ''}.`,
        `Timings: ${Object.entries(r.timings)
          .map(([k, v]) => `${k.replace(/Ms$/, '')} ${v} ms`)
          .join(', ')}.`,
        r.checkDiff
          ? `\`--check --diff\` before applying:\n\n\`\`\`text\n${r.checkDiff.trimEnd()}\n\`\`\``
          : '',
        r.error ? `\`\`\`text\n${r.error}\n\`\`\`` : '',
      ]
        .filter(Boolean)
        .join('\n\n');
  return {
    status: r.status,
    summary: r.summary,
    ms: r.ms,
    versions: { before: r.before?.bridgeRelease ?? null, after: r.after?.bridgeRelease ?? null },
    // What a rollback can undo: the bridge release switched. A run that changed only the broker's
    // files or the bridge's settings, or stopped before the switch, has no release of its own to
    // go back from (rollbackVm would step back past the one running before this deploy).
    changed: r.after !== null && r.after.bridgeRelease !== (r.before?.bridgeRelease ?? null),
    details,
    raw: { ...r, output: undefined },
  };
}

export function vmStageRunner(options: StageRunnerOptions = {}): StageRunner {
  return {
    run: async ({ target, root, head, log }) => {
      const result = vmResult(await runVmStage({ ...options.vm, target, root, commit: head, log }), false);
      // A check applied nothing, so there is nothing a rollback could undo.
      return options.vm?.checkOnly ? { ...result, changed: false } : result;
    },
    rollback: async ({ target, root, log }) =>
      vmResult(await rollbackVm({ ...options.vm, target, root, log }), true),
  };
}

export function pagesStageRunner(options: StageRunnerOptions = {}): StageRunner {
  // What this run deployed and what production served before: the rollback goes from one to the other.
  let shipped: string | undefined;
  let previous: string | undefined;
  return {
    async run({ target, root, head, log }) {
      shipped = previous = undefined;
      const r = await runPagesStage({ ...options.pages, target, root, commitSha: head, log });
      previous = r.before?.id;
      if (r.after) shipped = r.after.id;
      const details = [
        r.project
          ? `Project \`${r.project}\`, branch \`${r.branch}\`: ${shortDeployment(r.before) ?? 'no deployment'} before, ` +
            `${r.after ? `${shortDeployment(r.after)} at ${r.after.url}` : 'no new deployment'} after.`
          : '',
        r.files.length ? `Files: ${r.files.length} (${r.files.join(', ')}).` : '',
        r.status !== 'skipped'
          ? `Timings: build ${r.timings.buildMs} ms, wrangler ${r.timings.deployMs} ms.`
          : '',
        r.error ? `\`\`\`text\n${r.error}\n\`\`\`` : '',
      ];
      return {
        status: r.status,
        summary: r.summary,
        ms: r.ms,
        versions: { before: shortDeployment(r.before), after: shortDeployment(r.after) },
        // A deployment made is a change production may serve, even when its checks then failed.
        changed: r.after !== null,
        details: details.filter(Boolean).join('\n\n'),
        raw: { ...r, output: undefined },
      };
    },
    async rollback({ target, log }) {
      const r = await rollbackPages({
        target,
        log,
        apiBaseUrl: options.pages?.apiBaseUrl,
        shipped,
        previous,
      });
      return {
        status: r.status,
        summary: r.summary,
        ms: r.ms,
        versions: { before: shortDeployment(r.before), after: shortDeployment(r.after) },
        changed: r.status === 'success',
        raw: r,
      };
    },
  };
}

export function defaultStageRunners(
  options: StageRunnerOptions = {},
): Partial<Record<'functions' | 'vm' | 'pages', StageRunner>> {
  return {
    functions: functionsStageRunner(options),
    vm: vmStageRunner(options),
    pages: pagesStageRunner(options),
  };
}
