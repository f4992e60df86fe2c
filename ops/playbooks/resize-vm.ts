/**
 * resize-vm: resize the broker VM to --size (the monthly capacity check recommends Standard_B2s)
 * through Resource Manager (@azure/arm-compute). It reads the VM's size and power state, checks
 * that Azure offers the size for this VM and that it differs, says the expected downtime, the
 * monthly cost change (prices.vmMonthly of the environment YAML) and the capacity check's data as
 * the reason. With --apply it deallocates the VM, sets hardwareProfile.vmSize and starts it, each
 * step timed, then runs the deploy's smoke test (the go-live checks, deploy/smoke.ts). Last, the
 * line of the environment YAML to change (infra.vm.size), or the next `ops provision` resizes back.
 *
 * It never leaves the broker deallocated: once it has deallocated the VM, the start step always
 * runs; when the resize failed the VM starts on its old size, and when a start on the new size
 * fails (no capacity for it) the size goes back and the VM starts on the old one. Each says so.
 */
import { readFile } from 'node:fs/promises';
import { relative } from 'node:path';
import type { VirtualMachineSize } from '@azure/arm-compute';
import { parseDocument } from 'yaml';
import { Thresholds } from '../checks/registry.js';
import { resizeCommand, VM_CAPACITY_THRESHOLDS, vmCapacityCheck } from '../checks/vm-capacity.js';
import { loadRunbookConfig } from '../config/runbook-config.js';
import { SMOKE_CADENCE, SMOKE_DEFAULTS, type HealthBefore } from '../deploy/smoke.js';
import { runChecks } from '../engine/run-checks.js';
import { createVmMetricsSource } from '../sources/azure-metrics.js';
import type { Playbook, PlaybookContext, PlaybookStep, StepResult } from './playbook.js';

const CAPACITY_CHECK = 'monthly.vm-capacity';

/**
 * The downtime quoted until this environment has measured one (ops.audit_log, the start step's
 * row): an assumption for a small Linux VM, not a measurement (no Azure is reachable from where
 * this was written). Azure documents no duration for these operations.
 */
export const DOWNTIME_ESTIMATE_S = { deallocate: 90, resize: 30, start: 90, boot: 30 };

/** What the vm step read. */
interface VmState {
  name: string;
  size: string;
  location: string;
  /** The PowerState/ code's value: running, deallocated, stopped, starting, ... */
  power: string;
}

/** Why the act steps do not run: `skipped` (nothing to do) or `fail` (refused). */
interface Refusal {
  status: 'skipped' | 'fail';
  reason: string;
}

/** Facts the steps leave for the later ones. */
const F = {
  vm: 'resize.vm',
  refusal: 'resize.refusal',
  /** The size step found --size offered and different: the act steps may run. */
  target: 'resize.target',
  health: 'resize.health-before',
  /** This run deallocated the VM, or tried to, or found it deallocated: the start step runs. */
  mustStart: 'resize.must-start',
  /** The VM is deallocated (by this run or before it): it may be resized. */
  deallocated: 'resize.deallocated',
  downSince: 'resize.down-since',
  durations: 'resize.durations',
  resized: 'resize.resized',
  running: 'resize.running',
} as const;

const NOT_READ: StepResult = { status: 'skipped', lines: ['the VM was not read (step vm)'] };

/** How often a long-running operation is polled when Azure sends no Retry-After. */
const poll = (ctx: PlaybookContext) => ({ updateIntervalInMs: ctx.restartWait.pollMs });
const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const duration = (ms: number) => (ms < 60_000 ? seconds(ms) : `${(ms / 60_000).toFixed(1)} min`);
const message = (error: unknown) => {
  const e = error as { code?: string; message?: string };
  const text = e.message ?? String(error);
  return e.code && !text.includes(e.code) ? `${e.code}: ${text}` : text;
};

function want(ctx: PlaybookContext): string {
  if (!ctx.options.size) throw new Error('resize-vm needs --size (e.g. --size Standard_B2s)');
  return ctx.options.size;
}

