/**
 * `ops archive run --env <env> [--retention-days N] [--apply]`: the daily archive run now, with the
 * environment's archive settings (run.ts); a dry run unless --apply. Exit 0 when it ran (or planned)
 * without an error, 1 when a day or an object failed (named on stderr), 2 for bad arguments, an
 * environment that is not ready or whose archive is disabled.
 *
 * `ops archive restore --env <env> --tenant <slug> --from <day> --to <day> [--hold-days N]`: brings
 * a tenant's archived telemetry back (restore.ts, docs/archive.md) and says how many rows came back
 * and how many were already there. Exit 0 when every object was restored, 1 when one was not (named
 * on stderr), 2 for bad arguments or an environment that is not ready (the preflight in cli-io.ts).
 *
 * Both: progress on stderr, the result on stdout (one JSON object with --json).
 */
import pg from 'pg';
import { formatUsage, parseCommand, table, UsageError, wantsHelp, type CommandSpec } from '../cli-args.js';
import { emitResult, type CliIo } from '../cli-io.js';
import { archiveOff, commandActor, loadArchiveTarget } from './archive-target.js';
import { restoreArchive, type RestoreResult } from './restore.js';
import { archiveRunSummary, runEnvironmentArchive, runRetention } from './run.js';

const DAY = /^\d{4}-\d{2}-\d{2}$/;

const ARCHIVE_SPEC: CommandSpec = {
  name: 'archive',
  synopsis: 'archive <run|restore> [options]',
  about: [
    "The telemetry archive (docs/archive.md). The daily run itself is the Functions app's",
    'archive_timer; this is what an operator does with it.',
  ],
  sections: [
    {
      heading: 'Commands (npm run ops -- archive <command> --help for their options)',
      lines: table([
        ['run', 'the daily archive run now, optionally with a shorter retention (a dry run unless --apply)'],
        ['restore', "bring a tenant's archived days back into the database"],
      ]),
    },
  ],
  options: {},
  example: 'npm run ops -- archive run --env prod --retention-days 14',
};

const RUN_SPEC: CommandSpec = {
  name: 'archive run',
  synopsis: 'archive run --env NAME [--retention-days N] [--apply] [options]',
  about: [
    'Runs the daily archive now, as the Function App runs it at 20:30 UTC, with the archive settings',
    "of runbook/environments/NAME.yaml: each tenant's rows of the days past its retention exported,",
    'verified and removed (or, in mode purge-without-archive, removed with no copy). A dry run unless',
    '--apply: it says per day and tenant what would leave, and changes nothing. --retention-days',
    "lowers every tenant's retention for this run only (never above the environment's own);",
    'no day newer than 8 days ever leaves (ingest still accepts readings that old).',
  ],
  options: {
    env: {
      type: 'string',
      arg: 'NAME',
      required: true,
      help: 'runbook/environments/NAME.yaml (its archive must not be disabled)',
    },
    'retention-days': {
      type: 'string',
      arg: 'N',
      defaultText: "each tenant's own",
      help: "at most N days of every tenant's telemetry stay (this run only)",
    },
    apply: {
      type: 'boolean',
      default: false,
      defaultText: 'a dry run',
      help: 'archive and remove; without it, only say what would go',
    },
    json: { type: 'boolean', default: false, help: 'one JSON object (with the plan) instead of the summary' },
    output: {
      type: 'string',
      arg: 'FILE',
      defaultText: 'stdout',
      help: 'write the result to FILE instead of stdout',
    },
  },
  exitCodes: {
    0: 'it ran (or planned) without an error',
    1: 'a day or an object failed (named on stderr)',
  },
  example: 'npm run ops -- archive run --env prod --retention-days 14 --apply',
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
  const rest = argv.filter((a) => a !== sub);
  if (sub === 'run') return archiveRunCommand(rest, io);
  if (sub === 'restore') return archiveRestoreCommand(rest, io);
  if (wantsHelp(argv)) {
    io.out(formatUsage(ARCHIVE_SPEC));
    return 0;
  }
  io.err(
    `ops archive: ${sub ? `unknown command "${sub}"` : 'give a command'}: run or restore (see npm run ops -- archive --help)\n`,
  );
  return 2;
}

