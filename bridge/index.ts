/** Public API of the bridge for in-process use (local sandbox, benchmarks). */
export { startBridge, type Bridge, type BridgeDeps, type BridgeStats, type HealthReport } from './bridge.js';
export {
  BridgeConfigError,
  DEFAULT_OPTIONS,
  ENV_NAMES,
  optionsFromEnv,
  validateOptions,
  type BridgeOptions,
  type BridgeOptionsInput,
} from './options.js';
export { createJsonLogger, createMemoryLogger, type Logger, type LogLevel } from './log.js';
