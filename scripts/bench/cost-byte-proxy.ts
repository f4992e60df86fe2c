/**
 * bench:cost's egress meter: a TCP proxy on loopback between the Functions host and PostgreSQL
 * that counts the bytes each way (TCP payload: the PostgreSQL protocol, no TLS on loopback).
 * `toServer` is what the function sends to the database (Azure egress when the database is
 * Supabase); `toClient` what it reads back (Supabase's egress).
 */
import net from 'node:net';

export interface ByteCounts {
  toServer: number;
  toClient: number;
}

export interface ByteProxy {
  port: number;
  counts(): ByteCounts;
  close(): Promise<void>;
}

export async function startByteProxy(target: { host: string; port: number }): Promise<ByteProxy> {
  const counts: ByteCounts = { toServer: 0, toClient: 0 };
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.setNoDelay(true);
      s.once('close', () => sockets.delete(s));
    }
    client.on('data', (chunk: Buffer) => (counts.toServer += chunk.length));
    upstream.on('data', (chunk: Buffer) => (counts.toClient += chunk.length));
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    counts: () => ({ ...counts }),
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
