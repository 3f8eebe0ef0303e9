/**
 * Issue 9, "Logins": wrong MQTT passwords are throttled per user name AND source address, so a
 * stranger guessing from one address cannot lock out the real gateway logging in from another,
 * not even right after a hub restart (the limit used to be per user name: 5 wrong passwords a
 * minute kept a gateway out). One address trying many user names is bounded too.
 *
 * Real hub, real MQTT clients; the attacker's connections leave from other loopback addresses
 * (127.0.0.2, …: Linux routes all of 127.0.0.0/8 to lo), so the broker sees another source.
 */
import { createConnection } from 'node:net';
import { MqttClient } from 'mqtt';
import { describe, expect, it } from 'vitest';
import { Hub } from '../../hub/hub.js';
import { LoginThrottle } from '../../hub/security/login-throttle.js';
import { sourceKey } from '../../hub/security/source-address.js';
import { REAL_CLOCK } from '../../protocol/clock.js';
import { tempDir } from './helpers.js';
import { type CapturedLogs, capturingLogger, mqttOptions } from './mqtt-security-helpers.js';

const GROUP = 'E100';
const REAL = '127.0.0.1';

/** An MQTT login from `from` (the client's local address): 'connected' or the refusal's message. */
function loginFrom(hub: Hub, from: string, username: string, password: string): Promise<string> {
  const port = hub.mqttPort;
  if (port === undefined) throw new Error('the hub has no MQTT port');
  return new Promise((resolve) => {
    const c = new MqttClient(
      () => createConnection({ host: '127.0.0.1', port, localAddress: from }),
      mqttOptions({ username, password }),
    );
    let settled = false;
    const done = (outcome: string) => {
      if (settled) return;
      settled = true;
      c.end(true, {}, () => resolve(outcome));
    };
    c.once('connect', () => done('connected'));
    c.once('error', (err) => done(err.message));
    c.once('close', () => done('closed'));
  });
}

async function brokerCounters(hub: Hub): Promise<Record<string, number>> {
  const r = await fetch(`http://127.0.0.1:${hub.httpPort}/healthz`);
  return ((await r.json()) as { counters: { broker: Record<string, number> } }).counters.broker;
}

/** A hub whose time the test sets (`now`) and whose timers are real. */
function startHub(dir: string, logs: CapturedLogs, now: () => number): Hub {
  const clock = { ...REAL_CLOCK, now };
  return new Hub({ dataDir: dir, mqtt: { port: 0 }, http: { port: 0 }, logger: logs.logger, clock });
}

const held = (logs: CapturedLogs) =>
  logs.find('MQTT login refused').filter((l) => l.refusal === 'too many failures');

