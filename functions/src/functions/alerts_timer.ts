// Azure Functions v4 adapter for the alerts timer: no-data rules and outbox delivery, every minute.
// Logic in ../alerts/; settings (database, alerts) in ../settings.ts.
import azureFunctions, { type InvocationContext, type Timer } from '@azure/functions';
import { appContext } from '../app-context.js';
import { lazyMqttPublisher, type LazyMqttPublisher } from '../alerts/mqtt.js';
import { runAlertsTick } from '../alerts/tick.js';
import { settings, type AlertsSettings } from '../settings.js';

let publisher: LazyMqttPublisher | null | undefined;

function mqttPublisher(mqtt: AlertsSettings['mqtt']): LazyMqttPublisher | null {
  if (publisher !== undefined) return publisher;
  publisher = mqtt
    ? lazyMqttPublisher(mqtt.url, {
        username: mqtt.username,
        password: mqtt.password,
        ca: mqtt.ca,
        clientId: `alerts-${process.pid}-${Math.random().toString(16).slice(2, 10)}`,
      })
    : null;
  return publisher;
}

export async function alertsTimer(_timer: Timer, context: InvocationContext): Promise<void> {
  const { database, alerts } = settings('database', 'alerts');
  const result = await runAlertsTick(appContext(database).pool, {
    publishMqtt: mqttPublisher(alerts.mqtt)?.publish,
    allowPrivateWebhookTargets: alerts.allowPrivateWebhookTargets,
  });
  context.log(JSON.stringify({ msg: 'alerts tick', ...result }));
}

azureFunctions.app.timer('alerts_timer', { schedule: '0 */1 * * * *', handler: alertsTimer });
