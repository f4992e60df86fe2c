/** The real ActionCore: @actions/core, passed in by each action's main.ts. */
import type * as Core from '@actions/core';
import type { ActionCore } from './action-core.js';

export function githubCore(core: typeof Core): ActionCore {
  return {
    getInput: (name) => core.getInput(name),
    setOutput: (name, value) => core.setOutput(name, value),
    setSecret: (value) => core.setSecret(value),
    setFailed: (message) => core.setFailed(message),
    info: (message) => core.info(message),
    warning: (message) => core.warning(message),
    writeSummary: async (markdown) => {
      await core.summary.addRaw(markdown, true).write();
    },
  };
}
