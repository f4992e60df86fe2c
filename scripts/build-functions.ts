/**
 * `npm run build:functions -- --sha <commit> [--out <dir>]`: builds the functions package the
 * deploy ships (functions/package-zip.ts) into <dir> (default .ops/build/functions). Prints the
 * result as one JSON object on stdout (path, sha256, bytes, commitSha, functions, ...) for the
 * deploy to read; a one-line summary on stderr.
 */
import { isAbsolute, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { stop } from 'esbuild';
import { buildFunctionsPackage, COMMIT_SHA } from '../functions/package-zip.js';

const USAGE = 'usage: npm run build:functions -- --sha <commit> [--out <dir>]';

async function main(): Promise<number> {
  let values: { sha?: string; out?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      options: { sha: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    }));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  // The SHA is what /health will report: given, never guessed from a work tree that may be dirty.
  if (!values.sha || !COMMIT_SHA.test(values.sha)) {
    process.stderr.write(
      `--sha must be a commit (7-40 lowercase hex), e.g. --sha $(git rev-parse HEAD)\n${USAGE}\n`,
    );
    return 2;
  }
  const started = Date.now();
  const pkg = await buildFunctionsPackage({
    outDir: values.out ?? '.ops/build/functions',
    commitSha: values.sha,
  });
  process.stdout.write(`${JSON.stringify(pkg)}\n`);
  process.stderr.write(
    `functions package ${shown(pkg.path)}: ${pkg.bytes} bytes, sha256 ${pkg.sha256}, ` +
      `${pkg.functions.join(', ')} (${Date.now() - started} ms)\n`,
  );
  return 0;
}

/** Relative when under the working directory, else absolute. */
function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel.startsWith('..') || isAbsolute(rel) ? path : rel;
}

main()
  .then((code) => (process.exitCode = code))
  .catch((error: Error) => {
    process.stderr.write(`build:functions: ${error.message}\n`);
    process.exitCode = 1;
  })
  .finally(() => stop());
