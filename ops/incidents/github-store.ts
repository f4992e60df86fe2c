/**
 * Incidents as GitHub issues. Open incidents are found by listing issues with the `incident` label
 * (state=open, every page) and reading the hidden marker in each body; never through the search
 * API, which lags behind writes.
 *
 * Counters of fingerprints without an open issue live in one issue per environment labelled
 * `ops-state` (listed by label the same way). An issue, rather than a file in the repository or an
 * Actions variable, because the workflow's GITHUB_TOKEN with `issues: write` can keep it, it
 * needs no commits on the default branch, and people can read its history.
 *
 * GitHub offers no lock, so races are detected instead: before writing to an issue the session
 * reads it again and skips when its marker revision moved (another run got there first); after
 * creating an issue it lists again, and when an older open issue has the same fingerprint it closes
 * its own as a duplicate with a comment. Issue numbers only grow, so of two concurrent creators
 * the later one always sees the earlier issue, and exactly one issue stays open.
 */
import type { Severity } from '../engine/severity.js';
import { decodeMarker, type IncidentMarker, type StateMarker, type Tracker } from './marker.js';
import type { OpenIncident } from './plan.js';
import { stateBody, stateTitle } from './issue-text.js';
import type { GitHubClient } from './github-client.js';
import type { IncidentSession, IncidentStore, IssueRef } from './store.js';

export interface GitHubIncidentStoreOptions {
  octokit: GitHubClient;
  owner: string;
  repo: string;
  env: string;
  /** For the playbook link; default https://github.com. */
  serverUrl?: string;
  now?: () => number;
}

const SEVERITY_COLORS: Record<Severity, string> = {
  critical: 'b60205',
  high: 'd93f0b',
  medium: 'fbca04',
  low: '0e8a16',
};
const LABEL_COLORS: Record<string, string> = {
  incident: 'b60205',
  'ops-state': 'c5def5',
  ...Object.fromEntries(Object.entries(SEVERITY_COLORS).map(([s, c]) => [`severity:${s}`, c])),
};

interface ListedIssue {
  number: number;
  html_url: string;
  body?: string | null;
  pull_request?: unknown;
}

