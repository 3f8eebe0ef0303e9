/**
 * Signing in with user accounts (docs/api.md, "Signing in") against the hub's API over a real
 * registry: the cookie and its attributes, role limits through the cookie, one answer for a
 * wrong name or password, lockout per (user, address) and per address, sign-out, deleting and
 * disabling users, the same-origin rule for cookie-authenticated changes, idle and absolute
 * expiry on the fixture's manual clock, and the users routes.
 */
import { createHash } from 'node:crypto';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiFixture, auditSince, type Fixture, lastAuditId } from './api-security-fixture.js';

const HOUR = 3_600_000;
const PASSWORD = 'correct horse battery';

let f: Fixture;
let admin: string;
beforeAll(async () => {
  f = await apiFixture();
  admin = f.token('admin');
});
afterAll(async () => {
  await f.close();
});

/** The hub's own page asking: same-origin, as a browser marks it. */
const SAME_ORIGIN = { 'sec-fetch-site': 'same-origin' };

async function createUser(
  name: string,
  body: { role: string; regions?: string[]; enterprise?: string } = { role: 'admin' },
): Promise<void> {
  const r = await f.call(admin, {
    method: 'POST',
    url: '/api/v1/users',
    payload: { name, password: PASSWORD, ...body },
  });
  expect(r.statusCode, r.body).toBe(201);
}

function signIn(name: string, password = PASSWORD, address = '10.0.0.1'): Promise<LightMyRequestResponse> {
  return f.app.inject({
    method: 'POST',
    url: '/api/v1/session',
    payload: { name, password },
    remoteAddress: address,
  });
}

/** The `wanji_session=<id>` pair of a sign-in's Set-Cookie. */
function cookieOf(r: LightMyRequestResponse): string {
  const header = String(r.headers['set-cookie']);
  const pair = /^(wanji_session=[A-Za-z0-9_-]{43});/.exec(header)?.[1];
  expect(pair, header).toBeDefined();
  return pair!;
}

async function session(name: string): Promise<string> {
  const r = await signIn(name);
  expect(r.statusCode, r.body).toBe(200);
  return cookieOf(r);
}

function withCookie(cookie: string, o: InjectOptions): Promise<LightMyRequestResponse> {
  return f.app.inject({ ...o, headers: { ...o.headers, cookie } });
}

