/** Where incidents live: GitHub issues, a local JSON file, or nowhere. Both stores run the same plan. */
import type { Tracker } from './marker.js';
import type { CloseAction, IncidentSnapshot, OpenAction, UpdateAction } from './plan.js';

export type IncidentMode = 'github' | 'local' | 'off';

export interface IssueRef {
  number: number;
  url: string;
}

export type WriteOutcome = 'done' | 'concurrent';

/** One reconcile's access to a store. */
export interface IncidentSession {
  load(): Promise<IncidentSnapshot>;
  /** Opens an issue; reports `duplicateOf` when a concurrent run had opened one first (ours is then closed). */
  open(action: OpenAction): Promise<IssueRef & { duplicateOf?: IssueRef }>;
  /** `concurrent` when the issue changed (another revision, or closed) since load: nothing written. */
  update(action: UpdateAction): Promise<WriteOutcome>;
  close(action: CloseAction): Promise<WriteOutcome>;
  saveTrackers(trackers: Record<string, Tracker>): Promise<void>;
}

export interface IncidentStore {
  readonly mode: IncidentMode;
  readonly env: string;
  /** The `ops-playbook.yml` workflow page issues link to, or null when the repository is unknown. */
  readonly playbookWorkflowUrl: string | null;
  /**
   * Runs one reconcile. The local store holds a file lock for its duration; GitHub has no lock,
   * so its session detects races instead (revision check before writes, re-list after create).
   */
  session<T>(fn: (session: IncidentSession) => Promise<T>): Promise<T>;
}

/** `${server}/${repository}/actions/workflows/ops-playbook.yml`, the playbook's workflow_dispatch page. */
export function playbookWorkflowUrl(
  serverUrl: string | undefined,
  repository: string | undefined,
): string | null {
  if (!repository) return null;
  return `${(serverUrl || 'https://github.com').replace(/\/+$/, '')}/${repository}/actions/workflows/ops-playbook.yml`;
}
