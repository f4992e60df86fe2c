/**
 * Values an environment YAML holds until the infrastructure is provisioned (see
 * runbook/environments/prod.yaml): hosts under the reserved example domains (RFC 2606) or named
 * `example-...`, e-mail addresses at them, the documentation address ranges (RFC 5737, RFC 3849),
 * all-zero Azure ids, a host key of one repeated character. Running against them only produces
 * DNS failures and timeouts (and an SSH rule nobody can use), so the preflight refuses them by name.
 */
import { BlockList, isIP } from 'node:net';

/** Why `value` is a placeholder, in a few words, or undefined when it looks real. */
export function placeholderReason(value: string): string | undefined {
  if (/^0{8}-0{4}-[0-9a-f]{4}-[0-9a-f]{4}-0{8}[0-9a-f]{4}$/i.test(value)) return 'all-zero id';
  if (/^SHA256:(.)\1{41,}=?$/.test(value)) return 'placeholder host key';
  const mailDomain = /^[^@\s:/]+@([^@\s/]+)$/.exec(value)?.[1];
  if (mailDomain && isExampleHost(mailDomain.toLowerCase())) return 'example e-mail';
  if (isDocumentationRange(value)) return 'documentation address';
  const host = hostOf(value);
  if (host && isDocumentationRange(host)) return 'documentation address';
  if (host && isExampleHost(host)) return 'example host';
  if (/\b(placeholder|changeme|change-me)\b|<[a-z-]+>/i.test(value)) return 'placeholder text';
  return undefined;
}

/** The ranges reserved for documentation: 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32. */
const DOCUMENTATION = new BlockList();
DOCUMENTATION.addSubnet('192.0.2.0', 24, 'ipv4');
DOCUMENTATION.addSubnet('198.51.100.0', 24, 'ipv4');
DOCUMENTATION.addSubnet('203.0.113.0', 24, 'ipv4');
DOCUMENTATION.addSubnet('2001:db8::', 32, 'ipv6');

/** An address, or a CIDR range, that lies wholly inside a documentation range. */
function isDocumentationRange(value: string): boolean {
  const [address = '', prefix] = value.split('/');
  const family = isIP(address);
  if (!family || (prefix !== undefined && !/^\d{1,3}$/.test(prefix))) return false;
  // A wider range (203.0.0.0/16) holds real addresses too: not a placeholder.
  if (prefix !== undefined && Number(prefix) < (family === 4 ? 24 : 32)) return false;
  return DOCUMENTATION.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

function hostOf(value: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
    try {
      // An IPv6 host comes back in brackets.
      return new URL(value).hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1');
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
