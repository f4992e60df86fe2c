/**
 * The words of incident issues: title, body (with the hidden marker) and comments. Every run
 * rewrites the body with the latest result, except its "When it opened" section: the evidence of
 * the run that opened the issue, written once and carried over verbatim, so a closed issue still
 * shows why it was opened.
 */
import type { CheckStatus } from '../engine/check.js';
import { encodeMarker, type IncidentMarker, type StateMarker } from './marker.js';

const MAX_EVIDENCE_LINES = 30;
const MAX_LINE = 400;

export interface TextContext {
  /** The `ops-playbook.yml` workflow page (workflow_dispatch), or null when the repository is unknown. */
  playbookWorkflowUrl: string | null;
}

export function incidentTitle(
  marker: Pick<IncidentMarker, 'env' | 'checkTitle' | 'fingerprint' | 'checkId'>,
): string {
  const which = marker.fingerprint === marker.checkId ? '' : ` [${marker.fingerprint}]`;
  return `Incident (${marker.env}): ${marker.checkTitle}${which}`;
}

/** The run that opened an incident, as its frozen section shows it. */
export interface OpeningRun {
  at: string;
  status: CheckStatus;
  summary: string;
  evidence: readonly string[];
}

const OPENING_START = '<!-- ops:opening -->';
const OPENING_END = '<!-- /ops:opening -->';

/** The "When it opened" section, delimited so later runs can find it and carry it over unchanged. */
export function openingSection(run: OpeningRun): string {
  return [
    OPENING_START,
    `### When it opened (${run.at})`,
    '',
    `**${run.status.toUpperCase()}**: ${inert(oneLine(run.summary))}`,
    '',
    ...evidenceLines(run.evidence),
    OPENING_END,
  ].join('\n');
}

/**
 * The opening section of an issue body as it was written, or a note when there is none (an issue
 * opened before the section existed, or a person removed it).
 */
export function keptOpeningSection(body: string | null | undefined): string {
  const start = body?.indexOf(OPENING_START) ?? -1;
  const end = start < 0 ? -1 : body!.indexOf(OPENING_END, start);
  if (start >= 0 && end > start) return body!.slice(start, end + OPENING_END.length);
  return [
    OPENING_START,
    '### When it opened',
    '',
    '_Not recorded: this issue was opened before the ops engine kept the opening evidence, or its section was removed._',
    OPENING_END,
  ].join('\n');
}

/** `opening` is the section from openingSection() or keptOpeningSection(). */
export function incidentBody(
  marker: IncidentMarker,
  evidence: readonly string[],
  opening: string,
  ctx: TextContext,
): string {
  const lines = [
    `**${marker.lastStatus.toUpperCase()}** (severity ${marker.severity}): ${inert(oneLine(marker.lastSummary))}`,
    '',
    `- Since: ${marker.since} (first failing run of this outage)`,
    `- Last checked: ${marker.updatedAt}`,
    `- Check: \`${marker.checkId}\`, fingerprint \`${marker.fingerprint}\`, environment \`${marker.env}\``,
    `- Runs: ${marker.consecutiveFailures} failing in a row, ${marker.consecutivePasses} passing in a row`,
    '',
    '### Evidence (latest run)',
    '',
    ...evidenceLines(evidence),
    '',
    opening,
    '',
    '### Playbook',
    '',
    ...playbookLines(marker.playbook, marker.env, ctx),
    '',
    '_Opened and maintained by the ops engine: it rewrites this description on every run (all but ' +
      '"When it opened"), comments when something changes and closes this issue after enough passing ' +
      'runs. Do not edit the hidden markers._',
    '',
    encodeMarker(marker),
  ];
  return lines.join('\n');
}

export function playbookLines(playbook: string | null, env: string, ctx: TextContext): string[] {
  if (!playbook) return ['No playbook for this check: investigate with the runbook (`runbook/RUNBOOK.md`).'];
  const lines = [`Runbook playbook **\`${playbook}\`** (\`runbook/RUNBOOK.md\`, section 7).`];
  if (ctx.playbookWorkflowUrl)
    lines.push(
      '',
      `Run it: open [the ops-playbook workflow](${ctx.playbookWorkflowUrl}), choose **Run workflow** and ` +
        `set the input \`playbook\` to \`${playbook}\` (environment \`${env}\`). It runs as a dry run ` +
        'unless you tick `apply`.',
    );
  else lines.push('', `Run it with the ops-playbook workflow, input \`playbook\` = \`${playbook}\`.`);
  return lines;
}

export function evidenceLines(evidence: readonly string[]): string[] {
  if (evidence.length === 0) return ['_none recorded_'];
  const shown = evidence.slice(0, MAX_EVIDENCE_LINES).map((e) => `- ${inert(oneLine(e).slice(0, MAX_LINE))}`);
  if (evidence.length > MAX_EVIDENCE_LINES)
    shown.push(`- ... and ${evidence.length - MAX_EVIDENCE_LINES} more`);
  return shown;
}

export function stateTitle(env: string): string {
  return `Ops incident counters (${env})`;
}

export function stateBody(marker: StateMarker): string {
  const pending = Object.entries(marker.trackers);
  return [
    `Failure counters of checks in \`${marker.env}\` that have no open incident yet, kept by the ops engine ` +
      'between runs (flap protection). Leave this issue open and its hidden marker untouched.',
    '',
    pending.length === 0
      ? '_No check is failing right now._'
      : pending
          .map(
            ([fp, t]) =>
              `- \`${fp}\`: ${t.consecutiveFailures} failing run(s) since ${t.since}: ${oneLine(t.lastSummary)}`,
          )
          .join('\n'),
    '',
    encodeMarker(marker),
  ].join('\n');
}

/** `1 d 2 h 5 min`, `3 min`, `< 1 min`. */
export function formatDuration(ms: number): string {
  const minutes = Math.floor(Math.max(0, ms) / 60_000);
  if (minutes < 1) return '< 1 min';
  const d = Math.floor(minutes / 1440);
  const h = Math.floor((minutes % 1440) / 60);
  const m = minutes % 60;
  return [d ? `${d} d` : '', h ? `${h} h` : '', m ? `${m} min` : ''].filter(Boolean).join(' ');
}

function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

/**
 * Quoted text (a log line) cannot open or close an HTML comment in the body, so it can neither
 * hide text nor end the opening section early; `&lt;` still renders as `<`.
 */
function inert(s: string): string {
  return s.replace(/<!--/g, '&lt;!--').replace(/-->/g, '--&gt;');
}
