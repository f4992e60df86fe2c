/**
 * Values an environment YAML holds until the infrastructure is provisioned (see
 * runbook/environments/prod.yaml): hosts under the reserved example domains (RFC 2606) or named
 * `example-...`, all-zero Azure ids, a host key of one repeated character. Running against them
 * only produces DNS failures and timeouts, so the preflight refuses them by name.
 */

/** Why `value` is a placeholder, in a few words, or undefined when it looks real. */
export function placeholderReason(value: string): string | undefined {
  if (/^0{8}-0{4}-[0-9a-f]{4}-[0-9a-f]{4}-0{8}[0-9a-f]{4}$/i.test(value)) return 'all-zero id';
  if (/^SHA256:(.)\1{41,}=?$/.test(value)) return 'placeholder host key';
  const host = hostOf(value);
  if (host && isExampleHost(host)) return 'example host';
  if (/\b(placeholder|changeme|change-me)\b|<[a-z-]+>/i.test(value)) return 'placeholder text';
  return undefined;
}

function hostOf(value: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
    try {
      return new URL(value).hostname.toLowerCase();
    } catch {
      return undefined;
    }
  }
  // A bare host name (the YAML's `host:` fields): letters, digits, dots and dashes with a dot.
  return /^[a-z0-9-]+(\.[a-z0-9-]+)+$/i.test(value) ? value.toLowerCase() : undefined;
}

function isExampleHost(host: string): boolean {
  const labels = host.replace(/\.$/, '').split('.');
  const tld = labels.at(-1)!;
  if (tld === 'example' || tld === 'invalid') return true;
  const domain = labels.slice(-2).join('.');
  if (['example.com', 'example.net', 'example.org'].includes(domain)) return true;
  return labels.some((l) => l === 'example' || l.startsWith('example-') || l.startsWith('your-'));
}