describe('signing in', () => {
  it('sets an HttpOnly, SameSite=Strict, Path=/ cookie (not Secure over plain HTTP) and answers the principal', async () => {
    await createUser('alice');
    const before = lastAuditId(f);
    const r = await signIn('alice');
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({
      name: 'alice',
      role: 'admin',
      regions: [],
      enterprise: null,
      via: 'session',
      access: expect.arrayContaining(['telemetry', 'admin']),
    });
    const header = String(r.headers['set-cookie']);
    const attrs = header.split(';').map((a) => a.trim());
    expect(attrs[0]).toMatch(/^wanji_session=[A-Za-z0-9_-]{43}$/);
    expect(attrs).toEqual(
      expect.arrayContaining(['HttpOnly', 'SameSite=Strict', 'Path=/', 'Max-Age=604800']),
    );
    expect(attrs).not.toContain('Secure');
    expect(auditSince(f, before)).toMatchObject([
      { actor: 'user:alice', action: 'login', outcome: 'ok', source: '10.0.0.1', detail: { via: 'session' } },
    ]);
    const me = await withCookie(cookieOf(r), { url: '/api/v1/session' });
    expect(me.json()).toMatchObject({ name: 'alice', via: 'session' });
  });

  it('answers a wrong password and an unknown name alike (401), audited', async () => {
    await createUser('bob');
    const before = lastAuditId(f);
    const wrong = await signIn('bob', 'not the password at all', '10.0.1.1');
    const unknown = await signIn('nobody-here', PASSWORD, '10.0.1.1');
    for (const r of [wrong, unknown]) {
      expect(r.statusCode).toBe(401);
      expect(r.headers['set-cookie']).toBeUndefined();
    }
    expect(wrong.json()).toEqual(unknown.json());
    expect(wrong.json()).toMatchObject({
      code: 'WANJI_E_SIGN_IN_FAILED',
      message: 'wrong user name or password',
    });
    const entries = auditSince(f, before);
    expect(entries).toMatchObject([
      { actor: 'user:bob', action: 'login', outcome: 'refused', detail: { reason: 'wrong password' } },
      { actor: 'anonymous', action: 'login', outcome: 'refused', detail: { reason: 'unknown user' } },
    ]);
    // Neither the password tried nor the unknown name is written down.
    expect(JSON.stringify(entries)).not.toMatch(/not the password|nobody-here/);
  });

  it('locks a name out from one address after 5 failures (429, Retry-After); the right password from another address still signs in', async () => {
    await createUser('carol');
    for (let i = 0; i < 5; i++) {
      expect((await signIn('carol', `wrong password ${i}`, '10.0.2.1')).statusCode).toBe(401);
    }
    const locked = await signIn('carol', PASSWORD, '10.0.2.1');
    expect(locked.statusCode).toBe(429);
    expect(locked.json()).toMatchObject({ code: 'WANJI_E_SIGN_IN_LOCKED' });
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
    expect(locked.headers['set-cookie']).toBeUndefined();
    expect((await signIn('carol', PASSWORD, '10.0.2.2')).statusCode).toBe(200);
    // The window ends: the address may try again.
    f.now += 61_000;
    expect((await signIn('carol', PASSWORD, '10.0.2.1')).statusCode).toBe(200);
  });

  it('locks out unknown names from one address together, and one address after 30 failures whatever the names', async () => {
    // Names that do not exist share one key per address: the sixth is held.
    for (let i = 0; i < 5; i++) {
      expect((await signIn(`guess-${i}`, PASSWORD, '10.0.3.1')).statusCode).toBe(401);
    }
    expect((await signIn('guess-5', PASSWORD, '10.0.3.1')).statusCode).toBe(429);
    await createUser('dave');
    expect((await signIn('dave', PASSWORD, '10.0.3.1')).statusCode).toBe(200);
    // 30 failures from one address, 5 for each of six names, hold every name there.
    for (let u = 0; u < 5; u++) {
      await createUser(`many-${u}`);
      for (let i = 0; i < 5; i++) {
        expect((await signIn(`many-${u}`, `wrong ${i} password`, '10.0.4.1')).statusCode).toBe(401);
      }
    }
    for (let i = 0; i < 5; i++) {
      expect((await signIn(`unknown-${i}`, PASSWORD, '10.0.4.1')).statusCode).toBe(401);
    }
    const held = await signIn('dave', PASSWORD, '10.0.4.1');
    expect(held.statusCode).toBe(429);
    expect(held.json().message).toContain('from this address');
    expect((await signIn('dave', PASSWORD, '10.0.4.2')).statusCode).toBe(200);
    f.now += 61_000;
  });

  it('refuses a sign-in posted from another site’s page; a program (no Origin) signs in', async () => {
    await createUser('erin');
    const cross = await f.app.inject({
      method: 'POST',
      url: '/api/v1/session',
      payload: { name: 'erin', password: PASSWORD },
      headers: { origin: 'https://evil.example', host: 'hub.example:8080' },
    });
    expect(cross.statusCode).toBe(403);
    expect(cross.json()).toMatchObject({ code: 'WANJI_E_CROSS_SITE' });
    expect(cross.headers['set-cookie']).toBeUndefined();
    const own = await f.app.inject({
      method: 'POST',
      url: '/api/v1/session',
      payload: { name: 'erin', password: PASSWORD },
      headers: { origin: 'http://hub.example:8080', host: 'hub.example:8080' },
    });
    expect(own.statusCode).toBe(200);
  });
});

