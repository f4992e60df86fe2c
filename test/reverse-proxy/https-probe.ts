/**
 * One-shot HTTP(S) requests and TLS handshakes against the proxy, with no connection reuse, so
 * each request is exactly one connection (the per-address connection limit counts them).
 */
import http from 'node:http';
import https from 'node:https';
import tls, { type SecureVersion } from 'node:tls';

export interface ProbeResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

const TIMEOUT_MS = 5_000;

export function httpsGet(
  port: number,
  path: string,
  options: { ca: string; servername?: string; method?: string; headers?: Record<string, string> },
): Promise<ProbeResponse> {
  return send(https.request, {
    host: '127.0.0.1',
    port,
    path,
    method: options.method ?? 'GET',
    headers: options.headers,
    ca: options.ca,
    servername: options.servername,
    agent: false,
  });
}

/** Plain HTTP, e.g. to the TLS port (refused) or the ACME port. */
export function httpGet(
  port: number,
  path: string,
  headers?: Record<string, string>,
): Promise<ProbeResponse> {
  return send(http.request, { host: '127.0.0.1', port, path, headers, agent: false });
}

function send(request: typeof https.request, options: https.RequestOptions): Promise<ProbeResponse> {
  return new Promise((resolve, reject) => {
    const req = request({ ...options, timeout: TIMEOUT_MS }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('timeout', () =>
      req.destroy(new Error(`no answer from 127.0.0.1:${options.port} within ${TIMEOUT_MS} ms`)),
    );
    req.on('error', reject);
    req.end();
  });
}

export interface Handshake {
  /** The negotiated protocol, or null when the handshake failed. */
  protocol: string | null;
  error: string | null;
  /** The server certificate's serial number (hex), when the handshake succeeded. */
  serial: string | null;
}

/**
 * A TLS handshake offering exactly `version`. The client's security level is lowered so it really
 * offers TLS 1.0/1.1 (OpenSSL 3 refuses them itself otherwise): a refusal is then the server's.
 */
export function handshake(
  port: number,
  version: SecureVersion,
  options: { ca: string; servername?: string },
): Promise<Handshake> {
  return new Promise((resolve) => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      ca: options.ca,
      servername: options.servername,
      minVersion: version,
      maxVersion: version,
      ciphers: 'DEFAULT:@SECLEVEL=0',
    });
    const done = (result: Handshake) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(TIMEOUT_MS, () => done({ protocol: null, error: 'timeout', serial: null }));
    socket.once('secureConnect', () =>
      done({
        protocol: socket.getProtocol(),
        error: null,
        serial: socket.getPeerCertificate().serialNumber ?? null,
      }),
    );
    socket.once('error', (error: NodeJS.ErrnoException) =>
      done({ protocol: null, error: `${error.code ?? ''} ${error.message}`.trim(), serial: null }),
    );
  });
}
