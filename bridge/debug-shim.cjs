// Stands in for the `debug` package in the bridge bundle (bridge/bundle.ts). mqtt.js and
// mqtt-packet trace every packet through `debug`, which costs a call and its arguments per
// packet even when tracing is off. Without DEBUG at start, every logger is a no-op; with it, the
// real package.
'use strict';
if (process.env.DEBUG) {
  module.exports = require('debug/src/node.js');
} else {
  const noop = () => undefined;
  const create = () =>
    Object.assign(() => undefined, { enabled: false, extend: create, log: noop, destroy: noop });
  module.exports = Object.assign(create, {
    enable: noop,
    disable: () => '',
    enabled: () => false,
    debug: create,
    default: create,
  });
}
