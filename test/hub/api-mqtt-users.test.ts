/**
 * The gateways' MQTT credentials through the API: a real hub over real HTTP and a real MQTT.js
 * client on its broker; refusals (roles, bad bodies) against the API over a real registry.
 */
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../../hub/api/access.js';
import { rawSqliteForTests } from '../../hub/database/database.js';
import { Hub } from '../../hub/hub.js';
import { type AuditEntry, AuditLog } from '../../hub/security/audit.js';
import { TokenStore } from '../../hub/security/tokens.js';
import { apiFixture, auditSince, type Fixture } from './api-security-fixture.js';
import { sleep, tempDir } from './helpers.js';
import { capturingLogger, connectRefusal, mqttOptions } from './mqtt-security-helpers.js';

interface Reply {
  status: number;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: a JSON reply, checked field by field below
  json: any;
}

describe('MQTT users through the API of a running hub', () => {
  const dir = tempDir();
  const logs = capturingLogger();
  const hub = new Hub({
    dataDir: dir.path,
    // A long check interval: the API's revoke must drop the connection by itself.
    mqtt: { port: 0, revocationCheckMs: 600_000 },
    http: { port: 0 },
    logger: logs.logger,
  });
  const tokens: Partial<Record<Role, { id: string; token: string }>> = {};
  const clients: MqttClient[] = [];

  const call = async (role: Role, method: string, path: string, body?: unknown): Promise<Reply> => {
    const r = await fetch(`http://127.0.0.1:${hub.httpPort}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${tokens[role]!.token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await r.text();
    return { status: r.status, text, json: text === '' ? undefined : JSON.parse(text) };
  };
  const audited = (action: string): AuditEntry[] =>
    hub.mqttCredentials.audit.list({ action, limit: 100 }).reverse();

  beforeAll(async () => {
    await hub.start();
    const store = new TokenStore(hub.registry.database, new AuditLog(hub.registry.database));
    for (const role of ['admin', 'operator'] as const) {
      const { token, record } = store.create({ role, name: role }, { actor: 'cli:test', source: 'cli' });
      tokens[role] = { id: record.id, token };
    }
  });
  afterAll(async () => {
    for (const c of clients) await c.endAsync(true);
    await hub.close();
    dir.remove();
  });

  it('creates a credential a real MQTT client logs in with, lists it without secrets, and revokes it', async () => {
    const created = await call('admin', 'POST', '/api/v1/mqtt-users', { group: 'E100', node: 'GW-1' });
    expect(created.status).toBe(201);
    const password: string = created.json.password;
    expect(password.length).toBeGreaterThanOrEqual(20);
    expect(created.json.credential).toMatchObject({
      username: 'E100.GW-1',
      group: 'E100',
      node: 'GW-1',
      status: 'active',
      createdBy: `token:${tokens.admin!.id}`,
      revokedAt: null,
    });

    const client = await connectAsync(hub.mqttUrl, mqttOptions({ username: 'E100.GW-1', password }));
    clients.push(client);
    expect(client.connected).toBe(true);

    // A second one with a chosen user name, by an operator.
    const other = await call('operator', 'POST', '/api/v1/mqtt-users', {
      group: 'E100',
      node: 'GW-2',
      username: 'line2',
    });
    expect(other.status).toBe(201);
    expect(other.json.credential.username).toBe('line2');

    const list = await call('operator', 'GET', '/api/v1/mqtt-users');
    expect(list.status).toBe(200);
    expect(list.json.users.map((u: { username: string }) => u.username)).toEqual(['E100.GW-1', 'line2']);
    expect(Object.keys(list.json.users[0]).sort()).toEqual(
      ['createdAt', 'createdBy', 'group', 'node', 'revokedAt', 'status', 'username'].sort(),
    );
    expect(list.text).not.toContain(password);
    expect(list.text).not.toContain(other.json.password);
    expect(list.text).not.toMatch(/scrypt|hash|secret|password/i);
    // Nor is a password ever logged.
    expect(logs.text()).not.toContain(password);

    const gone = new Promise<void>((resolve) => client.once('close', () => resolve()));
    const revoked = await call('operator', 'DELETE', '/api/v1/mqtt-users/E100.GW-1');
    expect(revoked.status).toBe(200);
    expect(revoked.json).toMatchObject({ username: 'E100.GW-1', status: 'revoked' });
    expect(revoked.json.revokedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    // Dropped at once, not after the 10 min check interval.
    await Promise.race([
      gone,
      sleep(5_000).then(() => {
        throw new Error('the revoked client was not dropped within 5 s');
      }),
    ]);
    expect(await connectRefusal(hub.mqttUrl, { username: 'E100.GW-1', password })).toMatch(/Bad username/i);
    // The other credential still logs in.
    expect(await connectRefusal(hub.mqttUrl, { username: 'line2', password: other.json.password })).toBe(
      'connected',
    );

    const after = await call('admin', 'GET', '/api/v1/mqtt-users');
    expect(after.json.users.map((u: { status: string }) => u.status)).toEqual(['revoked', 'active']);

    expect(audited('mqtt_user.create').map((e) => [e.actor, e.target, e.outcome, e.source])).toEqual([
      [`token:${tokens.admin!.id}`, 'E100.GW-1', 'ok', '127.0.0.1'],
      [`token:${tokens.operator!.id}`, 'line2', 'ok', '127.0.0.1'],
    ]);
    expect(audited('mqtt_user.revoke').map((e) => [e.actor, e.target, e.outcome])).toEqual([
      [`token:${tokens.operator!.id}`, 'E100.GW-1', 'ok'],
    ]);
  });

  it('refuses a user name taken before (409) and revoking an unknown one (404), each audited once', async () => {
    const creates = audited('mqtt_user.create').length;
    const dup = await call('admin', 'POST', '/api/v1/mqtt-users', {
      group: 'E200',
      node: 'X',
      username: 'line2',
    });
    expect(dup.status).toBe(409);
    expect(dup.json).toMatchObject({ statusCode: 409, code: 'WANJI_E_MQTT_USER_EXISTS' });
    expect(dup.json.message).toContain('line2');
    const refusedCreates = audited('mqtt_user.create').slice(creates);
    expect(refusedCreates.map((e) => [e.target, e.outcome])).toEqual([['line2', 'refused']]);

    const missing = await call('admin', 'DELETE', '/api/v1/mqtt-users/nobody');
    expect(missing.status).toBe(404);
    expect(missing.json.code).toBe('WANJI_E_MQTT_USER_NOT_FOUND');
    expect(audited('mqtt_user.revoke').filter((e) => e.outcome === 'refused')).toHaveLength(1);
    expect(logs.find('API request refused').map((l) => l.code)).toEqual([
      'WANJI_E_MQTT_USER_EXISTS',
      'WANJI_E_MQTT_USER_NOT_FOUND',
    ]);
  });
});

describe('MQTT users API refusals', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await apiFixture();
  });
  afterAll(async () => {
    await f.close();
  });

  const post = (token: string, payload: unknown) =>
    f.call(token, {
      method: 'POST',
      url: '/api/v1/mqtt-users',
      headers: { 'content-type': 'application/json' },
      payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
    });

  it('answers 403 to bureau and enterprise tokens, and changes nothing', async () => {
    const admin = f.token('admin');
    expect((await post(admin, { group: 'acme', node: 'gw-acme' })).statusCode).toBe(201);
    const before = f.counts().mqtt_credentials;
    for (const t of [
      f.token('bureau'),
      f.token('bureau', { regions: ['yiwu'] }),
      f.token('enterprise', { enterprise: 'acme' }),
    ]) {
      const list = await f.call(t, { method: 'GET', url: '/api/v1/mqtt-users' });
      expect(list.statusCode).toBe(403);
      expect(list.json().code).toBe('WANJI_E_API_FORBIDDEN');
      expect(list.body).not.toContain('gw-acme');
      expect((await post(t, { group: 'acme', node: 'gw-new' })).statusCode).toBe(403);
      const del = await f.call(t, { method: 'DELETE', url: '/api/v1/mqtt-users/acme.gw-acme' });
      expect(del.statusCode).toBe(403);
    }
    expect(f.counts().mqtt_credentials).toBe(before);
    const list = await f.call(admin, { method: 'GET', url: '/api/v1/mqtt-users' });
    expect(list.json().users).toMatchObject([{ username: 'acme.gw-acme', status: 'active' }]);
  });

  it('answers 400 to bad bodies and user names, creates nothing, and audits each refusal', async () => {
    const op = f.token('operator');
    const firstAudit = f.audit.list({ limit: 1 })[0]!.id;
    const before = f.counts().mqtt_credentials;
    const bad: [string, unknown][] = [
      ['no node', { group: 'acme' }],
      ['unknown property', { group: 'acme', node: 'gw-x', password: 'mine' }],
      ['wildcard in group', { group: 'ac+me', node: 'gw-x' }],
      ['slash in node', { group: 'acme', node: 'gw/x' }],
      ['empty node', { group: 'acme', node: '' }],
      ['node too long', { group: 'acme', node: 'n'.repeat(101) }],
      ['reserved user name', { group: 'acme', node: 'gw-x', username: '$host' }],
      ['trailing space in user name', { group: 'acme', node: 'gw-x', username: 'a b ' }],
      ['object for group', { group: { code: 'acme' }, node: 'gw-x' }],
      ['not JSON', '{"group": "acme", '],
    ];
    for (const [why, body] of bad) {
      const r = await post(op, body);
      expect(r.statusCode, why).toBe(400);
      expect(r.json().code, why).toMatch(/^WANJI_E_API_(VALIDATION|BAD_BODY)$/);
    }
    expect(f.counts().mqtt_credentials).toBe(before);
    const entries = auditSince(f, firstAudit).filter((e) => e.action === 'mqtt_user.create');
    // Each schema refusal is audited under the route's action; the JSON parse error too.
    expect(entries.map((e) => e.outcome)).toEqual(bad.map(() => 'refused'));

    const badName = await f.call(op, { method: 'DELETE', url: '/api/v1/mqtt-users/%24host' });
    expect(badName.statusCode).toBe(400);
    expect(
      auditSince(f, firstAudit)
        .filter((e) => e.action === 'mqtt_user.revoke')
        .map((e) => e.outcome),
    ).toEqual(['refused']);
  });

  it('revokes without a hub (the API built alone): the registry keeps the revocation', async () => {
    const op = f.token('operator');
    const created = await post(op, { group: 'beta', node: 'gw-beta', username: 'beta-1' });
    expect(created.statusCode).toBe(201);
    const r = await f.call(op, { method: 'DELETE', url: '/api/v1/mqtt-users/beta-1' });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ username: 'beta-1', status: 'revoked', group: 'beta', node: 'gw-beta' });
    const row = rawSqliteForTests(f.registry.database)
      .prepare<[string], { revoked_at: number | null }>(
        'SELECT revoked_at FROM mqtt_credentials WHERE username = ?',
      )
      .get('beta-1');
    expect(row?.revoked_at).toBe(f.now);
  });
});
