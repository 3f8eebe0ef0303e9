/**
 * User sign-in against a real hub listening on port 0, over real HTTP: the Set-Cookie a browser
 * gets (Secure behind a trusted proxy that says https), the cookie reaching the routes of its
 * role, and no password (given, generated or mistyped) in the database file or the hub's log.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Hub } from '../../hub/hub.js';
import { AuditLog } from '../../hub/security/audit.js';
import { TokenStore } from '../../hub/security/tokens.js';
import { tempDir } from './helpers.js';

const GIVEN = 'given-password-Xq7Lw2';
const MISTYPED = 'mistyped-password-Zr9Kp4';

let dir: { path: string; remove: () => void };
let hub: Hub;
let base: string;
let admin: string;
let log = '';

beforeAll(async () => {
  dir = tempDir();
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      log += chunk.toString();
      done();
    },
  });
  hub = new Hub({
    dataDir: dir.path,
    mqtt: { port: 0 },
    // Loopback is the "proxy" here: its X-Forwarded-Proto is believed.
    http: { port: 0, trustProxy: ['127.0.0.1', '::1'] },
    logger: pino({ level: 'trace' }, sink),
  });
  await hub.start();
  base = `http://127.0.0.1:${hub.httpPort}`;
  hub.registry.upsertEnterprise(
    {
      code: 'acme',
      name: 'acme 公司',
      regionCode: 'yiwu',
      industryCode: 'hardware',
      backbone: true,
      ledger: { productionEquipment: 4, ncEquipment: 2, robots: 0 },
    },
    'test',
  );
  const tokens = new TokenStore(hub.registry.database, new AuditLog(hub.registry.database));
  admin = tokens.create({ role: 'admin' }, { actor: 'cli:test', source: 'cli' }).token;
});
afterAll(async () => {
  await hub.close();
  dir.remove();
});

const json = { 'content-type': 'application/json' };

async function signIn(name: string, password: string, headers: Record<string, string> = {}) {
  return fetch(`${base}/api/v1/session`, {
    method: 'POST',
    headers: { ...json, ...headers },
    body: JSON.stringify({ name, password }),
  });
}

describe('a real hub', () => {
  it('sets the session cookie over HTTP, and Secure when a trusted proxy says https', async () => {
    const made = await fetch(`${base}/api/v1/users`, {
      method: 'POST',
      headers: { ...json, authorization: `Bearer ${admin}` },
      body: JSON.stringify({ name: 'wall', role: 'bureau', regions: ['yiwu'], password: GIVEN }),
    });
    expect(made.status).toBe(201);

    const plain = await signIn('wall', GIVEN);
    expect(plain.status).toBe(200);
    const cookies = plain.headers.getSetCookie();
    expect(cookies).toHaveLength(1);
    const attrs = cookies[0]!.split(';').map((a) => a.trim());
    expect(attrs[0]).toMatch(/^wanji_session=[A-Za-z0-9_-]{43}$/);
    expect(attrs).toEqual(expect.arrayContaining(['HttpOnly', 'SameSite=Strict', 'Path=/']));
    expect(attrs).not.toContain('Secure');

    const proxied = await signIn('wall', GIVEN, { 'x-forwarded-proto': 'https' });
    expect(proxied.status).toBe(200);
    expect(
      proxied.headers
        .getSetCookie()[0]!
        .split(';')
        .map((a) => a.trim()),
    ).toContain('Secure');

    const cookie = attrs[0]!;
    const stats = await fetch(`${base}/api/v1/stats`, { headers: { cookie } });
    expect(stats.status).toBe(200);
    const machines = await fetch(`${base}/api/v1/machines`, { headers: { cookie } });
    expect(machines.status).toBe(403);
    const me = await fetch(`${base}/api/v1/session`, { headers: { cookie } });
    const who = (await me.json()) as Record<string, unknown>;
    expect(who).toMatchObject({
      name: 'wall',
      role: 'bureau',
      regions: ['yiwu'],
      enterprise: null,
      via: 'session',
    });
    expect(who.access).toContain('aggregate');
    expect(who.access).not.toContain('telemetry');

    const out = await fetch(`${base}/api/v1/session`, {
      method: 'DELETE',
      headers: { cookie, origin: base },
    });
    expect(out.status).toBe(204);
    expect((await fetch(`${base}/api/v1/stats`, { headers: { cookie } })).status).toBe(401);
  });

  it('keeps no password in clear: not in the database file, not in the log', async () => {
    const made = await fetch(`${base}/api/v1/users`, {
      method: 'POST',
      headers: { ...json, authorization: `Bearer ${admin}` },
      body: JSON.stringify({ name: 'ops', role: 'operator' }),
    });
    expect(made.status).toBe(201);
    const generated = ((await made.json()) as { password: string }).password;
    const signed = await signIn('ops', generated);
    expect(signed.status).toBe(200);
    // The session id is a secret too: only its hash is stored.
    const sessionId = /^wanji_session=([^;]+)/.exec(signed.headers.getSetCookie()[0]!)![1]!;
    expect((await signIn('ops', MISTYPED)).status).toBe(401);
    expect((await signIn(MISTYPED, GIVEN)).status).toBe(401);
    const changed = await fetch(`${base}/api/v1/users/ops`, {
      method: 'PATCH',
      headers: { ...json, authorization: `Bearer ${admin}` },
      body: JSON.stringify({ password: `${GIVEN}-new` }),
    });
    expect(changed.status).toBe(200);

    // The log did see these requests: the check below is not vacuous.
    expect(log).toContain('user signed in');
    expect(log).toContain('sign-in refused');
    const files = readdirSync(dir.path).filter((f) => f.startsWith('registry.db'));
    expect(files).toContain('registry.db');
    const bytes = Buffer.concat(files.map((f) => readFileSync(join(dir.path, f))));
    expect(bytes.includes(Buffer.from('scrypt$'))).toBe(true);
    for (const secret of [GIVEN, `${GIVEN}-new`, generated, MISTYPED, sessionId]) {
      expect(bytes.includes(Buffer.from(secret)), `${secret} in the database`).toBe(false);
      expect(log.includes(secret), `${secret} in the log`).toBe(false);
    }
  });
});
