/**
 * docs/cost.md's tables are the model's output for prod.yaml's prices and platform, as
 * test/workflows/actions-minutes.test.ts does for docs/actions-minutes.md: a price, an assumption
 * or a formula changed without the doc fails here, and the message shows the block to paste.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WORKED_PLATFORM, WORKED_PRICES } from '../../test/support/cost-fixture.js';
import { loadEnvironmentConfig } from '../config/environment-config.js';
import { platformOf } from './load.js';
import { DOC_BATCH_SIZES, DOC_DEVICES, docBlocks, renderCostTable } from './table.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const doc = readFileSync(join(ROOT, 'docs', 'cost.md'), 'utf8');
const prod = loadEnvironmentConfig('prod');

test.each(Object.entries(docBlocks(prod.prices!, platformOf(prod))))(
  'docs/cost.md shows the model\'s "%s" block',
  (name, rendered) => {
    const m = new RegExp(`<!-- cost:${name}:start -->\\n([\\s\\S]*?)\\n<!-- cost:${name}:end -->`).exec(doc);
    expect(m).not.toBeNull();
    expect(m![1]).toBe(rendered);
  },
);

test('the doc states the price list it used, and that it was not re-read', () => {
  expect(doc).toContain(`readOn ${prod.prices!.readOn}, verified ${String(prod.prices!.verified)}`);
  if (!prod.prices!.verified) expect(doc).toContain('not re-read');
});

test('the cost table has a row per device count, plan and archive setting', () => {
  const rows = renderCostTable(WORKED_PRICES, WORKED_PLATFORM).split('\n').slice(2);
  expect(rows).toHaveLength(DOC_DEVICES.length * 2 * 2);
  expect(rows[0]).toMatch(/^\| 10 \| Flex \| on \| 7\.59 \|/);
  expect(rows.at(-1)).toMatch(/^\| 1,000 \| Linux \| off \|/);
  expect(DOC_BATCH_SIZES[0]).toBe(1);
});
