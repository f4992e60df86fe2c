/**
 * A real HTTP server on loopback standing in for the bridge's health endpoint (bridge/health.ts:
 * GET /health answers JSON, 200 ok / 503 degraded). It records what reached it, so a test can
 * tell what the proxy let through.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HealthStandin {
  url: string;
  /** Method and path of every request that reached it. */
  requests: { method: string; path: string }[];
  /** The JSON it answers on /health (change it to see the proxy pass it on). */
  report: { status: 'ok' | 'degraded'; problems: string[]; stats: Record<string, unknown> };
  close(): Promise<void>;
}

export async function startHealthStandin(): Promise<HealthStandin> {
  const requests: HealthStandin['requests'] = [];
  const standin = {
    requests,
    report: { status: 'ok' as const, problems: [] as string[], stats: { connected: true, pending: 0 } },
  };
  const server = http.createServer((req, res) => {
    const path = req.url ?? '/';
    requests.push({ method: req.method ?? '', path });
    const ok = path === '/health' && (req.method === 'GET' || req.method === 'HEAD');
    const body = ok ? standin.report : { error: 'not found' };
    res.writeHead(ok ? (standin.report.status === 'ok' ? 200 : 503) : 404, {
      'content-type': 'application/json',
      'cache-control': 'no-store',
    });
    res.end(JSON.stringify(body));
  });
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(standin, {
    url: `http://127.0.0.1:${port}/health`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}