export function createGitHubIncidentStore(options: GitHubIncidentStoreOptions): IncidentStore {
  const { octokit, owner, repo, env } = options;
  const now = options.now ?? Date.now;
  const serverUrl = (options.serverUrl ?? 'https://github.com').replace(/\/+$/, '');
  const known = new Set<string>();

  async function listByLabel(label: string): Promise<ListedIssue[]> {
    const issues = await octokit.paginate(octokit.rest.issues.listForRepo, {
      owner,
      repo,
      labels: label,
      state: 'open',
      per_page: 100,
    });
    return issues.filter((i) => !i.pull_request);
  }

  async function openIncidents(fingerprint?: string): Promise<OpenIncident[]> {
    const out: OpenIncident[] = [];
    for (const issue of await listByLabel('incident')) {
      const marker = decodeMarker(issue.body);
      if (marker?.kind !== 'incident' || marker.env !== env) continue;
      if (fingerprint && marker.fingerprint !== fingerprint) continue;
      out.push({ number: issue.number, url: issue.html_url, marker, body: issue.body ?? null });
    }
    return out.sort((a, b) => a.number - b.number);
  }

  async function stateIssues(): Promise<{ number: number; marker: StateMarker }[]> {
    const out: { number: number; marker: StateMarker }[] = [];
    for (const issue of await listByLabel('ops-state')) {
      const marker = decodeMarker(issue.body);
      if (marker?.kind === 'ops-state' && marker.env === env) out.push({ number: issue.number, marker });
    }
    return out.sort((a, b) => a.number - b.number);
  }

  async function ensureLabels(labels: string[]) {
    for (const name of labels) {
      if (known.has(name)) continue;
      try {
        await octokit.rest.issues.getLabel({ owner, repo, name });
      } catch (error) {
        if ((error as { status?: number }).status !== 404) throw error;
        try {
          await octokit.rest.issues.createLabel({
            owner,
            repo,
            name,
            color: LABEL_COLORS[name] ?? 'ededed',
            description:
              name === 'ops-state' ? 'Ops engine state (do not close)' : 'Ops engine incident label',
          });
        } catch (createError) {
          // 422 already_exists: another run created it meanwhile.
          if ((createError as { status?: number }).status !== 422) throw createError;
        }
      }
      known.add(name);
    }
  }

  /** The issue's marker as it is now, or null when it is closed or no longer ours. */
  async function currentMarker(number: number): Promise<{ marker: IncidentMarker; labels: string[] } | null> {
    const { data } = await octokit.rest.issues.get({ owner, repo, issue_number: number });
    const marker = decodeMarker(data.body);
    if (data.state !== 'open' || marker?.kind !== 'incident') return null;
    const labels = data.labels.map((l) => (typeof l === 'string' ? l : (l.name ?? ''))).filter(Boolean);
    return { marker, labels };
  }

  async function closeAsDuplicate(number: number, canonical: number, body?: string) {
    await octokit.rest.issues.createComment({
      owner,
      repo,
      issue_number: number,
      body: `Duplicate of #${canonical}: another run opened the same issue at the same time. It continues in #${canonical}.`,
    });
    await octokit.rest.issues.update({
      owner,
      repo,
      issue_number: number,
      state: 'closed',
      state_reason: 'duplicate',
      ...(body !== undefined ? { body } : {}),
    });
  }

  const session: IncidentSession = {
    async load() {
      const [incidents, states] = await Promise.all([openIncidents(), stateIssues()]);
      return { incidents, trackers: states[0]?.marker.trackers ?? {} };
    },

    async open(action) {
      await ensureLabels(action.labels);
      const { data } = await octokit.rest.issues.create({
        owner,
        repo,
        title: action.title,
        body: action.body,
        labels: action.labels,
      });
      const mine: IssueRef = { number: data.number, url: data.html_url };
      const [first] = await openIncidents(action.fingerprint);
      if (first && first.number < mine.number) {
        await closeAsDuplicate(mine.number, first.number);
        return { ...mine, duplicateOf: { number: first.number, url: first.url } };
      }
      return mine;
    },

    async update(action) {
      const current = await currentMarker(action.number);
      if (!current || current.marker.rev !== action.expectedRev) return 'concurrent';
      if (action.comment)
        await octokit.rest.issues.createComment({
          owner,
          repo,
          issue_number: action.number,
          body: action.comment,
        });
      let labels: string[] | undefined;
      if (action.labels) {
        await ensureLabels(action.labels);
        // Keep labels people added; replace only ours.
        labels = [
          ...current.labels.filter((l) => !/^(incident|severity:|component:)/.test(l)),
          ...action.labels,
        ];
      }
      await octokit.rest.issues.update({
        owner,
        repo,
        issue_number: action.number,
        body: action.body,
        ...(labels ? { labels } : {}),
      });
      return 'done';
    },

    async close(action) {
      const current = await currentMarker(action.number);
      if (!current || current.marker.rev !== action.expectedRev) return 'concurrent';
      await octokit.rest.issues.createComment({
        owner,
        repo,
        issue_number: action.number,
        body: action.comment,
      });
      await octokit.rest.issues.update({
        owner,
        repo,
        issue_number: action.number,
        body: action.body,
        state: 'closed',
        state_reason: action.reason === 'duplicate' ? 'duplicate' : 'completed',
      });
      return 'done';
    },

    async saveTrackers(trackers: Record<string, Tracker>) {
      const marker: StateMarker = {
        kind: 'ops-state',
        v: 1,
        env,
        trackers,
        updatedAt: new Date(now()).toISOString(),
      };
      const body = stateBody(marker);
      const [existing] = await stateIssues();
      if (existing) {
        await octokit.rest.issues.update({ owner, repo, issue_number: existing.number, body });
        return;
      }
      await ensureLabels(['ops-state']);
      const { data } = await octokit.rest.issues.create({
        owner,
        repo,
        title: stateTitle(env),
        body,
        labels: ['ops-state'],
      });
      const [first] = await stateIssues();
      if (first && first.number < data.number) {
        // Another run created the counters issue first: ours goes, its counters are this run's.
        await octokit.rest.issues.update({ owner, repo, issue_number: first.number, body });
        await closeAsDuplicate(data.number, first.number);
      }
    },
  };

  return {
    mode: 'github',
    env,
    playbookWorkflowUrl: `${serverUrl}/${owner}/${repo}/actions/workflows/ops-playbook.yml`,
    session: (fn) => fn(session),
  };
}