async function archiveRunCommand(argv: string[], io: CliIo): Promise<number> {
  const prefix = 'ops archive run';
  const parsed = parseCommand(argv, RUN_SPEC, io, ({ values, positionals }) => {
    if (positionals.length) throw new UsageError(`unexpected argument ${positionals[0]}`);
    if (values.env === undefined) throw new UsageError('--env is required');
    const days = values['retention-days'] as string | undefined;
    if (days !== undefined && !/^[1-9][0-9]{0,4}$/.test(days))
      throw new UsageError(
        `--retention-days must be a positive whole number of days (got ${JSON.stringify(days)})`,
      );
  });
  if ('exit' in parsed) return parsed.exit;
  const values = parsed.values as {
    env: string;
    'retention-days'?: string;
    apply: boolean;
    json: boolean;
    output?: string;
  };
  const dryRun = !values.apply;
  const loaded = await loadArchiveTarget(prefix, values.env, io, {
    refuse: archiveOff,
    // A dry run reads only the database: it can be run before the container's secret is at hand.
    withStore: (t) => !dryRun && t.config.archive?.mode === 'enabled',
  });
  if (!loaded) return 2;
  const { target, store } = loaded;
  const redact = target.secrets.redact;
  const asked = values['retention-days'] === undefined ? undefined : Number(values['retention-days']);
  const retentionDays = runRetention(target, asked);
  if (asked !== undefined && retentionDays !== asked)
    io.err(
      `${prefix}: ${target.name}'s archive keeps at most ${retentionDays} days: that applies, not ${asked}\n`,
    );
  const parallel = 2;
  // One connection per tenant-day exported at once, and one for the run's own statements.
  const pool = new pg.Pool({ connectionString: loaded.databaseUrl, max: parallel + 1 });
  pool.on('error', () => undefined); // a failed query fails its day, not the process
  let result: Awaited<ReturnType<typeof runEnvironmentArchive>>;
  try {
    result = await runEnvironmentArchive({
      target,
      pool,
      store,
      dryRun,
      retentionDays: asked,
      parallel,
      actor: commandActor(prefix, io),
      log: (line) => io.err(redact(`${prefix}: ${line}\n`)),
    });
  } catch (error) {
    io.err(redact(`${prefix}: failed: ${(error as Error).message}\n`));
    return 1;
  } finally {
    await pool.end();
  }
  for (const problem of result.errors) io.err(redact(`${prefix}: ${problem}\n`));
  // The rows are safe either way; but daily.archive reads ops.archive_runs and would not see this run.
  const { recordError } = result;
  if (recordError) io.err(redact(`${prefix}: ${recordError}\n`));
  const summary =
    archiveRunSummary(result, retentionDays) + (dryRun ? '; nothing was changed (--apply to run it)' : '');
  const text = redact(
    values.json
      ? `${JSON.stringify({ env: target.name, dryRun, retentionDays: retentionDays ?? null, ...result })}\n`
      : `${summary}\n`,
  );
  if (!(await emitResult(prefix, text, values.output, io))) return 2;
  return result.errors.length || recordError ? 1 : 0;
}

async function archiveRestoreCommand(argv: string[], io: CliIo): Promise<number> {
  const prefix = 'ops archive restore';
  const parsed = parseCommand(argv, RESTORE_SPEC, io, ({ values, positionals }) => {
    if (positionals.length) throw new UsageError(`unexpected argument ${positionals[0]}`);
    for (const name of ['env', 'tenant', 'from', 'to'])
      if (values[name] === undefined) throw new UsageError(`--${name} is required`);
    for (const name of ['from', 'to'])
      if (!DAY.test(values[name] as string)) throw new UsageError(`--${name} must be a day, YYYY-MM-DD`);
    if (!/^[1-9][0-9]{0,2}$/.test(values['hold-days'] as string))
      throw new UsageError('--hold-days must be a whole number of days');
  });
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
  const loaded = await loadArchiveTarget(prefix, values.env, io, { withStore: () => true });
  if (!loaded) return 2;
  const { target } = loaded;
  const redact = target.secrets.redact;
  let pool: pg.Pool | undefined;
  let result: RestoreResult;
  try {
    pool = new pg.Pool({ connectionString: loaded.databaseUrl, max: 1 });
    result = await restoreArchive({
      pool,
      store: loaded.store!,
      tenant: values.tenant,
      from: values.from,
      to: values.to,
      holdDays: Number(values['hold-days']),
      actor: commandActor(prefix, io),
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