describe('MQTT failed-login throttling per user name and source address (issue 9)', () => {
  it('a stranger guessing from another address cannot lock out the real gateway, also after a restart', async () => {
    const dir = tempDir();
    const now = Date.now();
    let logs = capturingLogger();
    let hub = startHub(dir.path, logs, () => now);
    try {
      await hub.start();
      const { credential, password } = hub.mqttCredentials.create(
        { group: GROUP, node: 'GW-1' },
        { actor: 'cli:test' },
      );
      const user = credential.username;
      // The gateway has not logged in since the hub started: the hub does not know its password yet.
      for (let i = 0; i < 5; i++)
        expect(await loginFrom(hub, '127.0.0.2', user, 'guess')).toMatch(/Bad username/i);
      expect(await loginFrom(hub, '127.0.0.2', user, 'guess')).toMatch(/Bad username/i);
      // That address is guessing: even the right password from it waits for the window to end.
      expect(await loginFrom(hub, '127.0.0.2', user, password)).toMatch(/Bad username/i);
      expect(held(logs).map((l) => [l.username, l.remoteAddress, l.reason])).toEqual([
        [user, '127.0.0.2', '5 wrong passwords within 60 s; try again later'],
        [user, '127.0.0.2', '5 wrong passwords within 60 s; try again later'],
      ]);
      expect(logs.find('MQTT logins throttled')).toMatchObject([
        { username: user, remoteAddress: '127.0.0.2', limit: 'user name from this address', failures: 5 },
      ]);
      // The real gateway, from its own address, with the right password: in.
      expect(await loginFrom(hub, REAL, user, password)).toBe('connected');
      expect(await brokerCounters(hub)).toMatchObject({
        refusedBadPassword: 5,
        refusedTooManyFailures: 2,
        throttledUserAddress: 1,
        throttledAddress: 0,
        logins: 1,
      });
      const audited = hub.mqttCredentials.audit
        .list({ action: 'mqtt.login' })
        .map((e) => `${e.outcome} ${e.source}`);
      expect(audited[0]).toBe(`ok ${REAL}`);
      expect(new Set(audited.slice(1))).toEqual(new Set(['refused 127.0.0.2']));

      // A restart forgets every password the hub had checked; the attacker starts again at once.
      await hub.close();
      logs = capturingLogger();
      hub = startHub(dir.path, logs, () => now);
      await hub.start();
      for (let i = 0; i < 7; i++)
        expect(await loginFrom(hub, '127.0.0.2', user, 'guess')).toMatch(/Bad username/i);
      expect(held(logs)).toHaveLength(2);
      expect(await loginFrom(hub, REAL, user, password)).toBe('connected');
      expect(await brokerCounters(hub)).toMatchObject({ refusedTooManyFailures: 2, logins: 1 });
    } finally {
      await hub.close();
      dir.remove();
    }
  });

  it('bounds one address trying many user names; a password the hub already accepted still gets in', async () => {
    const dir = tempDir();
    let now = Date.now();
    const logs = capturingLogger();
    const hub = startHub(dir.path, logs, () => now);
    try {
      await hub.start();
      const by = { actor: 'cli:test' };
      const users = Array.from({ length: 8 }, (_, i) =>
        hub.mqttCredentials.create({ group: GROUP, node: `GW-${i}` }, by),
      );
      const name = (i: number) => users[i]!.credential.username;
      const pass = (i: number) => users[i]!.password;
      // Gateway 0 logs in once: its password is known to this hub from now on.
      expect(await loginFrom(hub, REAL, name(0), pass(0))).toBe('connected');
      // 127.0.0.3 tries 4 wrong passwords on each of 7 user names and 2 names that do not exist:
      // under the per-user limit (5) every time, but 30 failures for the address.
      for (let u = 0; u < 7; u++) {
        for (let i = 0; i < 4; i++)
          expect(await loginFrom(hub, '127.0.0.3', name(u), 'guess')).toMatch(/Bad username/i);
      }
      for (const ghost of ['E100.NOPE-1', 'E100.NOPE-2'])
        expect(await loginFrom(hub, '127.0.0.3', ghost, 'guess')).toMatch(/Bad username/i);
      expect(logs.find('MQTT logins throttled')).toMatchObject([
        { remoteAddress: '127.0.0.3', limit: 'address', failures: 30 },
      ]);
      expect(held(logs)).toEqual([]);
      // Now every user name from that address waits, unchecked (no scrypt: bad-password count unchanged)…
      expect(await loginFrom(hub, '127.0.0.3', name(7), 'guess')).toMatch(/Bad username/i);
      expect(await loginFrom(hub, '127.0.0.3', name(7), pass(7))).toMatch(/Bad username/i);
      expect(held(logs).map((l) => [l.username, l.reason])).toEqual([
        [name(7), '30 failed logins from this address within 60 s; try again later'],
        [name(7), '30 failed logins from this address within 60 s; try again later'],
      ]);
      // …except a password this hub already accepted, which is never held back…
      expect(await loginFrom(hub, '127.0.0.3', name(0), pass(0))).toBe('connected');
      // …and every other address goes on as before.
      expect(await loginFrom(hub, REAL, name(7), pass(7))).toBe('connected');
      expect(await brokerCounters(hub)).toMatchObject({
        refusedBadPassword: 28,
        refusedUnknownUser: 2,
        refusedTooManyFailures: 2,
        throttledAddress: 1,
        throttledUserAddress: 0,
        logins: 3,
      });
      // The window ends: the address may try again.
      now += 60_000;
      expect(await loginFrom(hub, '127.0.0.3', name(6), pass(6))).toBe('connected');
    } finally {
      await hub.close();
      dir.remove();
    }
  });

  it('checks at most the limit of passwords when one address opens many logins at once', async () => {
    const dir = tempDir();
    const logs = capturingLogger();
    const hub = startHub(dir.path, logs, Date.now);
    try {
      await hub.start();
      const { credential } = hub.mqttCredentials.create(
        { group: GROUP, node: 'GW-C' },
        { actor: 'cli:test' },
      );
      const outcomes = await Promise.all(
        Array.from({ length: 20 }, () => loginFrom(hub, '127.0.0.4', credential.username, 'guess')),
      );
      expect(outcomes.filter((o) => /Bad username/i.test(o))).toHaveLength(20);
      // Counted when the check starts: 5 scrypt checks, the other 15 refused without one.
      expect(await brokerCounters(hub)).toMatchObject({ refusedBadPassword: 5, refusedTooManyFailures: 15 });
    } finally {
      await hub.close();
      dir.remove();
    }
  });
});

