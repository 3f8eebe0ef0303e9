/**
 * Hostile input to the API: oversized and malformed bodies, injection attempts in every string
 * parameter, floods. Each is refused or answered harmlessly, logged, audited where it is a
 * refusal, and changes nothing (the registry's rows are counted before and after).
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiFixture, auditSince, type Fixture, lastAuditId } from './api-security-fixture.js';

/** A logger that keeps its lines, to check that refusals are logged with their reason. */
function recordingLogger() {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => lines.push(JSON.parse(s)) });
  return { logger, lines };
}

const HOSTILE = [
  "' OR 1=1 --",
  "acme'; DROP TABLE machines; --",
  '"; DELETE FROM api_tokens; --',
  '../../../../etc/passwd',
  '..%2f..%2fregistry.db',
  'acme\u0000',
  '机器😀\u202eevil',
  '<script>alert(1)</script>',
  // A log4j-style lookup, spelled so that it is a plain string here.
  ['$', '{jndi:ldap://x/a}'].join(''),
  'x'.repeat(5_000),
];

describe('bodies', () => {
  let f: Fixture;
  let admin: string;
  const rec = recordingLogger();
  beforeAll(async () => {
    f = await apiFixture({ logger: rec.logger, http: { bodyLimit: 4_096 } });
    admin = f.token('admin');
    await f.call(admin, { url: '/api/v1/tokens' }); // its login
  });
  afterAll(async () => {
    await f.close();
  });

  it('refuses an oversized body with 413, stores nothing, audits and logs the refusal', async () => {
    const counts = f.counts();
    const before = lastAuditId(f);
    const r = await f.call(admin, {
      method: 'POST',
      url: '/api/v1/tokens',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ role: 'admin', name: 'x'.repeat(10_000) }),
    });
    expect(r.statusCode).toBe(413);
    expect(r.json()).toMatchObject({ statusCode: 413, code: 'WANJI_E_API_BODY_TOO_LARGE' });
    expect(f.counts()).toEqual({ ...counts, audit_log: counts.audit_log! + 1 });
    expect(auditSince(f, before)).toMatchObject([
      {
        action: 'token.create',
        outcome: 'refused',
        detail: { status: 413, code: 'WANJI_E_API_BODY_TOO_LARGE' },
      },
    ]);
    expect(
      rec.lines.some((l) => l.msg === 'API request refused' && l.code === 'WANJI_E_API_BODY_TOO_LARGE'),
    ).toBe(true);
  });

  it('answers 401 to an unauthenticated large body before reading it', async () => {
    const r = await f.call(undefined, {
      method: 'POST',
      url: '/api/v1/tokens',
      headers: { 'content-type': 'application/json' },
      payload: 'x'.repeat(100_000),
    });
    expect(r.statusCode).toBe(401);
  });

  it('refuses malformed JSON (400), an empty body (400) and other media types (415)', async () => {
    const cases: [string, string, number, string][] = [
      ['application/json', '{"role": "admin",', 400, 'WANJI_E_API_BAD_BODY'],
      ['application/json', "{'role': 'admin'}", 400, 'WANJI_E_API_BAD_BODY'],
      ['application/json', '', 400, 'WANJI_E_API_BAD_BODY'],
      ['application/json', '"admin"', 400, 'WANJI_E_API_VALIDATION'],
      ['application/json', '{"__proto__": {"role": "admin"}}', 400, 'WANJI_E_API_BAD_BODY'],
      // fastify reads text/plain as a string, which is no token request.
      ['text/plain', 'role=admin', 400, 'WANJI_E_API_VALIDATION'],
      ['application/x-www-form-urlencoded', 'role=admin', 415, 'WANJI_E_API_UNSUPPORTED_MEDIA_TYPE'],
    ];
    for (const [type, payload, status, code] of cases) {
      const counts = f.counts();
      const before = lastAuditId(f);
      const r = await f.call(admin, {
        method: 'POST',
        url: '/api/v1/tokens',
        headers: { 'content-type': type },
        payload,
      });
      expect(r.statusCode, payload).toBe(status);
      expect(r.json().code, payload).toBe(code);
      expect(f.counts(), payload).toEqual({ ...counts, audit_log: counts.audit_log! + 1 });
      expect(auditSince(f, before), payload).toMatchObject([{ action: 'token.create', outcome: 'refused' }]);
    }
  });
});

