/**
 * MQTT logins with a real client over loopback: revocation inside the hub, the wrong-password
 * limit, anonymous access; and the MQTT security config.
 */
import { connect as tcpConnect } from 'node:net';
import { connectAsync } from 'mqtt';
import { describe, expect, it } from 'vitest';
import { resolveHubConfig } from '../../hub/config.js';
import { HubConfigError } from '../../hub/errors.js';
import { Hub } from '../../hub/hub.js';
import { REAL_CLOCK } from '../../protocol/clock.js';
import { tempDir } from './helpers.js';
import { capturingLogger, connectRefusal, mqttOptions } from './mqtt-security-helpers.js';

const GROUP = 'E100';

describe('MQTT revocation inside the hub', () => {
  it('drops the connections at once, without waiting for the check interval', async () => {
    const dir = tempDir();
    const hub = new Hub({
      dataDir: dir.path,
      mqtt: { port: 0, revocationCheckMs: 600_000 },
      http: { port: 0 },
      logger: capturingLogger().logger,
    });
    try {
      await hub.start();
      const by = { actor: 'cli:test' };
      const { credential, password } = hub.mqttCredentials.create({ group: GROUP, node: 'GW-5' }, by);
      const c = await connectAsync(hub.mqttUrl, mqttOptions({ username: credential.username, password }));
      const gone = new Promise<void>((resolve) => c.once('close', () => resolve()));
      await hub.revokeMqttUser(credential.username, by);
      await gone;
      expect(await connectRefusal(hub.mqttUrl, { username: credential.username, password })).toMatch(
        /Bad username/i,
      );
      await c.endAsync(true);
    } finally {
      await hub.close();
      dir.remove();
    }
  });
});

describe('MQTT credentials across a hub restart', () => {
  it('are kept in the registry file, and checked again after start() follows close()', async () => {
    const dir = tempDir();
    const hub = new Hub({
      dataDir: dir.path,
      mqtt: { port: 0 },
      http: { port: 0 },
      logger: capturingLogger().logger,
    });
    try {
      await hub.start();
      const { credential, password } = hub.mqttCredentials.create(
        { group: GROUP, node: 'GW-R' },
        { actor: 't' },
      );
      await hub.close();
      await hub.start();
      const user = { username: credential.username, password };
      expect(await connectRefusal(hub.mqttUrl, user)).toBe('connected');
      expect(await connectRefusal(hub.mqttUrl, { ...user, password: 'wrong' })).toMatch(/Bad username/i);
      expect(hub.mqttCredentials.audit.list({ action: 'mqtt.login' }).map((e) => e.outcome)).toEqual([
        'refused',
        'ok',
      ]);
    } finally {
      await hub.close();
      dir.remove();
    }
  });
});

describe('MQTT wrong-password limit', () => {
  it('stops checking a user name after 5 wrong passwords a minute, except for a password it already knows', async () => {
    const dir = tempDir();
    let now = Date.now();
    const logs = capturingLogger();
    const hub = new Hub({
      dataDir: dir.path,
      mqtt: { port: 0 },
      http: { port: 0 },
      logger: logs.logger,
      // The test sets the time; the timers are real.
      clock: { ...REAL_CLOCK, now: () => now },
    });
    try {
      await hub.start();
      const by = { actor: 'cli:test' };
      const fresh = hub.mqttCredentials.create({ group: GROUP, node: 'GW-L1' }, by);
      const known = hub.mqttCredentials.create({ group: GROUP, node: 'GW-L2' }, by);
      const login = (c: typeof fresh, password = c.password) =>
        connectRefusal(hub.mqttUrl, { username: c.credential.username, password });
      expect(await login(known)).toBe('connected');
      for (let i = 0; i < 5; i++) {
        expect(await login(fresh, 'wrong')).toMatch(/Bad username/i);
        expect(await login(known, 'wrong')).toMatch(/Bad username/i);
      }
      // Locked: even the right password of a user name never seen logging in is refused…
      expect(await login(fresh)).toMatch(/Bad username/i);
      // …while the gateway whose password the hub already checked keeps getting in.
      expect(await login(known)).toBe('connected');
      const refusals = logs.find('MQTT login refused').filter((l) => l.refusal === 'too many failures');
      expect(refusals.map((l) => l.username)).toEqual(['E100.GW-L1']);
      expect(refusals[0]?.reason).toBe('5 wrong passwords within 60 s; try again later');
      now += 60_000;
      expect(await login(fresh)).toBe('connected');
    } finally {
      await hub.close();
      dir.remove();
    }
  });
});

describe('MQTT anonymous access', () => {
  it('is allowed only when mqtt.allowAnonymous is set, as the demo does', async () => {
    const dir = tempDir();
    const hub = new Hub({
      dataDir: dir.path,
      mqtt: { port: 0, allowAnonymous: true },
      http: { port: 0 },
      logger: capturingLogger().logger,
    });
    try {
      await hub.start();
      const c = await connectAsync(hub.mqttUrl, mqttOptions({}));
      await c.publishAsync('anything/at/all', 'x');
      expect(c.connected).toBe(true);
      await c.endAsync();
    } finally {
      await hub.close();
      dir.remove();
    }
  });
});

