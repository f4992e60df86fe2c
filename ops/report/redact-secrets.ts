/**
 * Hides what looks like a credential in text that came from outside (log lines, error messages)
 * before it reaches a report or an issue. Values we know (secrets read from the environment) are
 * redacted exactly by ops/config/secrets.ts; this catches the ones we do not know.
 */

// Patterns applied after the chain below: service-specific keys and anything key-shaped.
const SECRET_PATTERNS: [RegExp, string][] = [
  // user:password@ in any URL (postgres://, amqp://, https://...)
  [/\b([a-z][a-z0-9+.-]*:\/\/)([^\s/@:]*):([^\s/@]+)@/gi, '$1$2:***@'],
  [/\bBearer\s+[A-Za-z0-9._~+/-]+=*/g, 'Bearer ***'],
  [/\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g, '***'],
  [/\b(sb_secret_|sb_publishable_|sbp_)[A-Za-z0-9_-]+/g, '$1***'],
  [
    /\b(password|passwd|pwd|secret|token|access_token|refresh_token|client_secret|api[_-]?key|apikey|accountkey|sharedaccesskey|sharedaccesssignature|sig|code|x-functions-key)(\s*[=:]\s*)("[^"]*"|'[^']*'|(?!\*\*\*)[^\s;&,"'\\]+)/gi,
    '$1$2***',
  ],
  // Long key-like runs (storage keys, SAS signatures) that no pattern above caught.
  [/[A-Za-z0-9+/]{40,}={0,2}/g, '***'],
];

/**
 * Hides what looks like a credential in a log line: URL passwords and key/code/token query
 * parameters, `password=...`-style pairs (also as JSON), bearer/basic authorisation, JWTs and
 * private key blocks.
 */
export function redactSecrets(text: string): string {
  let out = text
    .replace(/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)/g, '***')
    .replace(/\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@"']+):[^\s@/"']+@/gi, '$1:***@')
    .replace(
      /([?&](?:code|sig|signature|token|access_token|key|apikey|api_key|password|secret|sas)=)[^&\s"']+/gi,
      '$1***',
    )
    .replace(/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/g, '$1 ***')
    .replace(/\beyJ[\w-]+\.[\w-]+\.[\w-]+/g, '***')
    .replace(
      /\b((?:[a-z]+[_-]?)?(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|account[_-]?key|private[_-]?key|authorization|credentials?))(\\?["']?\s*[:=]\s*\\?["']?)(?!\*\*\*|Bearer\b|Basic\b)[^\s"'\\,;&}]+/gi,
      '$1$2***',
    );
  for (const [pattern, replacement] of SECRET_PATTERNS) out = out.replace(pattern, replacement);
  return out;
}