const vmOf = (ctx: PlaybookContext) => ctx.facts.get(F.vm) as VmState | undefined;

function describeSize(s: VirtualMachineSize | undefined, name: string): string {
  if (!s) return name;
  return `${name} (${s.numberOfCores ?? '?'} vCPU, ${s.memoryInMB !== undefined ? `${+(s.memoryInMB / 1024).toFixed(2)} GiB` : '? GiB'})`;
}

const vm: PlaybookStep = {
  id: 'vm',
  title: "the VM's size and power state (Resource Manager)",
  kind: 'diagnose',
  async run(ctx) {
    const { compute, config } = ctx.sources.azure();
    const got = await compute.virtualMachines.get(config.resourceGroup, config.vmName);
    const view = await compute.virtualMachines.instanceView(config.resourceGroup, config.vmName);
    const size = got.hardwareProfile?.vmSize;
    if (!size) throw new Error(`${config.vmName} reports no size (hardwareProfile.vmSize)`);
    const code = view.statuses?.map((s) => s.code ?? '').find((c) => c.startsWith('PowerState/'));
    const state: VmState = {
      name: got.name ?? config.vmName,
      size,
      location: got.location,
      power: code ? code.slice('PowerState/'.length) : 'unknown',
    };
    ctx.facts.set(F.vm, state);
    return {
      status: state.power === 'running' ? 'ok' : 'warn',
      lines: [
        `${state.name} in ${config.resourceGroup} (${state.location}): ${size}, ${state.power}` +
          (state.power === 'running' ? '' : ' - the broker is not running'),
      ],
    };
  },
};

const sizeStep: PlaybookStep = {
  id: 'size',
  title: 'the size is offered for this VM (list available sizes) and differs from its own',
  kind: 'diagnose',
  async run(ctx) {
    const size = want(ctx);
    const state = vmOf(ctx);
    if (!state) return NOT_READ;
    const { compute, config } = ctx.sources.azure();
    const offered: VirtualMachineSize[] = [];
    for await (const s of compute.virtualMachines.listAvailableSizes(config.resourceGroup, config.vmName))
      offered.push(s);
    const current = offered.find((s) => s.name && same(s.name, state.size));
    const target = offered.find((s) => s.name && same(s.name, size));
    if (same(size, state.size)) {
      ctx.facts.set(F.refusal, {
        status: 'skipped',
        reason: `${state.name} is already ${state.size}: nothing to do`,
      } satisfies Refusal);
      return { status: 'ok', lines: [`${state.name} is already ${state.size}: nothing to resize`] };
    }
    if (!target) {
      const family = size.replace(/^(Standard_[A-Za-z]+).*$/, '$1');
      const alike = offered.map((s) => s.name ?? '').filter((n) => n.startsWith(family));
      ctx.facts.set(F.refusal, {
        status: 'fail',
        reason: `${size} is not offered for ${state.name}`,
      } satisfies Refusal);
      return {
        status: 'fail',
        lines: [
          `${size} is not offered for ${state.name} (${offered.length} sizes are; ${family}: ${alike.join(', ') || 'none'})`,
          'a running VM is offered only the sizes of its hardware cluster; deallocated, every size of its ' +
            'region (Azure: "Resize a virtual machine"): check the size and the region, or deallocate it first',
        ],
      };
    }
    if (!['running', 'deallocated', 'stopped'].includes(state.power)) {
      ctx.facts.set(F.refusal, {
        status: 'fail',
        reason: `${state.name} is ${state.power}: run again once it is running or deallocated`,
      } satisfies Refusal);
      return {
        status: 'fail',
        lines: [`${state.name} is ${state.power}: not resized while it changes state`],
      };
    }
    ctx.facts.set(F.target, target);
    return {
      status: 'ok',
      lines: [
        `${describeSize(target, target.name!)} is offered for ${state.name}, now ${describeSize(current, state.size)}`,
      ],
    };
  },
};

