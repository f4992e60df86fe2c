/**
 * What run.ts needs of a stage that deploys something and can be put back (functions, vm): run it
 * for HEAD, and roll it back to the release before. Each stage module has its own richer result;
 * its adapter (stage-runners.ts) maps it to this, so run.ts and the report treat every stage alike
 * and a new stage (the dashboard's Pages step) plugs in without touching the loop.
 */
import type { OpsTarget } from '../config/ops-target.js';

export interface StageVersions {
  /** What ran before the stage (a commit, a release name), or null when nothing did. */
  before: string | null;
  after: string | null;
}

export interface StageRunResult {
  status: 'success' | 'skipped' | 'refused' | 'failure';
  summary: string;
  ms: number;
  versions?: StageVersions;
  /** Whether the stage changed the environment (false: it found it as HEAD wants it). */
  changed?: boolean;
  /** Markdown for the report's section of this stage (a check diff, transport steps). */
  details?: string;
  /** The stage module's own result, for the JSON report. */
  raw?: unknown;
}

export interface StageContext {
  target: OpsTarget;
  /** The checkout deployed (its HEAD). */
  root: string;
  head: string;
  log: (line: string) => void;
}

export interface StageRunner {
  run(context: StageContext): Promise<StageRunResult>;
  /** Puts back the release before the one `run` deployed. */
  rollback(context: StageContext): Promise<StageRunResult>;
}
