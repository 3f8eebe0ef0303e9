/**
 * Client addresses as limits count them, and the reverse proxies whose X-Forwarded-For the API
 * believes (hub config `http.trustProxy`, docs/api.md "Behind a reverse proxy").
 */
import { isIP } from 'node:net';

/**
 * The key a limit counts a client address under: an IPv4 address as it is (an IPv4-mapped
 * IPv6 address as its IPv4), an IPv6 address as its /64, the smallest block a host is given
 * (so one host cannot dodge a limit by rotating addresses inside its own network).
 */
export function sourceKey(address: string | undefined): string {
  if (address === undefined || address === '') return 'unknown';
  const bare = address.replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare);
  if (mapped?.[1] !== undefined) return mapped[1];
  if (isIP(bare) !== 6) return bare;
  return `${ipv6Groups(bare).slice(0, 4).join(':')}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address, as lower-case hex without leading zeros. */
function ipv6Groups(address: string): string[] {
  const [head = '', tail] = address.toLowerCase().split('::');
  const part = (s: string | undefined): string[] =>
    s === undefined || s === ''
      ? []
      : s.split(':').flatMap((g) => {
          if (!g.includes('.')) return [g];
          // An embedded IPv4 address is the last two groups.
          const [a = 0, b = 0, c = 0, d = 0] = g.split('.').map(Number);
          return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
        });
  const left = part(head);
  const right = part(tail);
  const zeros = tail === undefined ? [] : Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...zeros, ...right].map((g) => Number.parseInt(g, 16).toString(16));
}

/** What the config's `http.trustProxy` says is wrong, or undefined when it is fine. */
export function trustProxyProblem(value: unknown): string | undefined {
  const fix = 'list your reverse proxy\'s addresses or CIDRs, e.g. trustProxy: ["10.0.0.5", "10.1.0.0/16"]';
  if (value === undefined || value === false) return undefined;
  if (value === true) {
    return `/http/trustProxy: true would believe any X-Forwarded-For, so anyone could choose the address that rate limits and the audit log see (${fix}; false or left out trusts none)`;
  }
  if (!Array.isArray(value)) return `/http/trustProxy: expected a list of addresses or false (${fix})`;
  if (value.length > 256) return `/http/trustProxy: at most 256 entries (${fix})`;
  for (const [i, entry] of value.entries()) {
    if (typeof entry !== 'string' || !isAddressOrCidr(entry)) {
      return `/http/trustProxy/${i}: ${JSON.stringify(entry)?.slice(0, 80)} is not an IP address or CIDR (${fix})`;
    }
  }
  return undefined;
}

function isAddressOrCidr(entry: string): boolean {
  const slash = entry.indexOf('/');
  const address = slash === -1 ? entry : entry.slice(0, slash);
  const family = isIP(address);
  if (family === 0) return false;
  if (slash === -1) return true;
  const bits = entry.slice(slash + 1);
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
}

/** Fastify's `trustProxy`: the proxies' addresses, or false (trust none) for an empty list. */
export function fastifyTrustProxy(list: false | readonly string[] | undefined): false | string[] {
  return list === undefined || list === false || list.length === 0 ? false : [...list];
}