const capacity: PlaybookStep = {
  id: 'capacity',
  title: `the capacity check's data (${CAPACITY_CHECK}): the reason to resize`,
  kind: 'diagnose',
  async run(ctx) {
    const size = want(ctx);
    const azure = ctx.sources.azure();
    const spec = loadRunbookConfig().checks[CAPACITY_CHECK];
    const thresholds = new Thresholds({
      ...spec?.thresholds,
      ...ctx.target.config.thresholds[CAPACITY_CHECK],
    }).pick(...VM_CAPACITY_THRESHOLDS);
    const check = vmCapacityCheck(
      {
        metrics: createVmMetricsSource(azure, {
          subscriptionId: azure.config.subscriptionId,
          resourceGroup: azure.config.resourceGroup,
          vmName: azure.config.vmName,
        }),
      },
      { ...thresholds, upgradeTo: size, env: ctx.target.name },
    );
    const [r] = await runChecks([check], { now: ctx.now });
    if (!r || r.status === 'error')
      return {
        status: 'warn',
        lines: [`no capacity data: ${r?.summary ?? 'the check did not run'}`],
      };
    // The check's own words: its recommendation and the CPU, credit and memory figures behind it.
    const lines = r.evidence.filter((e) => /^(Recommendation|CPU|Available memory):?/.test(e));
    const called = r.metrics.recommend_upgrade === 1;
    if (!called) lines.push('the capacity data crosses no threshold: it does not call for a larger size');
    return { status: called ? 'ok' : 'warn', lines };
  },
};

async function measuredDowntime(
  ctx: PlaybookContext,
): Promise<{ at: Date; downtimeMs: number; durationsMs: Record<string, number> } | string> {
  try {
    const res = await ctx.sources.db().query<{
      at: Date;
      detail: { downtimeMs: number; durationsMs: Record<string, number> };
    }>(
      `select at, detail from ops.audit_log
        where action = 'vm.start' and detail->>'env' = $1 and detail->>'status' = 'ok'
          and detail->>'resized' = 'true' and detail ? 'downtimeMs'
        order by at desc limit 1`,
      [ctx.target.name],
    );
    const row = res.rows[0];
    return row ? { at: row.at, ...row.detail } : 'no resize measured on this environment yet';
  } catch (error) {
    return `ops.audit_log not read: ${message(error)}`;
  }
}

