/**
 * The JSON Schema files editors use for runbook/runbook.yaml and runbook/environments/*.yaml,
 * generated from the schemas in code (`npm run ops:schemas`); a test fails when they are stale.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { environmentSchema } from './environment-config.js';
import { runbookSchema } from './runbook-config.js';

const here = dirname(fileURLToPath(import.meta.url));
export const SCHEMA_DIR = join(here, '..', '..', 'runbook', 'schema');

export function schemaFiles(): { path: string; text: string }[] {
  return [
    { path: join(SCHEMA_DIR, 'runbook.schema.json'), schema: runbookSchema },
    { path: join(SCHEMA_DIR, 'environment.schema.json'), schema: environmentSchema },
  ].map(({ path, schema }) => ({
    path,
    text: `${JSON.stringify({ $schema: 'http://json-schema.org/draft-07/schema#', ...schema }, null, 2)}\n`,
  }));
}
