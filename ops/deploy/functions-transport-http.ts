/**
 * The one HTTP client the functions transports call Kudu (SCM) and Resource Manager with: Node's
 * http/https, a zip streamed from disk, an optional CA to trust instead of the public roots (the
 * tests' stand-in; nothing global changes), and a bearer token from an injected TokenCredential.
 * Small on purpose: the local sandbox's deploy endpoint is plain HTTP on loopback, which the Azure
 * SDK pipeline's bearer policy refuses, and the same client must serve both.
 */
import type { TokenCredential } from '@azure/core-auth';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT';
  url: string;
  headers?: Record<string, string>;
  /** A string (JSON), or a file streamed as the body. */
  body?: string | { file: string };
  timeoutMs?: number;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

export type HttpClient = (request: HttpRequest) => Promise<HttpResponse>;

/** The `Authorization` header's value, fetched before each request (tokens expire). */
export type Authorization = () => Promise<string>;

/** Largest response body kept (deployment logs can be long; the rest is dropped). */
const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

export function nodeHttpClient(options: { ca?: string } = {}): HttpClient {
  return async (req) => {
    const url = new URL(req.url);
    if (url.protocol !== 'https:' && url.protocol !== 'http:')
      throw new Error(`${url.protocol} is not http(s): ${url.origin}`);
    const headers: Record<string, string | number> = { ...req.headers };
    if (typeof req.body === 'string') headers['content-length'] = Buffer.byteLength(req.body);
    else if (req.body) headers['content-length'] = (await stat(req.body.file)).size;
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<HttpResponse>((resolve, reject) => {
      const r = send(
        url,
        {
          method: req.method,
          headers,
          timeout: req.timeoutMs ?? 120_000,
          ...(url.protocol === 'https:' && options.ca ? { ca: options.ca } : {}),
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size <= MAX_RESPONSE_BYTES) chunks.push(chunk);
          });
          res.on('error', reject);
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              text: Buffer.concat(chunks).toString('utf8'),
            }),
          );
        },
      );
      r.on('timeout', () =>
        r.destroy(new Error(`no answer from ${url.origin} in ${req.timeoutMs ?? 120_000} ms`)),
      );
      r.on('error', reject);
      if (typeof req.body === 'string') r.end(req.body);
      else if (req.body) {
        const file = createReadStream(req.body.file);
        file.on('error', (error) => r.destroy(error));
        file.pipe(r);
      } else r.end();
    });
  };
}

/** Resource Manager's scope: Kudu (SCM) also takes this token for an identity with rights on the app. */
export const ARM_SCOPE = 'https://management.azure.com/.default';

/** `Bearer <token>` from a credential, reused until two minutes before it expires. */
export function bearerFromCredential(credential: TokenCredential, scope = ARM_SCOPE): Authorization {
  let cached: { token: string; expiresOnTimestamp: number } | null = null;
  return async () => {
    if (!cached || cached.expiresOnTimestamp - Date.now() < 120_000) {
      const token = await credential.getToken(scope);
      if (!token)
        throw new Error(`the Azure credential gave no token for ${scope}: sign in (azure/login, az login)`);
      cached = token;
    }
    return `Bearer ${cached.token}`;
  };
}

/** A fixed bearer key (the sandbox's deploy endpoint). */
export function bearerKey(key: string): Authorization {
  return async () => `Bearer ${key}`;
}

/** The start of a body for an error message, on one line. */
export function snippet(text: string, max = 300): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max)}...` : line;
}

/** How a functions package reaches the platform (functions-transport.ts picks one per environment). */
export interface FunctionsTransport {
  /** Where and how, for reports: no keys. */
  description: string;
  /** Deploys the zip; resolves once the platform says the deployment succeeded, throws otherwise. */
  deploy(zipPath: string, log: (line: string) => void): Promise<void>;
}