const impact: PlaybookStep = {
  id: 'impact',
  title: 'expected downtime and monthly cost change',
  kind: 'diagnose',
  async run(ctx) {
    const size = want(ctx);
    const state = vmOf(ctx);
    if (!state) return NOT_READ;
    const refusal = ctx.facts.get(F.refusal) as Refusal | undefined;
    if (refusal) return { status: 'skipped', lines: [refusal.reason] };
    const lines: string[] = [];
    let status: StepResult['status'] = 'ok';

    const measured = await measuredDowntime(ctx);
    if (typeof measured === 'string') {
      const e = DOWNTIME_ESTIMATE_S;
      const total = (e.deallocate + e.resize + e.start + e.boot) * 1000;
      lines.push(
        `downtime: about ${duration(total)}, an estimate (${measured}): deallocate ${e.deallocate} s + ` +
          `resize ${e.resize} s + start ${e.start} s + boot ${e.boot} s, assumed for a small Linux VM, not ` +
          'measured; an applied resize records its real times in ops.audit_log and later runs quote them',
      );
    } else {
      const d = measured.durationsMs;
      lines.push(
        `downtime: about ${duration(measured.downtimeMs)}, as measured on this environment's last resize ` +
          `(${measured.at.toISOString()}: deallocate ${seconds(d.deallocate ?? 0)}, resize ${seconds(d.resize ?? 0)}, ` +
          `start ${seconds(d.start ?? 0)}; ops.audit_log), plus the OS and the broker booting`,
      );
    }
    lines.push(
      `devices are disconnected meanwhile; then the go-live smoke checks the platform (${SMOKE_CADENCE} checks, ` +
        `up to ${SMOKE_DEFAULTS.attempts} attempts ${SMOKE_DEFAULTS.intervalMs / 1000} s apart)`,
    );

    const prices = ctx.target.config.prices;
    const file = displayPath(ctx.environmentFile);
    if (!prices) {
      status = 'warn';
      lines.push(`cost: ${file} has no prices: the monthly change is unknown (add prices.vmMonthly)`);
    } else {
      const price = (name: string) =>
        Object.entries(prices.vmMonthly).find(([k]) => same(k, name))?.[1] as number | undefined;
      const [from, to] = [price(state.size), price(size)];
      const missing = [from === undefined ? state.size : '', to === undefined ? size : ''].filter(Boolean);
      if (missing.length) {
        status = 'warn';
        lines.push(
          `cost: no price for ${missing.join(' and ')} in prices.vmMonthly of ${file}: the monthly change is ` +
            `unknown, not guessed (add it from ${prices.source})`,
        );
      } else {
        const delta = to! - from!;
        const c = prices.currency;
        lines.push(
          `cost: ${state.size} ${from!.toFixed(2)} ${c}/month -> ${size} ${to!.toFixed(2)} ${c}/month: ` +
            `${delta >= 0 ? '+' : '-'}${Math.abs(delta).toFixed(2)} ${c}/month (pay-as-you-go list prices read ` +
            `${prices.readOn}, ${prices.source})`,
        );
        const budget = ctx.target.config.budget?.monthlyUsd;
        if (budget !== undefined && c === 'USD')
          lines.push(`the monthly budget is ${budget.toFixed(2)} USD (budget.monthlyUsd)`);
      }
    }
    return { status, lines };
  },
};

const healthBefore: PlaybookStep = {
  id: 'health-before',
  title: 'the go-live checks before the VM goes down (what fails already is not held against the resize)',
  kind: 'diagnose',
  async run(ctx) {
    const refusal = ctx.facts.get(F.refusal) as Refusal | undefined;
    if (refusal || !ctx.facts.get(F.target))
      return { status: 'skipped', lines: [refusal?.reason ?? 'nothing to resize'] };
    if (ctx.options.dryRun)
      return { status: 'skipped', lines: [`runs with --apply: one run of the ${SMOKE_CADENCE} checks`] };
    ctx.progress(`resize-vm: the ${SMOKE_CADENCE} checks before the resize`);
    const once = await ctx.sources.smoke({ attempts: 1 });
    const last = once.attempts.at(-1)!;
    const health: HealthBefore = { verdict: once.verdict, failing: last.failing, report: last.report };
    ctx.facts.set(F.health, health);
    return {
      status: health.failing.length ? 'warn' : 'ok',
      lines: [
        `${SMOKE_CADENCE} before: ${health.verdict}` +
          (health.failing.length ? ` (${health.failing.join(', ')} failing already)` : ''),
        `report: ${last.report}`,
      ],
    };
  },
};

