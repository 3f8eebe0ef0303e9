/**
 * API security: tokens (missing, malformed, wrong, revoked, expired), roles and scopes, the
 * token routes, and the audit of every login and refusal. Real registry, real store, inject().
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenStore } from '../../hub/security/tokens.js';
import { apiFixture, auditSince, type Fixture, lastAuditId, NOW } from './api-security-fixture.js';

let f: Fixture;
beforeAll(async () => {
  f = await apiFixture();
});
afterAll(async () => {
  await f.close();
});

const get = (token: string | undefined, url: string) => f.call(token, { method: 'GET', url });

describe('authentication', () => {
  it('refuses a request without a token: 401, WWW-Authenticate: Bearer, audited', async () => {
    const before = lastAuditId(f);
    const r = await get(undefined, '/api/v1/stats');
    expect(r.statusCode).toBe(401);
    expect(r.headers['www-authenticate']).toBe('Bearer realm="wanji"');
    expect(r.json()).toMatchObject({ statusCode: 401, code: 'WANJI_E_API_UNAUTHORIZED' });
    expect(auditSince(f, before)).toMatchObject([
      {
        actor: 'anonymous',
        action: 'access',
        target: 'GET /api/v1/stats',
        outcome: 'refused',
        source: '127.0.0.1',
        detail: { reason: 'no token' },
      },
    ]);
  });

  it('lets public routes through without a token', async () => {
    expect((await get(undefined, '/healthz')).statusCode).toBe(200);
    expect((await get(undefined, '/')).statusCode).toBe(200);
  });

  it('refuses malformed, unknown and mistyped tokens, each audited with its reason', async () => {
    const good = f.token('admin');
    const id = good.slice(3, 15);
    const other = f.token('admin');
    const cases: [Record<string, string>, string, string][] = [
      [
        { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` },
        'anonymous',
        'malformed authorization header',
      ],
      [{ authorization: 'Bearer' }, 'anonymous', 'malformed authorization header'],
      [{ authorization: 'Bearer not-a-token' }, 'anonymous', 'malformed'],
      [{ authorization: `Bearer ${good}x` }, 'anonymous', 'malformed'],
      [{ authorization: `Bearer wj_000000000000_${good.slice(16)}` }, 'token:000000000000', 'unknown'],
      // The right id with another token's secret.
      [{ authorization: `Bearer wj_${id}_${other.slice(16)}` }, `token:${id}`, 'wrong secret'],
    ];
    for (const [headers, actor, reason] of cases) {
      const before = lastAuditId(f);
      const r = await f.app.inject({ url: '/api/v1/stats', headers });
      expect(r.statusCode, headers.authorization).toBe(401);
      expect(r.headers['www-authenticate']).toBe('Bearer realm="wanji", error="invalid_token"');
      expect(r.json().code).toBe('WANJI_E_API_UNAUTHORIZED');
      const entries = auditSince(f, before);
      expect(entries, headers.authorization).toMatchObject([
        { actor, action: 'login', outcome: 'refused', detail: { reason } },
      ]);
      // Never a secret in the audit log.
      expect(JSON.stringify(entries)).not.toContain(other.slice(16));
    }
    expect((await get(good, '/api/v1/stats')).statusCode).toBe(200);
  });

  it('audits the first use of a token as a login, once per process', async () => {
    const t = f.token('bureau');
    const before = lastAuditId(f);
    for (let i = 0; i < 3; i++) expect((await get(t, '/api/v1/stats')).statusCode).toBe(200);
    const logins = auditSince(f, before).filter((e) => e.action === 'login');
    expect(logins).toMatchObject([
      { actor: `token:${t.slice(3, 15)}`, outcome: 'ok', source: '127.0.0.1', detail: { role: 'bureau' } },
    ]);
    expect(f.tokens.get(t.slice(3, 15))?.lastUsedAt).toBe(NOW);
  });

  it('refuses a revoked token from the next request on, though its check is cached', async () => {
    const admin = f.token('admin');
    const victim = f.token('operator');
    const id = victim.slice(3, 15);
    expect((await get(victim, '/api/v1/machines')).statusCode).toBe(200);
    expect(f.tokens.isCached(victim)).toBe(true);
    const del = await f.call(admin, { method: 'DELETE', url: `/api/v1/tokens/${id}` });
    expect(del.statusCode).toBe(200);
    expect(del.json()).toMatchObject({ id, status: 'revoked', revokedAt: new Date(NOW).toISOString() });
    const before = lastAuditId(f);
    const r = await get(victim, '/api/v1/machines');
    expect(r.statusCode).toBe(401);
    expect(auditSince(f, before)).toMatchObject([
      { actor: `token:${id}`, action: 'login', outcome: 'refused', detail: { reason: 'revoked' } },
    ]);
    // Revoking again: 404, nothing changes.
    const again = await f.call(admin, { method: 'DELETE', url: `/api/v1/tokens/${id}` });
    expect(again.statusCode).toBe(404);
    expect(again.json().code).toBe('WANJI_E_TOKEN_NOT_FOUND');
  });

  it('refuses at once a token revoked by another process (wanji token revoke)', async () => {
    const t = f.token('operator');
    expect((await get(t, '/api/v1/gateways')).statusCode).toBe(200);
    // A second store on the same file, as the CLI opens it.
    const cli = new TokenStore(f.registry.database, f.audit);
    cli.revoke(t.slice(3, 15), { actor: 'cli:ops', source: 'cli' });
    expect((await get(t, '/api/v1/gateways')).statusCode).toBe(401);
  });

  it('refuses an expired token', async () => {
    const t = f.token('bureau', { expiresAt: NOW + 3_600_000 });
    expect((await get(t, '/api/v1/stats')).statusCode).toBe(200);
    f.now = NOW + 3_600_000;
    try {
      const before = lastAuditId(f);
      expect((await get(t, '/api/v1/stats')).statusCode).toBe(401);
      expect(auditSince(f, before)[0]).toMatchObject({ action: 'login', detail: { reason: 'expired' } });
    } finally {
      f.now = NOW;
    }
  });
});

describe('roles', () => {
  const fleet = ['/api/v1/machines', '/api/v1/gateways', '/api/v1/gateways/acme/gw-acme'];
  const telemetry = [
    '/api/v1/machines/acme/m-acme',
    '/api/v1/machines/acme/m-acme/series?metric=Signals/speed',
  ];
  const admin = ['/api/v1/tokens', '/api/v1/audit'];
  const aggregate = ['/api/v1/stats', '/api/v1/enterprises'];

  it('bureau: aggregates only; no raw series, no machine or gateway lists, no tokens', async () => {
    const t = f.token('bureau');
    for (const url of aggregate) expect((await get(t, url)).statusCode, url).toBe(200);
    for (const url of [...fleet, ...telemetry, ...admin]) {
      const before = lastAuditId(f);
      const r = await get(t, url);
      expect(r.statusCode, url).toBe(403);
      expect(r.json().code).toBe('WANJI_E_API_FORBIDDEN');
      expect(JSON.stringify(r.json())).not.toContain('m-acme"');
      const entries = auditSince(f, before);
      expect(entries, url).toMatchObject([
        {
          action: 'access',
          outcome: 'refused',
          detail: {
            reason: `role bureau may not reach ${url.includes('/tokens') || url.includes('/audit') ? 'admin' : url.includes('/machines/') ? 'telemetry' : 'fleet'} routes`,
          },
        },
      ]);
    }
  });

  it('operator: fleet and telemetry, not tokens or the audit log; admin: everything', async () => {
    const op = f.token('operator');
    for (const url of [...aggregate, ...fleet, ...telemetry])
      expect((await get(op, url)).statusCode, url).toBe(200);
    for (const url of admin) expect((await get(op, url)).statusCode, url).toBe(403);
    const ad = f.token('admin');
    for (const url of [...aggregate, ...fleet, ...telemetry, ...admin]) {
      expect((await get(ad, url)).statusCode, url).toBe(200);
    }
  });
});

describe('enterprise scope', () => {
  it('sees only its own machines, gateways and enterprise, by list and by filter', async () => {
    const t = f.token('enterprise', { enterprise: 'acme' });
    const machines = (await get(t, '/api/v1/machines')).json();
    expect(machines).toMatchObject({ total: 1, machines: [{ enterprise: 'acme', id: 'm-acme' }] });
    const before = lastAuditId(f);
    const other = await get(t, '/api/v1/machines?enterprise=beta');
    expect(other.statusCode).toBe(200);
    expect(other.json()).toEqual({ total: 0, machines: [] });
    expect(auditSince(f, before)).toMatchObject([
      {
        action: 'access',
        target: 'enterprise beta',
        outcome: 'refused',
        detail: { reason: 'outside the scope' },
      },
    ]);
    expect((await get(t, '/api/v1/machines?region=yongkang')).json().total).toBe(0);
    const gateways = (await get(t, '/api/v1/gateways')).json().gateways;
    expect(gateways.map((g: { group: string }) => g.group)).toEqual(['acme']);
    const enterprises = (await get(t, '/api/v1/enterprises')).json().enterprises;
    expect(enterprises.map((e: { code: string }) => e.code)).toEqual(['acme']);
  });

  it('gets 404 for another enterprise by direct URL, the same answer as for nothing there', async () => {
    const t = f.token('enterprise', { enterprise: 'acme' });
    expect((await get(t, '/api/v1/machines/acme/m-acme')).statusCode).toBe(200);
    const pairs: [string, string][] = [
      ['/api/v1/machines/beta/m-beta', '/api/v1/machines/nobody/m-beta'],
      [
        '/api/v1/machines/beta/m-beta/series?metric=Signals/speed',
        '/api/v1/machines/nobody/m-beta/series?metric=Signals/speed',
      ],
      ['/api/v1/gateways/beta/gw-beta', '/api/v1/gateways/nobody/gw-beta'],
    ];
    for (const [theirs, missing] of pairs) {
      const before = lastAuditId(f);
      const a = await get(t, theirs);
      const b = await get(t, missing);
      expect(a.statusCode, theirs).toBe(404);
      expect(b.statusCode, missing).toBe(404);
      expect(a.json().message.replaceAll('"beta"', '"nobody"')).toBe(b.json().message);
      expect(a.json().code).toBe('WANJI_E_API_NOT_FOUND');
      // Only the real object outside the scope is a refusal; the missing one is just missing.
      expect(auditSince(f, before)).toMatchObject([
        { action: 'access', outcome: 'refused', detail: { reason: 'outside the scope' } },
      ]);
    }
  });

  it('sees statistics of itself only', async () => {
    const t = f.token('enterprise', { enterprise: 'beta' });
    const s = (await get(t, '/api/v1/stats')).json();
    expect(s).toMatchObject({ enterprises: 1, networked: 1, machines: 1, productionEquipment: 10 });
  });

  it('cannot be created for an enterprise the registry does not know', async () => {
    expect(() => f.token('enterprise', { enterprise: 'ghost' })).toThrow(/not in the registry/);
  });
});

describe('bureau scoped to regions', () => {
  it('sees only its regions in statistics and enterprises', async () => {
    const all = (await get(f.token('bureau'), '/api/v1/stats')).json();
    expect(all).toMatchObject({ enterprises: 3, networked: 3, productionEquipment: 19 });
    const yiwu = f.token('bureau', { regions: ['yiwu'] });
    const s = (await get(yiwu, '/api/v1/stats')).json();
    expect(s).toMatchObject({ enterprises: 2, networked: 2, machines: 2, productionEquipment: 9 });
    expect(s.byRegion.map((r: { code: string }) => r.code)).toEqual(['yiwu']);
    const hardware = s.byIndustry.find((i: { code: string }) => i.code === 'hardware');
    expect(hardware).toMatchObject({ enterprises: 2, networked: 2 });
    const e = (await get(yiwu, '/api/v1/enterprises')).json().enterprises;
    expect(e.map((x: { code: string }) => x.code)).toEqual(['acme', 'gamma']);
    const both = f.token('bureau', { regions: ['yiwu', 'yongkang'] });
    expect((await get(both, '/api/v1/stats')).json()).toMatchObject({ enterprises: 3, networked: 3 });
  });
});

describe('token routes (admin)', () => {
  it('creates a token that works, lists it without its secret, and audits the change', async () => {
    const admin = f.token('admin');
    const before = lastAuditId(f);
    const r = await f.call(admin, {
      method: 'POST',
      url: '/api/v1/tokens',
      payload: { role: 'bureau', name: 'county office', regions: ['yongkang'], expires: '30d' },
    });
    expect(r.statusCode).toBe(201);
    const { token, record } = r.json();
    expect(token).toMatch(/^wj_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    expect(record).toMatchObject({
      role: 'bureau',
      name: 'county office',
      regions: ['yongkang'],
      enterprise: null,
      status: 'active',
      createdBy: `token:${admin.slice(3, 15)}`,
      expiresAt: new Date(NOW + 30 * 86_400_000).toISOString(),
    });
    const s = (await get(token, '/api/v1/stats')).json();
    expect(s).toMatchObject({ enterprises: 1, productionEquipment: 10 });
    const list = await get(admin, '/api/v1/tokens');
    expect(list.json().tokens.find((t: { id: string }) => t.id === record.id)).toMatchObject({
      name: 'county office',
    });
    expect(list.body).not.toContain(token.slice(16));
    expect(list.body).not.toContain('scrypt$');
    expect(auditSince(f, before).filter((e) => e.action === 'token.create')).toMatchObject([
      {
        actor: `token:${admin.slice(3, 15)}`,
        target: record.id,
        outcome: 'ok',
        detail: { role: 'bureau', regions: ['yongkang'] },
      },
    ]);
  });

  it('refuses a bad token request with a clear error, stores nothing, audits the refusal', async () => {
    const admin = f.token('admin');
    await get(admin, '/api/v1/tokens'); // its login, so that it is not counted below
    const bad: [Record<string, unknown>, number, string, RegExp][] = [
      [{ role: 'enterprise' }, 400, 'WANJI_E_TOKEN_INVALID', /needs --enterprise/],
      [{ role: 'enterprise', enterprise: 'ghost' }, 400, 'WANJI_E_TOKEN_INVALID', /not in the registry/],
      [{ role: 'bureau', regions: ['atlantis'] }, 400, 'WANJI_E_TOKEN_INVALID', /unknown region "atlantis"/],
      [{ role: 'operator', regions: ['yiwu'] }, 400, 'WANJI_E_TOKEN_INVALID', /only role bureau/],
      [{ role: 'bureau', expires: 'tomorrow' }, 400, 'WANJI_E_TOKEN_INVALID', /not a duration/],
      [{ role: 'root' }, 400, 'WANJI_E_API_VALIDATION', /role/],
      [{ role: 'admin', owner: 'me' }, 400, 'WANJI_E_API_VALIDATION', /additional/],
    ];
    for (const [payload, status, code, message] of bad) {
      const counts = f.counts();
      const before = lastAuditId(f);
      const r = await f.call(admin, { method: 'POST', url: '/api/v1/tokens', payload });
      expect(r.statusCode, JSON.stringify(payload)).toBe(status);
      expect(r.json().code, JSON.stringify(payload)).toBe(code);
      expect(r.json().message).toMatch(message);
      expect(f.counts(), JSON.stringify(payload)).toEqual({ ...counts, audit_log: counts.audit_log! + 1 });
      expect(auditSince(f, before)).toMatchObject([{ action: 'token.create', outcome: 'refused' }]);
    }
  });

  it('lists the audit log to an admin, newest first, filtered', async () => {
    const admin = f.token('admin');
    const r = await get(admin, '/api/v1/audit?action=token.create&limit=2');
    expect(r.statusCode).toBe(200);
    const entries = r.json().entries;
    expect(entries.length).toBe(2);
    expect(entries.every((e: { action: string }) => e.action === 'token.create')).toBe(true);
    expect(entries[0].id).toBeGreaterThan(entries[1].id);
  });
});