describe('injection attempts in every string parameter', () => {
  let f: Fixture;
  let admin: string;
  let acme: string;
  const rec = recordingLogger();
  beforeAll(async () => {
    f = await apiFixture({ logger: rec.logger });
    admin = f.token('admin');
    acme = f.token('enterprise', { enterprise: 'acme' });
    await f.call(admin, { url: '/api/v1/stats' });
    await f.call(acme, { url: '/api/v1/stats' });
  });
  afterAll(async () => {
    await f.close();
  });

  type Case = { token: string; method: 'GET' | 'POST' | 'DELETE'; url: string; payload?: unknown };
  const q = encodeURIComponent;

  function cases(s: string): { name: string; c: Case; ok: number[]; audited: boolean }[] {
    const get = (url: string, token = admin): Case => ({ token, method: 'GET', url });
    return [
      {
        name: 'machines ?enterprise',
        c: get(`/api/v1/machines?enterprise=${q(s)}`),
        ok: [200, 400],
        audited: false,
      },
      { name: 'machines ?region', c: get(`/api/v1/machines?region=${q(s)}`), ok: [200, 400], audited: false },
      {
        name: 'machines ?industry',
        c: get(`/api/v1/machines?industry=${q(s)}`),
        ok: [200, 400],
        audited: false,
      },
      // A scoped token naming something else: an empty list, audited as a refusal.
      {
        name: 'scoped ?enterprise',
        c: get(`/api/v1/machines?enterprise=${q(s)}`, acme),
        ok: [200, 400],
        audited: true,
      },
      {
        name: 'machine :enterprise',
        c: get(`/api/v1/machines/${q(s)}/m-acme`),
        ok: [404, 414],
        audited: false,
      },
      { name: 'machine :machine', c: get(`/api/v1/machines/acme/${q(s)}`), ok: [404, 414], audited: false },
      {
        name: 'series ?metric',
        c: get(`/api/v1/machines/acme/m-acme/series?metric=${q(s)}`),
        ok: [200],
        audited: false,
      },
      {
        name: 'series ?from',
        c: get(`/api/v1/machines/acme/m-acme/series?metric=x&from=${q(s)}`),
        ok: [400],
        audited: false,
      },
      {
        name: 'series ?to',
        c: get(`/api/v1/machines/acme/m-acme/series?metric=x&to=${q(s)}`),
        ok: [400],
        audited: false,
      },
      { name: 'gateway :group', c: get(`/api/v1/gateways/${q(s)}/gw-acme`), ok: [404, 414], audited: false },
      { name: 'gateway :node', c: get(`/api/v1/gateways/acme/${q(s)}`), ok: [404, 414], audited: false },
      { name: 'audit ?actor', c: get(`/api/v1/audit?actor=${q(s)}`), ok: [200, 400], audited: false },
      { name: 'audit ?action', c: get(`/api/v1/audit?action=${q(s)}`), ok: [200, 400], audited: false },
      { name: 'audit ?since', c: get(`/api/v1/audit?since=${q(s)}`), ok: [400], audited: false },
      {
        name: 'DELETE token :id',
        c: { token: admin, method: 'DELETE', url: `/api/v1/tokens/${q(s)}` },
        ok: [400, 404, 414],
        audited: true,
      },
      {
        name: 'token body role',
        c: { token: admin, method: 'POST', url: '/api/v1/tokens', payload: { role: s } },
        ok: [400],
        audited: true,
      },
      {
        name: 'token body enterprise',
        c: {
          token: admin,
          method: 'POST',
          url: '/api/v1/tokens',
          payload: { role: 'enterprise', enterprise: s, name: s },
        },
        ok: [400],
        audited: true,
      },
      {
        name: 'token body regions',
        c: { token: admin, method: 'POST', url: '/api/v1/tokens', payload: { role: 'bureau', regions: [s] } },
        ok: [400],
        audited: true,
      },
      {
        name: 'token body expires',
        c: { token: admin, method: 'POST', url: '/api/v1/tokens', payload: { role: 'bureau', expires: s } },
        ok: [400],
        audited: true,
      },
      // Only what HTTP can carry in a header (no NUL, nothing beyond Latin-1).
      ...(/^[\x20-\x7e]*$/.test(s)
        ? [
            {
              name: 'bearer token',
              c: { token: s, method: 'GET' as const, url: '/api/v1/stats' },
              ok: [401],
              audited: true,
            },
          ]
        : []),
    ];
  }

  it('refuses or answers each harmlessly, changes nothing, logs and audits the refusals', async () => {
    for (const s of HOSTILE) {
      for (const { name, c, ok, audited } of cases(s)) {
        const label = `${name} = ${JSON.stringify(s.slice(0, 40))}`;
        const counts = f.counts();
        const before = lastAuditId(f);
        const logged = rec.lines.length;
        const r = await f.call(c.token, {
          method: c.method,
          url: c.url,
          ...(c.payload === undefined ? {} : { payload: c.payload as Record<string, unknown> }),
        });
        expect(ok, `${label}: ${r.statusCode} ${r.body.slice(0, 200)}`).toContain(r.statusCode);
        expect(r.headers['content-type'], label).toMatch(/^application\/json/);
        const entries = auditSince(f, before);
        expect(entries.length, label).toBe(audited ? 1 : 0);
        expect(f.counts(), label).toEqual({ ...counts, audit_log: counts.audit_log! + entries.length });
        if (r.statusCode >= 400) {
          const refusal = rec.lines.slice(logged).find((l) => /refused|no route/.test(String(l.msg)));
          expect(refusal, label).toBeDefined();
          // The log keeps the reason and a bounded path, never the whole hostile string.
          expect(JSON.stringify(refusal).length, label).toBeLessThan(2_000);
        }
      }
    }
    // Everything still there and readable.
    const m = await f.call(admin, { url: '/api/v1/machines' });
    expect(m.json().total).toBe(3);
    expect(f.counts()).toMatchObject({ enterprises: 3, machines: 3, gateways: 3 });
  });
});

