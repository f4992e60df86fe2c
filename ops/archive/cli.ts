/**
 * `ops archive restore --env <env> --tenant <slug> --from <day> --to <day> [--hold-days N]`: brings
 * a tenant's archived telemetry back (restore.ts, docs/archive.md) and says how many rows came back
 * and how many were already there. Progress on stderr, the result on stdout (one JSON object with
 * --json). Exit 0 when every object was restored, 1 when one was not (named on stderr), 2 for bad
 * arguments or an environment that is not ready (the preflight in cli-io.ts).
 */
import pg from 'pg';
import type { ArchiveStore } from '../../common/telemetry-archive-store.js';
import { formatUsage, parseCommand, table, UsageError, wantsHelp, type CommandSpec } from '../cli-args.js';
import { emitResult, loadCommandTarget, type CliIo } from '../cli-io.js';
import { databaseUrl } from '../config/ops-target.js';
import { archiveStoreFor } from './archive-target.js';
import { restoreArchive, type RestoreResult } from './restore.js';

const DAY = /^\d{4}-\d{2}-\d{2}$/;

const ARCHIVE_SPEC: CommandSpec = {
  name: 'archive',
  synopsis: 'archive <restore> [options]',
  about: [
    "The telemetry archive (docs/archive.md). The daily run itself is the Functions app's",
    'archive_timer; this is what an operator does with it.',
  ],
  sections: [
    {
      heading: 'Commands (npm run ops -- archive <command> --help for their options)',
      lines: table([['restore', "bring a tenant's archived days back into the database"]]),
    },
  ],
  options: {},
  example: 'npm run ops -- archive restore --env prod --tenant acme --from 2026-09-01 --to 2026-09-30',
};

const RESTORE_SPEC: CommandSpec = {
  name: 'archive restore',
  synopsis: 'archive restore --env NAME --tenant SLUG --from DAY --to DAY [options]',
  about: [
    "Brings a tenant's archived telemetry of the days from --from to --to (UTC, inclusive) back",
    'into the database: each object read back and checked against its manifest, its day partition',
    'recreated if the archive dropped it, its rows inserted once (the telemetry key: a row already',
    'there is counted, not doubled), so restoring twice adds nothing. The daily archive leaves the',
    'restored days alone for --hold-days, then takes them out again.',
  ],
  options: {
    env: {
      type: 'string',
      arg: 'NAME',
      required: true,
      help: 'runbook/environments/NAME.yaml (its archive must be enabled)',
    },
    tenant: { type: 'string', arg: 'SLUG', required: true, help: 'the tenant whose rows come back' },
    from: { type: 'string', arg: 'DAY', required: true, help: 'first day, YYYY-MM-DD (UTC)' },
    to: { type: 'string', arg: 'DAY', required: true, help: 'last day, YYYY-MM-DD (UTC), inclusive' },
    'hold-days': {
      type: 'string',
      arg: 'N',
      default: '7',
      help: 'days the daily archive leaves the restored days in the database',
    },
    json: { type: 'boolean', default: false, help: 'one JSON object instead of the summary' },
    output: {
      type: 'string',
      arg: 'FILE',
      defaultText: 'stdout',
      help: 'write the result to FILE instead of stdout',
    },
  },
  exitCodes: { 0: 'every object was restored', 1: 'an object was not (named on stderr)' },
  example: 'npm run ops -- archive restore --env prod --tenant acme --from 2026-09-01 --to 2026-09-30',
};

export async function runArchiveCommand(argv: string[], io: CliIo): Promise<number> {
  const sub = argv.find((a) => !a.startsWith('-'));
  if (sub !== 'restore') {
    if (wantsHelp(argv)) {
      io.out(formatUsage(ARCHIVE_SPEC));
      return 0;
    }
    io.err(
      `ops archive: ${sub ? `unknown command "${sub}"` : 'give a command'}: restore (see npm run ops -- archive --help)\n`,
    );
    return 2;
  }
  const prefix = 'ops archive restore';
  const parsed = parseCommand(
    argv.filter((a) => a !== sub),
    RESTORE_SPEC,
    io,
    ({ values, positionals }) => {
      if (positionals.length) throw new UsageError(`unexpected argument ${positionals[0]}`);
      for (const name of ['env', 'tenant', 'from', 'to'])
        if (values[name] === undefined) throw new UsageError(`--${name} is required`);
      for (const name of ['from', 'to'])
        if (!DAY.test(values[name] as string)) throw new UsageError(`--${name} must be a day, YYYY-MM-DD`);
      if (!/^[1-9][0-9]{0,2}$/.test(values['hold-days'] as string))
        throw new UsageError('--hold-days must be a whole number of days');
    },
  );
  if ('exit' in parsed) return parsed.exit;
  const values = parsed.values as {
    env: string;
    tenant: string;
    from: string;
    to: string;
    'hold-days': string;
    json: boolean;
    output?: string;
  };
  const target = await loadCommandTarget(prefix, values.env, io, (t) => {
    databaseUrl(t);
    archiveStoreFor(t);
  });
  if (!target) return 2;
  const redact = target.secrets.redact;
  let store: ArchiveStore;
  let url: string;
  try {
    store = archiveStoreFor(target);
    url = databaseUrl(target);
  } catch (error) {
    io.err(redact(`${prefix}: ${(error as Error).message}\n`));
    return 2;
  }
  let pool: pg.Pool | undefined;
  let result: RestoreResult;
  try {
    pool = new pg.Pool({ connectionString: url, max: 1 });
    result = await restoreArchive({
      pool,
      store,
      tenant: values.tenant,
      from: values.from,
      to: values.to,
      holdDays: Number(values['hold-days']),
      actor: `ops archive restore (${(io.env ?? process.env).GITHUB_ACTOR ?? (io.env ?? process.env).USER ?? 'cli'})`,
      log: (line) => io.err(redact(`${prefix}: ${line}\n`)),
    });
  } catch (error) {
    io.err(redact(`${prefix}: failed: ${(error as Error).message}\n`));
    return 1;
  } finally {
    await pool?.end();
  }
  for (const problem of result.problems) io.err(redact(`${prefix}: ${problem}\n`));
  const rows = result.objects.reduce((n, o) => n + o.rows, 0);
  const summary =
    `restored ${result.restored} of ${rows} archived rows of ${result.tenant} from ${result.from} to ${result.to} ` +
    `(${result.objects.length} object(s)); ${result.alreadyThere} were already there` +
    (result.heldUntil ? `; the archive leaves these days alone until ${result.heldUntil}` : '') +
    (result.problems.length ? `; ${result.problems.length} object(s) NOT restored (see above)` : '');
  const text = redact(values.json ? `${JSON.stringify({ env: target.name, ...result })}\n` : `${summary}\n`);
  if (!(await emitResult(prefix, text, values.output, io))) return 2;
  return result.problems.length ? 1 : 0;
}
