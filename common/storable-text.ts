/**
 * Text that PostgreSQL will always store: valid UTF-8 with no NUL. A JS string can hold what a
 * `text` or `jsonb` column refuses (NUL, and lone surrogates, which have no UTF-8 encoding), and a
 * refused value fails the whole statement it is in, so every text that ingest stores about a
 * device's message (reject details, payload excerpts, topics) passes through here first.
 */

// Control characters (C0 and DEL) except tab, newline and carriage return: shown as \uXXXX so a
// detail or excerpt reads the same in a terminal, a report or the dashboard. NUL is among them.
// eslint-disable-next-line no-control-regex -- control characters are exactly what it escapes
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g;
// A surrogate not part of a pair (with the u flag a pair is one code point, never matched).
const LONE_SURROGATE = /\p{Cs}/gu;
const REPLACEMENT = '\ufffd';

/** True when `text` holds a surrogate that is not part of a pair. */
export function hasLoneSurrogate(text: string): boolean {
  return /\p{Cs}/u.test(text);
}

/**
 * `text` made storable: lone surrogates become U+FFFD, control characters `\uXXXX`. At most `max`
 * UTF-16 code units, cut at a code point boundary (never inside a pair) and marked with `…`.
 */
export function storableText(text: string, max = Number.POSITIVE_INFINITY): string {
  const safe = text
    .replace(LONE_SURROGATE, REPLACEMENT)
    .replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return safe.length > max ? `${cutAtCodePoint(safe, max)}…` : safe;
}

/** The first `max` code units of `text`, one fewer when the cut would split a surrogate pair. */
export function cutAtCodePoint(text: string, max: number): string {
  if (text.length <= max) return text;
  const last = text.charCodeAt(max - 1);
  const end = last >= 0xd800 && last <= 0xdbff ? max - 1 : max;
  return text.slice(0, Math.max(0, end));
}

/** A readable, storable excerpt of raw bytes: decoded as UTF-8 (invalid bytes become U+FFFD). */
export function bytesExcerpt(bytes: Uint8Array, max = 512): string {
  // Four bytes per character at most: decoding more than that is never needed for `max` characters.
  return storableText(Buffer.from(bytes.subarray(0, max * 4)).toString('utf8'), max);
}
