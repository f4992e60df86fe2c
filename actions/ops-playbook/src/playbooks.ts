/** The incident playbooks of runbook/RUNBOOK.md section 7 (item ids are `<playbook>.<step>`). */
export const PLAYBOOKS = ['broker-down', 'cost-spike', 'growth-spike', 'resize-vm'] as const;
export type Playbook = (typeof PLAYBOOKS)[number];
