/**
 * Health surface of the bridge for the ops checks: a tiny HTTP server on loopback
 * (`GET /health`: 200 ok / 503 degraded with the reasons; `GET /metrics`: the counters as JSON)
 * and a status JSON file rewritten periodically (temp + rename) that the checks read over SSH.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

export interface BridgeStats {
  /** Messages received from the broker and journaled by this process. */
  received: number;
  /** Messages accepted by ingest (2xx) by this process, including journal replay. */
  forwarded: number;
  /** Messages in the journal not yet accepted by ingest. */
  pending: number;
  /** Failed ingest attempts that were retried. */
  retries: number;
  inserted: number;
  duplicates: number;
  rejected: number;
  /** Age of the oldest message not yet accepted by ingest (0 when none). */
  oldestPendingAgeMs: number;
  journalBytes: number;
  connected: boolean;
  lastError: string | null;

  /** Redelivered (DUP) messages already in the journal: acknowledged again, not stored twice. */
  redeliveries: number;
  /** The journal is at its byte limit: the bridge withholds PUBACKs (backpressure to the broker). */
  journalFull: boolean;
  /** How many times the journal became full (flapping while catching up counts once). */
  journalFullEpisodes: number;
  /** Journal writes are failing (disk full, I/O error): messages are not acknowledged. */
  journalWriteFailing: boolean;
  maxJournalBytes: number;
  journalSegments: number;
  /** Highest seq accepted by ingest / highest seq journaled. */
  cursor: number;
  lastSeq: number;
  inflightBatches: number;
  batches: number;
  /** Unforwarded messages are only on disk (beyond the memory bound). */
  spilled: boolean;
  lastErrorAt: string | null;
  lastForwardAt: string | null;
  /** Start of the last completed fdatasync of the journal. */
  lastSyncAt: string | null;
  startedAt: string;
  uptimeMs: number;
  rssBytes: number;
  heapUsedBytes: number;
  /** Memory outside the JS heap (Buffers, zlib). */
  externalBytes: number;
}

export interface HealthReport {
  status: 'ok' | 'degraded';
  problems: string[];
  stats: BridgeStats;
}

export function assessHealth(stats: BridgeStats, maxPendingAgeMs: number): HealthReport {
  const problems: string[] = [];
  if (!stats.connected) problems.push('not connected to the broker');
  if (stats.journalFull) problems.push('journal full: withholding acknowledgements (broker is queueing)');
  if (stats.journalWriteFailing) problems.push('journal writes failing: messages are not acknowledged');
  if (stats.oldestPendingAgeMs > maxPendingAgeMs) {
    problems.push(`oldest unforwarded message is ${Math.round(stats.oldestPendingAgeMs / 1000)} s old`);
  }
  return { status: problems.length ? 'degraded' : 'ok', problems, stats };
}

export interface HealthServer {
  port: number;
  close(): Promise<void>;
}

export async function startHealthServer(
  host: string,
  port: number,
  report: () => HealthReport,
): Promise<HealthServer> {
  const server = http.createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    const send = (status: number, body: unknown): void => {
      const text = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(text);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, { error: 'method not allowed' });
    if (url === '/health') {
      const r = report();
      return send(r.status === 'ok' ? 200 : 503, r);
    }
    if (url === '/metrics') return send(200, report().stats);
    send(404, { error: 'not found', routes: ['/health', '/metrics'] });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Writes the status JSON atomically (temp + rename). Errors are returned, never thrown. */
export function writeStatusFile(
  file: string,
  report: HealthReport,
  extra: Record<string, unknown> = {},
): Error | undefined {
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(
      tmp,
      `${JSON.stringify({ updatedAt: new Date().toISOString(), pid: process.pid, ...extra, ...report }, null, 2)}\n`,
    );
    fs.renameSync(tmp, file);
    return undefined;
  } catch (err) {
    return err as Error;
  }
}
