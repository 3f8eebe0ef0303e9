/**
 * Issue 9, "Logins": `http.trustProxy: true` believed any X-Forwarded-For, so 300 token guesses
 * with rotating forged addresses got no 429 and the audit `source` was whatever the guesser
 * wrote. Now trustProxy lists the proxies' addresses or CIDRs; `true` is refused.
 * Real hub, real HTTP (the client is 127.0.0.1).
 */
import { describe, expect, it } from 'vitest';
import { type HubOptions, resolveHubConfig } from '../../hub/config.js';
import { HubConfigError } from '../../hub/errors.js';
import { Hub } from '../../hub/hub.js';
import { apiToken, silentLogger, tempDir } from './helpers.js';

const LIMITS = { enabled: true, windowMs: 60_000, perToken: 6_000, perIp: 120 };
const BAD_TOKEN = `Bearer wj_000000000000_${'a'.repeat(43)}`;

async function withHub(
  http: HubOptions['http'],
  run: (hub: Hub, base: string) => Promise<void>,
): Promise<void> {
  const dir = tempDir();
  const hub = new Hub({
    dataDir: dir.path,
    mqtt: { port: 0 },
    http: { port: 0, ...http },
    logger: silentLogger(),
  });
  try {
    await hub.start();
    await run(hub, `http://127.0.0.1:${hub.httpPort}`);
  } finally {
    await hub.close();
    dir.remove();
  }
}

/** Sources of the refused token logins in the audit log, read through the API. */
async function refusedLoginSources(base: string, admin: { authorization: string }): Promise<string[]> {
  const r = await fetch(`${base}/api/v1/audit?action=login&limit=1000`, { headers: admin });
  expect(r.status).toBe(200);
  const { entries } = (await r.json()) as { entries: { outcome: string; source?: string }[] };
  return entries.filter((e) => e.outcome === 'refused').map((e) => e.source ?? '');
}

const guess = (base: string, forwardedFor: string) =>
  fetch(`${base}/api/v1/stats`, { headers: { authorization: BAD_TOKEN, 'x-forwarded-for': forwardedFor } });

describe('http.trustProxy lists the proxies (issue 9)', () => {
  it('ignores X-Forwarded-For from a peer not listed: 300 guesses with rotating addresses get 429s, audited as the real address', async () => {
    await withHub({ trustProxy: ['10.9.9.9', '192.0.2.0/24'] }, async (hub, base) => {
      const admin = apiToken(hub.registry);
      expect((await fetch(`${base}/api/v1/tokens`, { headers: admin })).status).toBe(200); // checked once: cached
      const statuses: number[] = [];
      for (let i = 0; i < 300; i++)
        statuses.push((await guess(base, `198.51.100.${i % 250}, 10.9.9.9`)).status);
      // The default per-address limit (120 a minute, one taken by the admin token's first check)
      // holds: the forged addresses changed nothing.
      expect(statuses.filter((s) => s === 401)).toHaveLength(119);
      expect(statuses.filter((s) => s === 429)).toHaveLength(181);
      expect(statuses.slice(0, 119).every((s) => s === 401)).toBe(true);
      const sources = await refusedLoginSources(base, admin);
      expect(sources).toHaveLength(119);
      expect(new Set(sources)).toEqual(new Set(['127.0.0.1']));
    });
  });

  it('honours X-Forwarded-For from a listed proxy: limits and audits the client it forwards for', async () => {
    await withHub({ trustProxy: ['127.0.0.1'], rateLimit: { ...LIMITS, perIp: 3 } }, async (hub, base) => {
      const admin = apiToken(hub.registry);
      expect((await fetch(`${base}/api/v1/tokens`, { headers: admin })).status).toBe(200);
      const a = [];
      for (let i = 0; i < 4; i++) a.push((await guess(base, '198.51.100.7')).status);
      expect(a).toEqual([401, 401, 401, 429]);
      // Another client behind the same proxy has its own limit.
      expect((await guess(base, '198.51.100.8')).status).toBe(401);
      // What the client wrote itself (leftmost) is not believed: the proxy appended the real peer.
      expect((await guess(base, '203.0.113.66, 198.51.100.9')).status).toBe(401);
      expect(await refusedLoginSources(base, admin)).toEqual([
        '198.51.100.9',
        '198.51.100.8',
        '198.51.100.7',
        '198.51.100.7',
        '198.51.100.7',
      ]);
    });
  });

  it('takes CIDRs: a listed 127.0.0.0/8 is trusted too', async () => {
    await withHub({ trustProxy: ['127.0.0.0/8'], rateLimit: { ...LIMITS, perIp: 1 } }, async (_hub, base) => {
      expect((await guess(base, '198.51.100.1')).status).toBe(401);
      expect((await guess(base, '198.51.100.1')).status).toBe(429);
      expect((await guess(base, '198.51.100.2')).status).toBe(401);
    });
  });
});

describe('http.trustProxy in the hub config', () => {
  const problems = (trustProxy: unknown): string[] => {
    try {
      resolveHubConfig({ dataDir: '/tmp/x', http: { trustProxy } });
      return [];
    } catch (err) {
      if (err instanceof HubConfigError) return [...err.problems];
      throw err;
    }
  };

  it('refuses true, naming /http/trustProxy and the fix', () => {
    const dir = tempDir();
    try {
      const config = { dataDir: dir.path, http: { trustProxy: true }, logger: silentLogger() };
      expect(() => new Hub(config as unknown as HubOptions)).toThrow(HubConfigError);
      expect(() => new Hub(config as unknown as HubOptions)).toThrow(
        /\/http\/trustProxy: true would believe any X-Forwarded-For/,
      );
    } finally {
      dir.remove();
    }
    expect(problems(true)).toEqual([
      '/http/trustProxy: true would believe any X-Forwarded-For, so anyone could choose the address that rate limits and the audit log see (list your reverse proxy\'s addresses or CIDRs, e.g. trustProxy: ["10.0.0.5", "10.1.0.0/16"]; false or left out trusts none)',
    ]);
  });

  it('takes addresses and CIDRs, false, or nothing; refuses anything else naming the entry', () => {
    expect(resolveHubConfig({ dataDir: '/tmp/x' }).http.trustProxy).toBe(false);
    expect(problems(false)).toEqual([]);
    expect(problems([])).toEqual([]);
    expect(problems(['10.0.0.5', '10.1.0.0/16', '::1', 'fd00::/8'])).toEqual([]);
    expect(problems(['10.0.0.5', 'proxy.local'])[0]).toMatch(
      /^\/http\/trustProxy\/1: "proxy.local" is not an IP address or CIDR \(list your reverse proxy's addresses/,
    );
    expect(problems(['10.1.0.0/33'])[0]).toMatch(
      /^\/http\/trustProxy\/0: "10.1.0.0\/33" is not an IP address or CIDR/,
    );
    expect(problems('10.0.0.5')[0]).toMatch(/^\/http\/trustProxy: expected a list of addresses or false/);
    expect(problems([1])[0]).toMatch(/^\/http\/trustProxy\/0: 1 is not an IP address or CIDR/);
  });
});
