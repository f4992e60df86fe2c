/**
 * Entry point of the bridge service (systemd on the VM): options from BRIDGE_* environment
 * variables (docs/bridge.md), JSON-lines logs on stdout, graceful stop on SIGTERM / SIGINT.
 *
 *   node --import tsx bridge/main.ts        (or the bundled file)
 *
 * Exit codes: 0 stopped, 1 runtime failure, 2 configuration error.
 */
import { getHeapStatistics } from 'node:v8';
import { startBridge } from './bridge.js';
import { createJsonLogger, errorText } from './log.js';
import { BRIDGE_NODE_FLAGS } from './node-flags.js';
import { BridgeConfigError, optionsFromEnv, type BridgeOptions } from './options.js';

async function main(): Promise<void> {
  let options: BridgeOptions;
  try {
    options = optionsFromEnv(process.env);
  } catch (err) {
    const problems = err instanceof BridgeConfigError ? err.problems : [errorText(err)];
    process.stderr.write(
      `${JSON.stringify({ ts: new Date().toISOString(), level: 'error', msg: 'bridge_config_invalid', problems })}\n`,
    );
    process.exit(2);
  }
  const log = createJsonLogger(options.logLevel);
  process.on('uncaughtException', (err) => {
    // The journal is consistent after any crash; let systemd restart us.
    log.error('uncaught_exception', { error: errorText(err), stack: err.stack });
    process.exit(1);
  });
  process.on('unhandledRejection', (reason) => {
    log.error('unhandled_rejection', { error: errorText(reason) });
    process.exit(1);
  });

  const heapLimit = getHeapStatistics().heap_size_limit;
  if (heapLimit > 256 * 1024 * 1024) {
    // V8 collects lazily up to its (large) default limit; bounded, the bridge stays under 100 MB RSS.
    log.warn('node_heap_unbounded', {
      heapLimitMB: Math.round(heapLimit / 1024 / 1024),
      note: `run node with ${BRIDGE_NODE_FLAGS.join(' ')} (e.g. NODE_OPTIONS) to keep RSS under 100 MB`,
    });
  }
  const bridge = await startBridge(options, { logger: log });
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled) {
      log.warn('bridge_forced_exit', {
        signal,
        note: 'second signal; the journal keeps what was not forwarded',
      });
      process.exit(1);
    }
    signalled = true;
    log.info('bridge_signal', { signal });
    bridge.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error('bridge_stop_failed', { error: errorText(err) });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

main().catch((err: unknown) => {
  process.stderr.write(
    `${JSON.stringify({ ts: new Date().toISOString(), level: 'error', msg: 'bridge_start_failed', error: errorText(err) })}\n`,
  );
  process.exit(1);
});
