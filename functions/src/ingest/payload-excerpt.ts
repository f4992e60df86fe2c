/** A dead-letter-safe excerpt of a raw payload: at most `max` characters, no NUL or control bytes. */
export function payloadExcerpt(payload: Uint8Array, max = 512): string {
  const text = Buffer.from(payload.subarray(0, max * 4)).toString('utf8');
  // eslint-disable-next-line no-control-regex -- control characters are exactly what it removes
  const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g;
  const safe = text.replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return safe.length > max ? `${safe.slice(0, max)}…` : safe;
}