const deallocate: PlaybookStep = {
  id: 'deallocate',
  title: 'deallocate the VM (the broker and the bridge stop)',
  kind: 'act',
  async run(ctx) {
    const size = want(ctx);
    const state = vmOf(ctx);
    if (!state) return NOT_READ;
    const refusal = ctx.facts.get(F.refusal) as Refusal | undefined;
    if (refusal)
      return refusal.status === 'fail'
        ? { status: 'fail', lines: [`refused: ${refusal.reason}`], summary: `refused: ${refusal.reason}` }
        : { status: 'skipped', lines: [refusal.reason] };
    if (!ctx.facts.get(F.target))
      return { status: 'skipped', lines: ['the size was not checked (step size): nothing done'] };
    if (state.power === 'deallocated') {
      ctx.facts.set(F.deallocated, true);
      if (!ctx.options.dryRun) ctx.facts.set(F.mustStart, true);
      return { status: 'skipped', lines: [`${state.name} is deallocated already`] };
    }
    if (ctx.options.dryRun)
      return {
        status: 'dry-run',
        lines: [`would deallocate ${state.name}, set its size to ${size} and start it again`],
        summary: `would resize ${state.name} from ${state.size} to ${size}`,
      };
    const { compute, config } = ctx.sources.azure();
    const started = ctx.now();
    // From here on the start step runs, whatever happens: the broker must not stay down.
    ctx.facts.set(F.mustStart, true);
    ctx.facts.set(F.downSince, started);
    ctx.progress(`resize-vm: deallocating ${state.name} (this takes minutes)`);
    try {
      await compute.virtualMachines.beginDeallocateAndWait(config.resourceGroup, config.vmName, poll(ctx));
    } catch (error) {
      const ms = ctx.now() - started;
      return {
        status: 'fail',
        lines: [
          `deallocate failed after ${seconds(ms)}: ${message(error)}`,
          'the start step starts it again',
        ],
        summary: `deallocate of ${state.name} failed`,
        audit: {
          action: 'vm.deallocate',
          target: state.name,
          detail: { size: state.size, durationMs: ms, error: message(error) },
        },
      };
    }
    const ms = ctx.now() - started;
    ctx.facts.set(F.deallocated, true);
    ctx.facts.set(F.durations, { deallocate: ms });
    return {
      status: 'ok',
      lines: [`deallocated ${state.name} in ${seconds(ms)}`],
      summary: `deallocated ${state.name}`,
      audit: { action: 'vm.deallocate', target: state.name, detail: { size: state.size, durationMs: ms } },
    };
  },
};

const resize: PlaybookStep = {
  id: 'resize',
  title: 'set hardwareProfile.vmSize to --size',
  kind: 'act',
  async run(ctx) {
    const size = want(ctx);
    const state = vmOf(ctx);
    if (!state) return NOT_READ;
    if (!ctx.facts.get(F.target)) return { status: 'skipped', lines: ['nothing to resize'] };
    if (ctx.options.dryRun)
      return {
        status: 'dry-run',
        lines: [`would set hardwareProfile.vmSize: ${state.size} -> ${size} (PATCH, long-running)`],
      };
    if (ctx.facts.get(F.deallocated) !== true)
      return { status: 'skipped', lines: ['the VM is not deallocated: not resized'] };
    const { compute, config } = ctx.sources.azure();
    const started = ctx.now();
    ctx.progress(`resize-vm: setting the size of ${state.name} to ${size}`);
    try {
      const after = await compute.virtualMachines.beginUpdateAndWait(
        config.resourceGroup,
        config.vmName,
        { hardwareProfile: { vmSize: size } },
        poll(ctx),
      );
      const now = after.hardwareProfile?.vmSize ?? 'unknown';
      if (!same(now, size)) throw new Error(`the update ended with the size ${now}`);
    } catch (error) {
      const ms = ctx.now() - started;
      return {
        status: 'fail',
        lines: [
          `resize to ${size} failed after ${seconds(ms)}: ${message(error)}`,
          `${state.name} stays ${state.size}: the start step starts it on that size`,
        ],
        summary: `resize to ${size} failed`,
        audit: {
          action: 'vm.resize',
          target: state.name,
          detail: { from: state.size, to: size, durationMs: ms, error: message(error) },
        },
      };
    }
    const ms = ctx.now() - started;
    ctx.facts.set(F.resized, true);
    ctx.facts.set(F.durations, { ...(ctx.facts.get(F.durations) as object), resize: ms });
    return {
      status: 'ok',
      lines: [`${state.name}: ${state.size} -> ${size} in ${seconds(ms)}`],
      summary: `resized to ${size}`,
      audit: {
        action: 'vm.resize',
        target: state.name,
        detail: { from: state.size, to: size, durationMs: ms },
      },
    };
  },
};