describe('rate limits', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await apiFixture({ http: { rateLimit: { perIp: 5, perToken: 8, windowMs: 60_000 } } });
  });
  afterAll(async () => {
    await f.close();
  });

  it('answers 429 per address to requests without a token, and to guessed tokens', async () => {
    const from = '10.0.0.1';
    for (let i = 0; i < 5; i++) {
      expect((await f.app.inject({ url: '/', remoteAddress: from })).statusCode).toBe(200);
    }
    const r = await f.app.inject({ url: '/', remoteAddress: from });
    expect(r.statusCode).toBe(429);
    expect(r.json()).toMatchObject({ code: 'WANJI_E_API_RATE_LIMITED' });
    expect(Number(r.headers['retry-after'])).toBeGreaterThan(0);
    // Guessing from that address: refused before any token check, so not even audited.
    const before = lastAuditId(f);
    const guess = await f.app.inject({
      url: '/api/v1/stats',
      remoteAddress: from,
      headers: { authorization: `Bearer wj_000000000000_${'a'.repeat(43)}` },
    });
    expect(guess.statusCode).toBe(429);
    expect(auditSince(f, before)).toEqual([]);
    // A forged X-Forwarded-For does not reset it (the hub trusts no proxy unless told).
    const forged = await f.app.inject({
      url: '/',
      remoteAddress: from,
      headers: { 'x-forwarded-for': '192.0.2.7' },
    });
    expect(forged.statusCode).toBe(429);
    // Another address is not affected; health probes are never held back.
    expect((await f.app.inject({ url: '/', remoteAddress: '10.0.0.2' })).statusCode).toBe(200);
    expect((await f.app.inject({ url: '/healthz', remoteAddress: from })).statusCode).toBe(200);
  });

  it('answers 429 per token, whatever the address; another token goes on', async () => {
    const a = f.token('operator');
    const b = f.token('operator');
    for (let i = 0; i < 8; i++) {
      const r = await f.call(a, { url: '/api/v1/machines', remoteAddress: `10.1.0.${i}` });
      expect(r.statusCode, `request ${i + 1}`).toBe(200);
    }
    const over = await f.call(a, { url: '/api/v1/machines', remoteAddress: '10.1.0.99' });
    expect(over.statusCode).toBe(429);
    expect((await f.call(b, { url: '/api/v1/machines', remoteAddress: '10.1.0.99' })).statusCode).toBe(200);
  });

  it('a known token is not held back by its address being over the limit', async () => {
    const t = f.token('bureau');
    const from = '10.2.0.1';
    expect((await f.call(t, { url: '/api/v1/stats', remoteAddress: from })).statusCode).toBe(200);
    for (let i = 0; i < 6; i++) await f.app.inject({ url: '/', remoteAddress: from });
    expect((await f.app.inject({ url: '/', remoteAddress: from })).statusCode).toBe(429);
    expect((await f.call(t, { url: '/api/v1/stats', remoteAddress: from })).statusCode).toBe(200);
  });
});

describe('behind a reverse proxy (http.trustProxy)', () => {
  it('limits each client address the proxy forwards', async () => {
    const f = await apiFixture({ http: { trustProxy: ['127.0.0.1'], rateLimit: { perIp: 2 } } });
    try {
      const from = (client: string) =>
        f.app.inject({ url: '/', remoteAddress: '127.0.0.1', headers: { 'x-forwarded-for': client } });
      expect([(await from('198.51.100.1')).statusCode, (await from('198.51.100.1')).statusCode]).toEqual([
        200, 200,
      ]);
      expect((await from('198.51.100.1')).statusCode).toBe(429);
      expect((await from('198.51.100.2')).statusCode).toBe(200);
    } finally {
      await f.close();
    }
  });
});
