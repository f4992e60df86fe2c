/**
 * HTTP plumbing of the local Supabase stand-in: its label header, CORS as Supabase's gateway
 * answers it, JSON bodies with a size cap, and the error shapes of PostgREST and the gateway.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** On every response: whoever looks at the traffic sees it is not Supabase. */
export const STANDIN_HEADER = 'x-local-standin';
export const STANDIN_HEADER_VALUE = 'supabase';

/** Request bodies above this are refused (413). The dashboard's bodies are RPC arguments. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** PostgREST's error body. */
export interface PgrstError {
  code: string;
  message: string;
  details: string | null;
  hint: string | null;
}

/** A request refused before (or instead of) touching the database. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: object,
    readonly headers: Record<string, string> = {},
  ) {
    super(JSON.stringify(body));
    this.name = 'HttpError';
  }
}

export const pgrstError = (
  status: number,
  code: string,
  message: string,
  details: string | null = null,
  hint: string | null = null,
): HttpError => new HttpError(status, { code, message, details, hint } satisfies PgrstError);

/** What the stand-in does not implement: a 400 that says so, in PostgREST's shape. */
export const notImplemented = (what: string): HttpError =>
  pgrstError(
    400,
    'PGRST100',
    `${what} is not implemented by the local Supabase stand-in`,
    null,
    'The stand-in implements the subset of PostgREST the dashboard uses: see docs/sandbox-supabase.md.',
  );

export function setCommonHeaders(res: ServerResponse, req: IncomingMessage): void {
  res.setHeader(STANDIN_HEADER, STANDIN_HEADER_VALUE);
  // Supabase's gateway allows any origin (the key, not the origin, is the credential).
  res.setHeader('access-control-allow-origin', '*');
  res.setHeader('access-control-expose-headers', `content-range, x-supabase-api-version, ${STANDIN_HEADER}`);
  if (req.method === 'OPTIONS') {
    res.setHeader('access-control-allow-methods', 'GET, HEAD, POST, PATCH, PUT, DELETE, OPTIONS');
    res.setHeader(
      'access-control-allow-headers',
      req.headers['access-control-request-headers'] ??
        'authorization, apikey, content-type, prefer, accept, accept-profile, content-profile, range, x-client-info, x-supabase-api-version',
    );
    res.setHeader('access-control-max-age', '3600');
  }
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  sendText(res, status, JSON.stringify(body), {
    'content-type': 'application/json; charset=utf-8',
    ...headers,
  });
}

export function sendText(
  res: ServerResponse,
  status: number,
  text: string,
  headers: Record<string, string>,
): void {
  res.writeHead(status, { ...headers, 'content-length': String(Buffer.byteLength(text)) });
  res.end(res.req.method === 'HEAD' ? undefined : text);
}

/** The request body as JSON (undefined when empty); 413 above MAX_BODY_BYTES, 400 when not JSON. */
export async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  // The rest of a refused body is not read: the connection closes after the 413.
  const tooLarge = () =>
    new HttpError(
      413,
      {
        code: 'PGRST413',
        message: `the request body is larger than ${MAX_BODY_BYTES} bytes`,
        details: null,
        hint: null,
      },
      { connection: 'close' },
    );
  if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw tooLarge();
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw pgrstError(400, 'PGRST102', 'Empty or invalid json', (error as Error).message);
  }
}

/**
 * The bearer token of the Authorization header: undefined without the header, '' when the header
 * is not `Bearer <token>` (so that it fails verification instead of counting as absent).
 */
export function bearerToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (header === undefined) return undefined;
  return /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1] ?? '';
}
