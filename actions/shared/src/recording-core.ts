/**
 * An ActionCore that records what an action did, for the actions' tests: inputs come from a
 * plain object (as the runner would give them, defaults applied by the caller).
 */
import type { ActionCore } from './action-core.js';

export interface RecordingCore extends ActionCore {
  outputs: Record<string, string>;
  secrets: string[];
  failed: string[];
  logs: string[];
  warnings: string[];
  summary: string;
}

export function recordingCore(inputs: Record<string, string> = {}): RecordingCore {
  const core: RecordingCore = {
    outputs: {},
    secrets: [],
    failed: [],
    logs: [],
    warnings: [],
    summary: '',
    getInput: (name) => (inputs[name] ?? '').trim(),
    setOutput: (name, value) => {
      core.outputs[name] = String(value);
    },
    setSecret: (value) => {
      core.secrets.push(value);
    },
    setFailed: (message) => {
      core.failed.push(message);
    },
    info: (message) => {
      core.logs.push(message);
    },
    warning: (message) => {
      core.warnings.push(message);
    },
    writeSummary: async (markdown) => {
      core.summary += markdown;
    },
  };
  return core;
}
