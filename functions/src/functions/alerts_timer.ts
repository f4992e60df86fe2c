// Azure Functions v4 adapter for the alerts timer: no-data rules and outbox delivery, every minute.
// Logic in ../alerts/. Settings (besides DATABASE_URL, see ../app-context.ts):
//   ALERTS_MQTT_URL        broker URL for mqtt channels (mqtts://host:8883); unset: mqtt rows retry, then fail
//   ALERTS_MQTT_USERNAME   the platform's publisher identity (ACL: write t/+/alerts)
//   ALERTS_MQTT_PASSWORD
//   ALERTS_MQTT_CA_PEM     optional CA certificate (PEM) for a private broker CA
//   ALERTS_WEBHOOK_ALLOW_PRIVATE=1   allow webhooks to private/loopback addresses (sandbox only)
import azureFunctions, { type InvocationContext, type Timer } from '@azure/functions';
import { appContext } from '../app-context.js';
import { lazyMqttPublisher, type LazyMqttPublisher } from '../alerts/mqtt.js';
import { runAlertsTick } from '../alerts/tick.js';

let publisher: LazyMqttPublisher | null | undefined;

function mqttPublisherFromEnv(env: NodeJS.ProcessEnv): LazyMqttPublisher | null {
  if (publisher !== undefined) return publisher;
  const url = env.ALERTS_MQTT_URL;
  publisher = url
    ? lazyMqttPublisher(url, {
        username: env.ALERTS_MQTT_USERNAME || undefined,
        password: env.ALERTS_MQTT_PASSWORD || undefined,
        ca: env.ALERTS_MQTT_CA_PEM || undefined,
        clientId: `alerts-${process.pid}-${Math.random().toString(16).slice(2, 10)}`,
      })
    : null;
  return publisher;
}

export async function alertsTimer(_timer: Timer, context: InvocationContext): Promise<void> {
  const env = process.env;
  const result = await runAlertsTick(appContext(env).pool, {
    publishMqtt: mqttPublisherFromEnv(env)?.publish,
    allowPrivateWebhookTargets: env.ALERTS_WEBHOOK_ALLOW_PRIVATE === '1',
  });
  context.log(JSON.stringify({ msg: 'alerts tick', ...result }));
}

azureFunctions.app.timer('alerts_timer', { schedule: '0 */1 * * * *', handler: alertsTimer });
