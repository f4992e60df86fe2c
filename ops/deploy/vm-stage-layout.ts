/**
 * Where the bridge role puts things under a root: `/` on the VM, `<sandbox dir>/vm` for the local
 * target (scripts/sandbox/bridge-service.ts installs the sandbox's first release the same way).
 * Mirrors the role's defaults (ansible/roles/bridge/defaults/main.yml).
 */
import { join } from 'node:path';

export interface BridgeLayout {
  /** releases/<release>/bridge.mjs, current -> releases/<release>, previous -> releases/<release>. */
  root: string;
  releases: string;
  current: string;
  /** Kept across releases. */
  journalDir: string;
  configDir: string;
  /** KEY="value" lines (the role's templates/bridge.env.j2), mode 0600. */
  envFile: string;
}

export function bridgeLayout(root: string): BridgeLayout {
  const bridgeRoot = join(root, 'opt', 'mqtt-bridge');
  const configDir = join(root, 'etc', 'mqtt-bridge');
  return {
    root: bridgeRoot,
    releases: join(bridgeRoot, 'releases'),
    current: join(bridgeRoot, 'current'),
    journalDir: join(root, 'var', 'lib', 'mqtt-bridge', 'journal'),
    configDir,
    envFile: join(configDir, 'bridge.env'),
  };
}

/** The bundle's file name inside a release. */
export const BRIDGE_BUNDLE_FILE = 'bridge.mjs';

/** bridge.env as the role writes it: sorted, double-quoted, BRIDGE_JOURNAL_DIR included. */
export function formatBridgeEnv(settings: Record<string, string>, journalDir: string): string {
  const all: Record<string, string> = { ...settings, BRIDGE_JOURNAL_DIR: journalDir };
  const lines = Object.keys(all)
    .sort()
    .map((name) => `${name}="${all[name]}"`);
  return `# Ansible managed\n# The bridge's settings (docs/bridge.md), read by systemd's EnvironmentFile= at each start.\n${lines.join('\n')}\n`;
}

/** Reads bridge.env (KEY="value" lines; values hold no quote, backslash, dollar or newline). */
export function parseBridgeEnv(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z][A-Z0-9_]*)="([^"]*)"$/.exec(line.trim());
    if (m) env[m[1]!] = m[2]!;
  }
  return env;
}