const start: PlaybookStep = {
  id: 'start',
  title: 'start the VM (on its old size again when the resize failed)',
  kind: 'act',
  async run(ctx) {
    const size = want(ctx);
    const state = vmOf(ctx);
    if (!state) return NOT_READ;
    if (ctx.options.dryRun && ctx.facts.get(F.target))
      return {
        status: 'dry-run',
        lines: [`would start ${state.name} on ${size} (on ${state.size} again should the resize fail)`],
      };
    if (ctx.facts.get(F.mustStart) !== true)
      return { status: 'skipped', lines: ['the VM was not stopped by this run'] };
    const { compute, config } = ctx.sources.azure();
    const [rg, name] = [config.resourceGroup, config.vmName];
    const resized = ctx.facts.get(F.resized) === true;
    const lines: string[] = [];
    if (state.power === 'deallocated')
      lines.push(`${state.name} was deallocated before this run: started, the broker must run`);
    const started = ctx.now();
    ctx.progress(`resize-vm: starting ${state.name}`);
    let runningOn = resized ? size : state.size;
    let error: string | undefined;
    try {
      await compute.virtualMachines.beginStartAndWait(rg, name, poll(ctx));
    } catch (e) {
      error = message(e);
      lines.push(`start on ${runningOn} failed after ${seconds(ctx.now() - started)}: ${error}`);
    }
    let reverted = false;
    if (error && resized) {
      // Most likely no capacity for the new size: the old one is the VM's known-good size.
      ctx.progress(`resize-vm: back to ${state.size}, then starting ${state.name}`);
      try {
        await compute.virtualMachines.beginUpdateAndWait(
          rg,
          name,
          { hardwareProfile: { vmSize: state.size } },
          poll(ctx),
        );
        reverted = true;
        ctx.facts.set(F.resized, false);
        runningOn = state.size;
        await compute.virtualMachines.beginStartAndWait(rg, name, poll(ctx));
        error = undefined;
        lines.push(`set back to ${state.size} and started on it`);
      } catch (e) {
        error = message(e);
        lines.push(`${reverted ? 'start' : `resize back to ${state.size}`} failed: ${error}`);
      }
    }
    const ms = ctx.now() - started;
    const downSince = ctx.facts.get(F.downSince) as number | undefined;
    const downtimeMs = downSince === undefined ? undefined : ctx.now() - downSince;
    if (error) {
      ctx.facts.set(F.running, false);
      lines.unshift(
        `${state.name} is NOT running: the broker is down. Start it by hand: ` +
          `az vm start --resource-group ${rg} --name ${name}`,
      );
      return {
        status: 'fail',
        lines,
        summary: `START FAILED: ${state.name} is not running`,
        audit: {
          action: 'vm.start',
          target: state.name,
          detail: { size: runningOn, error, resized, reverted },
        },
      };
    }
    ctx.facts.set(F.running, true);
    const onOld = !same(runningOn, size);
    lines.unshift(
      `started ${state.name} on ${runningOn} in ${seconds(ms)}` +
        (onOld ? `, its old size: the resize to ${size} did not happen` : '') +
        (downtimeMs === undefined ? '' : `; the broker was down ${duration(downtimeMs)}`),
    );
    return {
      status: 'ok',
      lines,
      summary: onOld ? `started again on the old size ${runningOn}` : `started on ${runningOn}`,
      audit: {
        action: 'vm.start',
        target: state.name,
        detail: {
          size: runningOn,
          resized: !onOld,
          reverted,
          durationsMs: { ...(ctx.facts.get(F.durations) as object), start: ms },
          ...(downtimeMs === undefined ? {} : { downtimeMs }),
        },
      },
    };
  },
};