describe('a session cookie', () => {
  it('reaches the routes of its role and is refused beyond them; a county bureau user sees only its regions', async () => {
    await createUser('county', { role: 'bureau', regions: ['yiwu'] });
    const cookie = await session('county');
    const stats = await withCookie(cookie, { url: '/api/v1/stats' });
    expect(stats.statusCode).toBe(200);
    const enterprises = await withCookie(cookie, { url: '/api/v1/enterprises' });
    expect(enterprises.statusCode).toBe(200);
    const codes = (enterprises.json() as { enterprises: { code: string }[] }).enterprises.map((e) => e.code);
    expect(codes.sort()).toEqual(['acme', 'gamma']);
    const before = lastAuditId(f);
    for (const url of [
      '/api/v1/machines',
      '/api/v1/gateways',
      '/api/v1/machines/acme/m-acme/series?metric=Signals/speed',
    ]) {
      const r = await withCookie(cookie, { url });
      expect(r.statusCode, url).toBe(403);
      expect(r.json()).toMatchObject({
        code: 'WANJI_E_API_FORBIDDEN',
        message: expect.stringContaining('bureau user'),
      });
    }
    expect(auditSince(f, before)[0]).toMatchObject({
      actor: 'user:county',
      action: 'access',
      outcome: 'refused',
    });
    expect((await withCookie(cookie, { url: '/api/v1/users' })).statusCode).toBe(403);
  });

  it('of an enterprise user sees its own machines only', async () => {
    await createUser('acme-engineer', { role: 'enterprise', enterprise: 'acme' });
    const cookie = await session('acme-engineer');
    const r = await withCookie(cookie, { url: '/api/v1/machines' });
    expect(r.statusCode).toBe(200);
    expect(r.body).toContain('m-acme');
    expect(r.body).not.toContain('m-beta');
    expect((await withCookie(cookie, { url: '/api/v1/machines/beta/m-beta' })).statusCode).toBe(404);
  });

  it('loses to a bearer token sent with it', async () => {
    const cookie = await session('county');
    const r = await f.app.inject({
      url: '/api/v1/session',
      headers: { cookie, authorization: `Bearer ${f.token('operator')}` },
    });
    expect(r.json()).toMatchObject({ role: 'operator', via: 'token' });
    const machines = await f.app.inject({
      url: '/api/v1/machines',
      headers: { cookie, authorization: `Bearer ${f.token('operator')}` },
    });
    expect(machines.statusCode).toBe(200);
  });

  it('ends with sign-out: the old cookie is refused (401), and the cookie is cleared', async () => {
    const cookie = await session('alice');
    const before = lastAuditId(f);
    const out = await withCookie(cookie, { method: 'DELETE', url: '/api/v1/session', headers: SAME_ORIGIN });
    expect(out.statusCode).toBe(204);
    expect(String(out.headers['set-cookie'])).toMatch(/^wanji_session=; Max-Age=0;/);
    expect(auditSince(f, before)).toMatchObject([{ actor: 'user:alice', action: 'logout', outcome: 'ok' }]);
    const after = await withCookie(cookie, { url: '/api/v1/stats' });
    expect(after.statusCode).toBe(401);
    expect(after.json()).toMatchObject({ code: 'WANJI_E_API_UNAUTHORIZED' });
    expect((await withCookie(cookie, { url: '/api/v1/session' })).statusCode).toBe(401);
  });

  it('ends when its user is deleted or disabled; a disabled user cannot sign in', async () => {
    await createUser('temp', { role: 'operator' });
    await createUser('paused', { role: 'operator' });
    const temp = await session('temp');
    const paused = await session('paused');
    expect((await withCookie(temp, { url: '/api/v1/machines' })).statusCode).toBe(200);
    const del = await f.call(admin, { method: 'DELETE', url: '/api/v1/users/temp' });
    expect(del.statusCode).toBe(200);
    expect((await withCookie(temp, { url: '/api/v1/machines' })).statusCode).toBe(401);
    expect((await signIn('temp')).statusCode).toBe(401);

    const off = await f.call(admin, {
      method: 'PATCH',
      url: '/api/v1/users/paused',
      payload: { disabled: true },
    });
    expect(off.statusCode).toBe(200);
    expect(off.json()).toMatchObject({ disabled: true, sessions: 0 });
    expect((await withCookie(paused, { url: '/api/v1/machines' })).statusCode).toBe(401);
    const refused = await signIn('paused');
    expect(refused.statusCode).toBe(401);
    expect(refused.json()).toMatchObject({ code: 'WANJI_E_SIGN_IN_FAILED' });
    await f.call(admin, { method: 'PATCH', url: '/api/v1/users/paused', payload: { disabled: false } });
    expect((await signIn('paused')).statusCode).toBe(200);
  });

  it('must come from the hub’s own pages to change something (403 WANJI_E_CROSS_SITE); a bearer token need not', async () => {
    const cookie = await session('alice');
    const payload = { name: 'made-cross-site', role: 'operator', password: PASSWORD };
    const before = lastAuditId(f);
    for (const headers of [
      { origin: 'https://evil.example', host: 'hub.example:8080' },
      { 'sec-fetch-site': 'cross-site' },
      {},
    ]) {
      const r = await withCookie(cookie, { method: 'POST', url: '/api/v1/users', payload, headers });
      expect(r.statusCode, JSON.stringify(headers)).toBe(403);
      expect(r.json()).toMatchObject({ code: 'WANJI_E_CROSS_SITE' });
    }
    expect(auditSince(f, before)[0]).toMatchObject({
      actor: 'user:alice',
      action: 'access',
      outcome: 'refused',
      detail: { reason: expect.stringContaining('cross-site') },
    });
    expect((await f.call(admin, { url: '/api/v1/users' })).body).not.toContain('made-cross-site');
    // Reading is not a change: no Origin needed.
    expect((await withCookie(cookie, { url: '/api/v1/users' })).statusCode).toBe(200);
    // The same origin (Origin naming the Host, or Sec-Fetch-Site) may.
    const own = await withCookie(cookie, {
      method: 'POST',
      url: '/api/v1/users',
      payload,
      headers: { origin: 'http://hub.example:8080', host: 'hub.example:8080' },
    });
    expect(own.statusCode, own.body).toBe(201);
    expect(auditSince(f, before).at(-1)).toMatchObject({
      actor: 'user:alice',
      action: 'user.create',
      outcome: 'ok',
    });
    // A bearer token from anywhere is a program's request: no same-origin rule.
    const bearer = await f.call(admin, {
      method: 'DELETE',
      url: '/api/v1/users/made-cross-site',
      headers: { origin: 'https://evil.example' },
    });
    expect(bearer.statusCode).toBe(200);
  });

  it('writes its last-seen time at most once a minute, not on every request', async () => {
    await createUser('toucher', { role: 'operator' });
    const cookie = await session('toucher');
    const idHash = createHash('sha256').update(cookie.slice('wanji_session='.length)).digest('hex');
    const lastSeen = () => f.registry.database.sessions.byHash(idHash)?.last_seen_at;
    const signedInAt = lastSeen();
    f.now += 59_000;
    expect((await withCookie(cookie, { url: '/api/v1/stats' })).statusCode).toBe(200);
    expect(lastSeen()).toBe(signedInAt);
    f.now += 1_000;
    expect((await withCookie(cookie, { url: '/api/v1/stats' })).statusCode).toBe(200);
    expect(lastSeen()).toBe(f.now);
  });

  it('ends after 8 h without a request, and 7 days after sign-in however used', async () => {
    await createUser('idler', { role: 'operator' });
    const idle = await session('idler');
    f.now += 8 * HOUR;
    const r = await withCookie(idle, { url: '/api/v1/stats' });
    expect(r.statusCode).toBe(401);
    expect(r.json()).toMatchObject({ code: 'WANJI_E_API_UNAUTHORIZED' });

    const busy = await session('idler');
    // A request every 7 h keeps it alive …
    for (let day = 0; day < 24; day++) {
      f.now += 7 * HOUR;
      const ok = await withCookie(busy, { url: '/api/v1/stats' });
      if (day < 23) expect(ok.statusCode, `after ${(day + 1) * 7} h`).toBe(200);
      // … until 7 days (168 h) after the sign-in.
      else expect(ok.statusCode, 'after 168 h').toBe(401);
    }
  });
});