describe('MQTT packet size limit', () => {
  it('drops a connection whose packet declares more than mqtt.maxPacketBytes, before login or after', async () => {
    const dir = tempDir();
    const logs = capturingLogger();
    const hub = new Hub({
      dataDir: dir.path,
      mqtt: { port: 0, maxPacketBytes: 4_096, websocket: { port: 0, path: '/mqtt', secure: false } },
      http: { port: 0 },
      logger: logs.logger,
    });
    try {
      await hub.start();
      // Before any login: a CONNECT header declaring 100 MB, then the start of its body.
      const socket = tcpConnect(hub.mqttPort!, '127.0.0.1');
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      socket.on('error', () => undefined);
      socket.write(Buffer.from([0x10, 0x80, 0xc2, 0xd7, 0x2f]));
      socket.write(Buffer.alloc(64 * 1024));
      await closed;
      expect(logs.find('MQTT packet too large; connection dropped')[0]).toMatchObject({
        declared: 100_000_000,
        maxPacketBytes: 4_096,
      });
      // After login, over TCP and over WebSocket: a small publish goes, a large one drops the client.
      const { credential, password } = hub.mqttCredentials.create(
        { group: GROUP, node: 'GW-S' },
        { actor: 't' },
      );
      for (const url of [hub.mqttUrl, `ws://127.0.0.1:${hub.mqttListeners.websocket}/mqtt`]) {
        const c = await connectAsync(url, mqttOptions({ username: credential.username, password }));
        await c.publishAsync('spBv1.0/E100/NDATA/GW-S', Buffer.alloc(1_000), { qos: 1 });
        const gone = new Promise<void>((resolve) => c.once('close', () => resolve()));
        c.publish('spBv1.0/E100/NDATA/GW-S', Buffer.alloc(10_000), { qos: 0 });
        await gone;
        await c.endAsync(true);
      }
      const h = (await (await fetch(`http://127.0.0.1:${hub.httpPort}/healthz`)).json()) as {
        counters: { broker: Record<string, number> };
      };
      expect(h.counters.broker.droppedOversized).toBe(3);
    } finally {
      await hub.close();
      dir.remove();
    }
  });
});

describe('MQTT without TLS on a network interface', () => {
  it('is warned about at start; loopback is not', async () => {
    const warning =
      'MQTT without TLS on a network interface: passwords and data cross the network in clear (see docs/security.md#tls)';
    for (const [host, warned] of [
      ['0.0.0.0', true],
      ['127.0.0.1', false],
    ] as const) {
      const dir = tempDir();
      const logs = capturingLogger();
      const hub = new Hub({
        dataDir: dir.path,
        mqtt: { host, port: 0 },
        http: { port: 0 },
        logger: logs.logger,
      });
      try {
        await hub.start();
        expect(logs.find(warning).map((l) => l.listeners)).toEqual(
          warned ? [[`tcp 0.0.0.0:${hub.mqttPort}`]] : [],
        );
      } finally {
        await hub.close();
        dir.remove();
      }
    }
  });
});

describe('MQTT security config', () => {
  const problems = (mqtt: Record<string, unknown>): string[] => {
    try {
      resolveHubConfig({ dataDir: '/tmp/x', mqtt });
      return [];
    } catch (err) {
      if (err instanceof HubConfigError) return [...err.problems];
      throw err;
    }
  };

  it('defaults: anonymous off, revocation checked every 2 s, no TLS or WebSocket listener', () => {
    const c = resolveHubConfig({ dataDir: '/tmp/x' });
    expect(c.mqtt).toMatchObject({ allowAnonymous: false, revocationCheckMs: 2_000 });
    expect(c.mqtt.tls).toBeUndefined();
    expect(
      resolveHubConfig({ dataDir: '/tmp/x', mqtt: { tls: { cert: 'c', key: 'k' }, websocket: {} } }).mqtt,
    ).toMatchObject({
      tls: { port: 8883 },
      websocket: { port: 8083, path: '/mqtt', secure: false },
    });
  });

  it('names each bad key and the fix', () => {
    expect(problems({ tls: { cert: 'c' } })).toContain(
      "/mqtt/tls/key: Expected required property (the path of a PEM file: the certificate's private key)",
    );
    expect(problems({ websocket: { secure: true } })).toEqual([
      '/mqtt/websocket/secure: wss needs mqtt.tls (its cert and key serve both)',
    ]);
    expect(problems({ websocket: { path: 'mqtt' } })[0]).toMatch(
      /^\/mqtt\/websocket\/path: .*\(an HTTP path such as \/mqtt\)/,
    );
    expect(problems({ type: 'external', url: 'mqtt://emqx:1883', tls: { cert: 'c', key: 'k' } })).toEqual([
      '/mqtt/tls: only for the embedded broker; set it on the external broker instead',
    ]);
    expect(problems({ allowAnonymous: 'yes' })[0]).toMatch(/^\/mqtt\/allowAnonymous: Expected boolean/);
  });
});
