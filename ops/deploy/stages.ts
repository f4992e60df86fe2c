/**
 * The deploy's stages, in the order a deploy runs them (issue 9). One list shared by the plan, the
 * stages' modules, the CLI and the action, so adding a stage (the dashboard's Pages step, the VM's
 * base roles) is one entry here plus its module, not a rewrite.
 */
export const STAGES = [
  'plan',
  'preflight',
  'database',
  'functions',
  'vm',
  'pages',
  'smoke',
  'rollback',
] as const;
export type Stage = (typeof STAGES)[number];

export function isStage(value: string): value is Stage {
  return (STAGES as readonly string[]).includes(value);
}

/** What `--stages` may name: the stages that deploy, and smoke. Preflight and rollback come with them. */
export const SELECTABLE_STAGES = [
  'database',
  'functions',
  'vm',
  'pages',
  'smoke',
] as const satisfies readonly Stage[];