describe('the users routes', () => {
  it('create with a generated password shown once, list without hashes, change and refuse with the catalogue’s codes', async () => {
    const made = await f.call(admin, {
      method: 'POST',
      url: '/api/v1/users',
      payload: { name: 'generated', role: 'bureau', regions: ['yongkang'] },
    });
    expect(made.statusCode).toBe(201);
    const { password, user } = made.json() as { password: string; user: { name: string; regions: string[] } };
    expect(password).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(user).toMatchObject({ name: 'generated', regions: ['yongkang'], disabled: false });
    expect((await signIn('generated', password)).statusCode).toBe(200);

    const listed = await f.call(admin, { url: '/api/v1/users' });
    expect(listed.statusCode).toBe(200);
    expect(listed.body).not.toContain('scrypt');
    expect(listed.body).not.toContain(password);
    expect(listed.json().users.find((u: { name: string }) => u.name === 'generated')).toMatchObject({
      role: 'bureau',
      sessions: 1,
      lastLoginAt: expect.any(String),
    });

    const cases: [InjectOptions, number, string][] = [
      [
        { method: 'POST', url: '/api/v1/users', payload: { name: 'generated', role: 'operator' } },
        409,
        'WANJI_E_USER_EXISTS',
      ],
      [
        {
          method: 'POST',
          url: '/api/v1/users',
          payload: { name: 'x', role: 'bureau', regions: ['atlantis'] },
        },
        400,
        'WANJI_E_USER_INVALID',
      ],
      [
        {
          method: 'POST',
          url: '/api/v1/users',
          payload: { name: 'x', role: 'enterprise', enterprise: 'nope' },
        },
        400,
        'WANJI_E_USER_INVALID',
      ],
      [
        { method: 'POST', url: '/api/v1/users', payload: { name: 'x', role: 'operator', regions: ['yiwu'] } },
        400,
        'WANJI_E_USER_INVALID',
      ],
      [
        { method: 'POST', url: '/api/v1/users', payload: { name: 'bad\u202ename', role: 'operator' } },
        400,
        'WANJI_E_USER_INVALID',
      ],
      [
        { method: 'POST', url: '/api/v1/users', payload: { name: 'x', role: 'child-hub' } },
        400,
        'WANJI_E_API_VALIDATION',
      ],
      [
        { method: 'POST', url: '/api/v1/users', payload: { name: 'x', role: 'operator', password: 'short' } },
        400,
        'WANJI_E_API_VALIDATION',
      ],
      [
        { method: 'PATCH', url: '/api/v1/users/ghost', payload: { disabled: true } },
        404,
        'WANJI_E_USER_NOT_FOUND',
      ],
      [{ method: 'PATCH', url: '/api/v1/users/generated', payload: {} }, 400, 'WANJI_E_API_VALIDATION'],
      [{ method: 'DELETE', url: '/api/v1/users/ghost' }, 404, 'WANJI_E_USER_NOT_FOUND'],
    ];
    for (const [o, status, code] of cases) {
      const before = lastAuditId(f);
      const r = await f.call(admin, o);
      expect(r.statusCode, `${o.method} ${o.url} ${JSON.stringify(o.payload)}`).toBe(status);
      expect(r.json().code).toBe(code);
      // Refusals are audited once, by the store or the error handler.
      expect(auditSince(f, before).filter((e) => e.outcome === 'refused')).toHaveLength(1);
    }

    // A new password ends the user's sessions; a new role drops the old scope.
    const old = cookieOf(await signIn('generated', password));
    const changed = await f.call(admin, {
      method: 'PATCH',
      url: '/api/v1/users/generated',
      payload: { password: 'a brand new password', role: 'operator' },
    });
    expect(changed.statusCode, changed.body).toBe(200);
    expect(changed.json()).toMatchObject({ role: 'operator', regions: [], sessions: 0 });
    expect((await withCookie(old, { url: '/api/v1/stats' })).statusCode).toBe(401);
    expect((await signIn('generated', password)).statusCode).toBe(401);
    expect((await signIn('generated', 'a brand new password')).statusCode).toBe(200);
  });

  it('a user who sets their own password keeps the session it was set from', async () => {
    await createUser('self', { role: 'admin' });
    const here = await session('self');
    const elsewhere = await session('self');
    const r = await withCookie(here, {
      method: 'PATCH',
      url: '/api/v1/users/self',
      payload: { password: 'my own new password' },
      headers: SAME_ORIGIN,
    });
    expect(r.statusCode, r.body).toBe(200);
    expect((await withCookie(here, { url: '/api/v1/users' })).statusCode).toBe(200);
    expect((await withCookie(elsewhere, { url: '/api/v1/users' })).statusCode).toBe(401);
  });
});
