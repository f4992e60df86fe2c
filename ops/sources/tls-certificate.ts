/** Reads the certificate a TLS listener presents (the broker's 8883, the dashboard's 443, ...). */
import { connect } from 'node:tls';

export interface CertificateReading {
  subject: string;
  issuer: string;
  notAfter: Date;
  /** Whether the chain verified against the given CA (or the system's roots) for that host name. */
  authorized: boolean;
  authorizationError?: string;
}

export interface TlsCertificateSource {
  read(signal?: AbortSignal): Promise<CertificateReading>;
}

export function createTlsCertificateSource(options: {
  host: string;
  port: number;
  /** Name to verify the certificate for (SNI); default host. */
  servername?: string;
  /** PEM of a private CA; default the system's roots. */
  ca?: string;
  timeoutMs?: number;
}): TlsCertificateSource {
  return {
    read: (signal) =>
      new Promise((resolve, reject) => {
        const socket = connect({
          host: options.host,
          port: options.port,
          servername: /^[\d.:]+$/.test(options.servername ?? options.host)
            ? undefined
            : (options.servername ?? options.host),
          ca: options.ca,
          // Read the certificate even when it does not verify: an expired one must be reported as such.
          rejectUnauthorized: false,
          timeout: options.timeoutMs ?? 10_000,
        });
        const fail = (error: Error) => {
          socket.destroy();
          reject(error);
        };
        signal?.addEventListener('abort', () => fail(new Error('aborted')), { once: true });
        socket.once('timeout', () =>
          fail(new Error(`no TLS handshake with ${options.host}:${options.port} in time`)),
        );
        socket.once('error', fail);
        socket.once('secureConnect', () => {
          const cert = socket.getPeerCertificate();
          socket.end();
          if (!cert?.valid_to)
            return reject(new Error(`${options.host}:${options.port} presented no certificate`));
          resolve({
            subject: commonName(cert.subject),
            issuer: commonName(cert.issuer),
            notAfter: new Date(cert.valid_to),
            authorized: socket.authorized,
            authorizationError: socket.authorizationError ? String(socket.authorizationError) : undefined,
          });
        });
      }),
  };
}

function commonName(name: { CN?: string | string[] } | undefined): string {
  const cn = name?.CN;
  return Array.isArray(cn) ? cn.join(', ') : (cn ?? JSON.stringify(name ?? {}));
}