describe('the login throttle keeps its memory bounded', () => {
  it('holds at most maxEntries keys per table, dropping the least recently used', () => {
    const t = new LoginThrottle({ clock: () => 1_000, maxEntries: 100 });
    for (let i = 0; i < 1_000; i++) {
      const a = t.begin('E100.GW-1', `10.0.${i >> 8}.${i & 255}`);
      if ('limit' in a) throw new Error('held');
      t.failed(a);
    }
    expect(t.stats).toEqual({ pairs: 100, addresses: 100, evicted: 1_800 });
    // A good login leaves nothing behind: gateways do not fill the tables.
    const fresh = new LoginThrottle({ clock: () => 1_000 });
    for (let i = 0; i < 50; i++) {
      const a = fresh.begin(`E100.GW-${i}`, '10.9.0.1');
      if ('limit' in a) throw new Error('held');
      fresh.succeeded(a);
    }
    expect(fresh.stats).toEqual({ pairs: 0, addresses: 0, evicted: 0 });
  });

  it('forgets an entry when its window ends', () => {
    let now = 0;
    const t = new LoginThrottle({ clock: () => now, perUser: 1, perAddress: 10, windowMs: 1_000 });
    const a = t.begin('u', '10.0.0.1');
    if ('limit' in a) throw new Error('held');
    expect(t.failed(a)).toEqual(['user']);
    expect(t.begin('u', '10.0.0.1')).toMatchObject({ limit: 'user', retryInMs: 1_000 });
    now = 1_000;
    expect('limit' in t.begin('u', '10.0.0.1')).toBe(false);
  });

  it('counts an IPv6 client as its /64, and an IPv4-mapped address as the IPv4 one', () => {
    expect(sourceKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(sourceKey('2001:0db8:0001:0002:ffff:ffff:ffff:ffff')).toBe('2001:db8:1:2::/64');
    expect(sourceKey('2001:db8:1:3::1')).toBe('2001:db8:1:3::/64');
    expect(sourceKey('::1')).toBe('0:0:0:0::/64');
    expect(sourceKey('::ffff:127.0.0.2')).toBe('127.0.0.2');
    expect(sourceKey('127.0.0.2')).toBe('127.0.0.2');
    expect(sourceKey(undefined)).toBe('unknown');
    const t = new LoginThrottle({ clock: () => 0, perUser: 1 });
    const a = t.begin('u', '2001:db8:1:2::10');
    if ('limit' in a) throw new Error('held');
    t.failed(a);
    expect(t.begin('u', '2001:db8:1:2::99')).toMatchObject({ limit: 'user' });
    expect('limit' in t.begin('u', '2001:db8:1:3::10')).toBe(false);
  });
});
