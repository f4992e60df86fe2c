import { bytesExcerpt } from '../../../common/storable-text.js';

/** A dead-letter-safe excerpt of a raw payload: at most `max` characters, always storable. */
export function payloadExcerpt(payload: Uint8Array, max = 512): string {
  return bytesExcerpt(payload, max);
}

/** The prefix of a dead letter's excerpt that holds the whole payload, base64-encoded. */
export const BASE64_EXCERPT_PREFIX = 'base64:';

/**
 * The whole payload in a form every database stores, for a message whose content the database
 * refused after validation passed: it can be inspected and replayed, nothing is lost.
 */
export function payloadBase64(payload: Uint8Array): string {
  return `${BASE64_EXCERPT_PREFIX}${Buffer.from(payload).toString('base64')}`;
}
