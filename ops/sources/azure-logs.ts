/**
 * Function failures from the Functions app's Application Insights data in its Log Analytics
 * workspace (workspace-based tables), through @azure/monitor-query-logs.
 *
 * Two queries over [from, to) (the request's timespan bounds TimeGenerated):
 * - invocations: every function invocation is a row of `AppRequests` (Name = the function); a
 *   failed one has Success == false.
 *       AppRequests
 *       | where AppRoleName =~ '<app>'
 *       | summarize Invocations = count(), Failures = countif(Success == false) by FunctionName = Name
 *       | order by Failures desc, FunctionName asc
 * - messages: exceptions (`AppExceptions`, message = OuterMessage) and error-level traces
 *   (`AppTraces` with SeverityLevel >= 3, which `context.error()` writes without throwing), grouped
 *   by function, type and message, the most frequent first.
 * The workspace's long/real values may come back as strings (they do in the published example):
 * rows are read by column name and numbers parsed.
 */
import type { LogsQueryClient, LogsTable } from '@azure/monitor-query-logs';

export interface FunctionInvocations {
  functionName: string;
  invocations: number;
  failures: number;
}

export interface FunctionErrorMessage {
  functionName: string;
  /** Exception type, or `trace` for an error-level log line. */
  type: string;
  message: string;
  count: number;
  lastSeen: Date | null;
}

export interface FunctionFailures {
  byFunction: FunctionInvocations[];
  topMessages: FunctionErrorMessage[];
}

export interface FunctionLogsSource {
  failures(from: Date, to: Date, signal?: AbortSignal): Promise<FunctionFailures>;
}

export interface FunctionLogsSourceOptions {
  workspaceId: string;
  /** The Functions app (its AppRoleName in Application Insights). */
  functionApp: string;
  /** How many distinct messages to return; default 10. */
  topMessages?: number;
}

export function invocationsQuery(functionApp: string): string {
  return [
    'AppRequests',
    `| where AppRoleName =~ '${functionApp}'`,
    '| summarize Invocations = count(), Failures = countif(Success == false) by FunctionName = Name',
    '| order by Failures desc, FunctionName asc',
  ].join('\n');
}

export function messagesQuery(functionApp: string, top: number): string {
  return [
    'union',
    `  (AppExceptions | where AppRoleName =~ '${functionApp}'`,
    '    | extend Message = iff(isnotempty(OuterMessage), OuterMessage, InnermostMessage), Kind = ExceptionType),',
    `  (AppTraces | where AppRoleName =~ '${functionApp}' and SeverityLevel >= 3`,
    "    | extend Kind = 'trace')",
    '| summarize Count = count(), LastSeen = max(TimeGenerated) by FunctionName = OperationName, Kind, Message',
    `| top ${top} by Count desc`,
  ].join('\n');
}

export function createFunctionLogsSource(
  client: LogsQueryClient,
  options: FunctionLogsSourceOptions,
): FunctionLogsSource {
  if (!/^[0-9a-f-]{36}$/i.test(options.workspaceId))
    throw new Error('function logs: workspaceId must be the workspace GUID (customer id)');
  // The app name goes into KQL: allow only what Azure allows in a Functions app name.
  if (!/^[a-z0-9][a-z0-9-]{0,58}$/i.test(options.functionApp))
    throw new Error('function logs: functionApp must be an app name (letters, digits, -)');
  const top = options.topMessages ?? 10;
  if (!Number.isInteger(top) || top < 1 || top > 100)
    throw new Error('function logs: topMessages must be 1-100');

  const query = async (kql: string, from: Date, to: Date, signal?: AbortSignal): Promise<Row[]> => {
    const result = await client.queryWorkspace(
      options.workspaceId,
      kql,
      { startTime: from, endTime: to },
      { abortSignal: signal, serverTimeoutInSeconds: 60 },
    );
    if (result.status !== 'Success') {
      const e = result.partialError;
      throw new Error(`Log Analytics returned a partial result: ${e.code}: ${e.message}`);
    }
    return result.tables[0] ? rowsOf(result.tables[0]) : [];
  };

  return {
    async failures(from, to, signal) {
      const [invocations, messages] = await Promise.all([
        query(invocationsQuery(options.functionApp), from, to, signal),
        query(messagesQuery(options.functionApp, top), from, to, signal),
      ]);
      return {
        byFunction: invocations.map((r) => ({
          functionName: text(r.FunctionName) || '(unknown)',
          invocations: count(r.Invocations),
          failures: count(r.Failures),
        })),
        topMessages: messages.map((r) => ({
          functionName: text(r.FunctionName) || '(unknown)',
          type: text(r.Kind) || 'unknown',
          message: text(r.Message),
          count: count(r.Count),
          lastSeen:
            r.LastSeen instanceof Date ? r.LastSeen : r.LastSeen ? new Date(String(r.LastSeen)) : null,
        })),
      };
    },
  };
}

type Row = Record<string, unknown>;

function rowsOf(table: LogsTable): Row[] {
  const names = table.columnDescriptors.map((c) => c.name ?? '');
  return table.rows.map((cells) => Object.fromEntries(names.map((n, i) => [n, cells[i]])));
}

function text(v: unknown): string {
  return v === null || v === undefined ? '' : String(v);
}

function count(v: unknown): number {
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isFinite(n)) throw new Error(`Log Analytics returned a non-numeric count: ${String(v)}`);
  return n;
}
