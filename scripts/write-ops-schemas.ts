/** `npm run ops:schemas`: writes runbook/schema/*.schema.json from the schemas in ops/config/. */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, relative } from 'node:path';
import { schemaFiles } from '../ops/config/schema-files.js';

for (const file of schemaFiles()) {
  await mkdir(dirname(file.path), { recursive: true });
  await writeFile(file.path, file.text);
  process.stdout.write(`wrote ${relative(process.cwd(), file.path)}\n`);
}
