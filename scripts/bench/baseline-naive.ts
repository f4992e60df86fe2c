/**
 * Baseline naive (the operator runbook's first design): for every message, one HTTP call to a
 * function that does one autocommitted INSERT, and the PUBACK only after it answered. mqtt.js
 * handles a connection's messages one at a time, so this is bounded by one round trip per message.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import mqtt from 'mqtt';
import pg from 'pg';
import { parseTelemetryTopic, TELEMETRY_FILTER } from '../../common/topics.js';

export interface NaiveBaseline {
  received(): number;
  stop(): Promise<void>;
}

export async function startNaiveBaseline(options: {
  mqttUrl: string;
  username: string;
  password: string;
  databaseUrl: string;
  devices: Map<string, { id: string; tenantId: string }>;
}): Promise<NaiveBaseline> {
  const pool = new pg.Pool({ connectionString: options.databaseUrl, max: 2 });
  let received = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString()) as { topic: string; payload: string };
      const device = options.devices.get(parseTelemetryTopic(body.topic)?.deviceKey ?? '');
      const doc = JSON.parse(body.payload) as { ts: number; id: string; metrics: unknown };
      pool
        .query(
          `insert into public.telemetry (tenant_id, device_id, ts, msg_key, metrics) values ($1, $2, $3, $4, $5)
           on conflict do nothing`,
          [device?.tenantId, device?.id, new Date(doc.ts), `id:${doc.id}`, JSON.stringify(doc.metrics)],
        )
        .then(() => {
          received += 1;
          res.end('ok');
        })
        .catch((error: Error) => {
          res.statusCode = 500;
          res.end(error.message);
        });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const client = await mqtt.connectAsync(options.mqttUrl, {
    username: options.username,
    password: options.password,
    clientId: 'bench-naive',
    clean: true,
  });
  client.handleMessage = (packet, done) => {
    fetch(url, {
      method: 'POST',
      body: JSON.stringify({ topic: packet.topic, payload: packet.payload.toString() }),
    })
      .then(async (res) => {
        await res.arrayBuffer();
        done(res.ok ? undefined : new Error(`HTTP ${res.status}`));
      })
      .catch((error: Error) => done(error));
  };
  await client.subscribeAsync(TELEMETRY_FILTER, { qos: 1 });
  return {
    received: () => received,
    async stop() {
      await client.endAsync();
      await new Promise((r) => server.close(r));
      server.closeAllConnections();
      await pool.end();
    },
  };
}
