/**
 * Serves a built dashboard on 127.0.0.1 as Cloudflare Pages would (files, SPA fallback to
 * index.html), plus config.json from memory: how the local sandbox (`npm run dev`) and the browser
 * tests point a prebuilt dist at the sandbox's Supabase stand-in. Never part of the app. With
 * `pagesHeaders`, dist/_headers applies as on Pages (the CSP tests).
 */
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';
import type { DashboardConfig } from '../../dashboard/src/lib/anon-key.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
};

export interface DistServer {
  url: string;
  close(): Promise<void>;
}

export interface ServeOptions {
  /** Apply dist/_headers as Cloudflare Pages does (path patterns with `*`), to every response. */
  pagesHeaders?: boolean;
}

/** Cloudflare Pages' _headers: a URL pattern line, then indented `Name: value` lines; # comments. */
export function parsePagesHeaders(text: string): { pattern: RegExp; headers: [string, string][] }[] {
  const rules: { pattern: RegExp; headers: [string, string][] }[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim() || line.trim().startsWith('#')) continue;
    if (!/^\s/.test(line)) {
      const source = line
        .trim()
        .replace(/[.+?^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*');
      rules.push({ pattern: new RegExp(`^${source}$`), headers: [] });
    } else {
      const at = line.indexOf(':');
      rules.at(-1)?.headers.push([line.slice(0, at).trim(), line.slice(at + 1).trim()]);
    }
  }
  return rules;
}

export async function serveDist(
  distDir: string,
  config?: DashboardConfig,
  options: ServeOptions = {},
): Promise<DistServer> {
  const root = normalize(distDir + sep);
  const rules = options.pagesHeaders ? parsePagesHeaders(await readFile(join(root, '_headers'), 'utf8')) : [];
  const server = createServer((req, res) => {
    void (async () => {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
      for (const rule of rules)
        if (rule.pattern.test(path)) for (const [name, value] of rule.headers) res.setHeader(name, value);
      if (path === '/config.json' && config) {
        res.writeHead(200, { 'content-type': TYPES['.json']!, 'cache-control': 'no-store' });
        res.end(JSON.stringify(config));
        return;
      }
      const file = normalize(join(root, path === '/' ? 'index.html' : path));
      const inside = file.startsWith(root);
      try {
        if (!inside) throw new Error('outside');
        const body = await readFile(file);
        res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
        res.end(body);
      } catch {
        // SPA fallback for paths without an extension; a missing asset is a 404.
        if (extname(path) === '' && inside) {
          res.writeHead(200, { 'content-type': TYPES['.html']! });
          res.end(await readFile(join(root, 'index.html')));
        } else {
          res.writeHead(404).end();
        }
      }
    })().catch(() => res.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((e) => (e ? reject(e) : resolve()));
        server.closeAllConnections();
      }),
  };
}
