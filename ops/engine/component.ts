/**
 * The parts of the platform an incident can be about: each check's `component` in
 * runbook/runbook.yaml (validated against this list by its schema) becomes the incident's
 * `component:<x>` label.
 */
export const COMPONENTS = [
  'broker', // Mosquitto and its VM
  'ingest', // the path from the broker into the database: bridge, mqtt_ingest
  'alerts', // the alert engine and the notification outbox
  'dashboard', // what users and devices reach over HTTP
  'database', // Postgres, its backups and the telemetry archive
  'cost', // Azure and AI spend against budgets
  'tenants', // usage and plans per tenant
  'ops', // the ops machinery itself: workflows, the uptime probe
] as const;
export type Component = (typeof COMPONENTS)[number];