const smoke: PlaybookStep = {
  id: 'smoke',
  title: `the go-live checks after the start (the deploy's smoke test, ${SMOKE_CADENCE} cadence)`,
  kind: 'act',
  async run(ctx) {
    if (ctx.options.dryRun && ctx.facts.get(F.target))
      return {
        status: 'dry-run',
        lines: [
          `would run the ${SMOKE_CADENCE} checks (up to ${SMOKE_DEFAULTS.attempts} attempts), what fails ` +
            'before the resize not held against it',
        ],
        summary: 'would run the go-live smoke',
      };
    if (ctx.facts.get(F.running) !== true)
      return { status: 'skipped', lines: ['the VM was not started by this run'] };
    ctx.progress(`resize-vm: the ${SMOKE_CADENCE} checks after the start`);
    const before = ctx.facts.get(F.health) as HealthBefore | undefined;
    const r = await ctx.sources.smoke({ before });
    const last = r.attempts.at(-1);
    const ok = r.status === 'success';
    const lines = [
      `${r.summary}`,
      ...r.attempts.map(
        (a) =>
          `attempt ${a.attempt}: ${a.verdict} in ${seconds(a.ms)}${a.failing.length ? ` (${a.failing.join(', ')})` : ''}`,
      ),
      ...(last ? [`report: ${last.report}`] : []),
    ];
    const state = vmOf(ctx);
    if (!state) return NOT_READ;
    if (!ok && ctx.facts.get(F.resized) === true)
      lines.push(`to go back: \`${resizeCommand(ctx.target.name, state.size)} --apply\``);
    return {
      status: ok ? 'ok' : 'fail',
      lines,
      summary: ok ? `go-live smoke ${r.verdict}` : `go-live smoke failed (${r.summary})`,
    };
  },
};

const yamlLine: PlaybookStep = {
  id: 'yaml',
  title: 'infra.vm.size in the environment YAML (else the next `ops provision` resizes the VM back)',
  kind: 'diagnose',
  async run(ctx) {
    const size = want(ctx);
    const refusal = ctx.facts.get(F.refusal) as Refusal | undefined;
    if (refusal?.status === 'fail') return { status: 'skipped', lines: [refusal.reason] };
    // Already on the size (resized by hand, say) counts too: the YAML must say so.
    const onSize = refusal !== undefined || ctx.facts.get(F.resized) === true;
    if (!onSize && !(ctx.options.dryRun && ctx.facts.get(F.target)))
      return { status: 'skipped', lines: ['the VM was not resized: nothing to change'] };
    const infra = ctx.target.config.infra;
    const file = displayPath(ctx.environmentFile);
    if (!infra)
      return {
        status: 'ok',
        lines: [`${file} has no infra section (ops provision does not manage this VM): nothing to change`],
      };
    if (same(infra.vm.size, size))
      return { status: 'ok', lines: [`${file}: infra.vm.size is ${size} already`] };
    const text = await readFile(ctx.environmentFile, 'utf8');
    const range = (
      parseDocument(text).getIn(['infra', 'vm', 'size'], true) as { range?: number[] } | undefined
    )?.range;
    if (!range) return { status: 'warn', lines: [`${file}: set infra.vm.size to ${size}`] };
    const [from, to] = [range[0]!, range[1]!];
    const lineStart = text.lastIndexOf('\n', from - 1) + 1;
    const lineEnd = text.indexOf('\n', from);
    const line = text.slice(lineStart, lineEnd === -1 ? undefined : lineEnd);
    const changed = line.slice(0, from - lineStart) + size + line.slice(to - lineStart);
    const number = text.slice(0, from).split('\n').length;
    return {
      status: 'warn',
      lines: [
        `${onSize ? 'now change' : 'after --apply, change'} ${file} line ${number}, or the next ` +
          '`ops provision` resizes the VM back:',
        `- ${line.trim()}`,
        `+ ${changed.trim()}`,
      ],
    };
  },
};

function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') ? rel : path;
}

export const resizeVm: Playbook = {
  name: 'resize-vm',
  title: 'Resize the broker VM: size offered, downtime and cost, deallocate, resize, start, go-live smoke',
  steps: [vm, sizeStep, capacity, impact, healthBefore, deallocate, resize, start, smoke, yamlLine],
  accepts: ['size'],
  requires: ['size'],
  needs: ['database', 'azure', 'smoke'],
};
