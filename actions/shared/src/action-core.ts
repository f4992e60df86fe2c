/**
 * The part of @actions/core an action adapter uses, as an interface so the adapters can be tested
 * with a recording stand-in instead of a module mock. `githubCore` (github-core.ts) is the real one.
 */
export interface ActionCore {
  /** The input's value, trimmed; '' when not given. */
  getInput(name: string): string;
  setOutput(name: string, value: string | number): void;
  /** Masks the value in every later log line of the job. */
  setSecret(value: string): void;
  setFailed(message: string): void;
  info(message: string): void;
  warning(message: string): void;
  /** Appends Markdown to the job summary. */
  writeSummary(markdown: string): Promise<void>;
}

/** GitHub refuses a step summary over 1 MiB; keep below it with room for the truncation note. */
export const SUMMARY_LIMIT_BYTES = 1_000_000;

export function fitSummary(markdown: string, limit = SUMMARY_LIMIT_BYTES): string {
  if (Buffer.byteLength(markdown) <= limit) return markdown;
  const note = '\n\n_(report truncated for the job summary; the full report is in the artifact)_\n';
  let cut = markdown.slice(0, limit - Buffer.byteLength(note));
  while (Buffer.byteLength(cut) > limit - Buffer.byteLength(note)) cut = cut.slice(0, -1024);
  return cut + note;
}
