/**
 * The hub on an external broker, a real mosquitto with a password file and a TLS listener
 * (issue 10): the hub's login could only be given in the URL, the log line `primary host
 * online` printed that URL with the password, and the banner said `mqtt://127.0.0.1:undefined`.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { createServer, connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runHubCommand } from '../../cli/hub.js';
import { createExternalBroker } from '../../hub/broker/external/index.js';
import { ANONYMOUS_POLICY } from '../../hub/broker/index.js';
import { resolveHubConfig } from '../../hub/config.js';
import type { HubConfigError } from '../../hub/errors.js';
import { SparkplugHost } from '../../hub/host/host.js';
import { Hub } from '../../hub/hub.js';
import type { HostSink } from '../../hub/sink.js';
import {
  DataType,
  deviceTopic,
  encodePayload,
  nodeTopic,
  redactUrl,
  urlLogin,
  withoutLogin,
} from '../../protocol/index.js';
import { captureIo } from '../support/cli-io.js';
import { cncBirth, tempDir, waitFor } from './helpers.js';
import { capturingLogger, makeTestPki, mqttOptions, type TestPki, tool } from './mqtt-security-helpers.js';

/** Every character a URL must escape, and one a naive redaction would stop at. */
const HUB_PASSWORD = 'p@ss:w/rd#1 ?x';
const GW_PASSWORD = 'gw-secret-9';

/** The host's sink, for tests that only watch it connect. */
const NO_SINK: HostSink = {
  samples: () => {},
  event: () => {},
  deviceActivity: () => {},
  gatewayActivity: () => {},
};

const problemsOf = (input: unknown): string => {
  try {
    resolveHubConfig(input);
    return '';
  } catch (err) {
    return (err as HubConfigError).problems.join('\n');
  }
};

describe('the external broker login in the config, and URLs in logs', () => {
  it('redacts the password of a URL, and takes the login out of it', () => {
    expect(redactUrl('mqtt://u:p@h:1883')).toBe('mqtt://u:***@h:1883');
    expect(redactUrl('mqtts://hub:p@ss/w@rd@broker:8883')).toBe('mqtts://hub:***@broker:8883');
    expect(redactUrl('mqtt://h:1883')).toBe('mqtt://h:1883');
    expect(redactUrl('mqtt://user@h:1883')).toBe('mqtt://user@h:1883');
    const url = `mqtt://hub:${encodeURIComponent(HUB_PASSWORD)}@127.0.0.1:1883`;
    expect(urlLogin(url)).toEqual({ username: 'hub', password: HUB_PASSWORD });
    expect(withoutLogin(url)).toBe('mqtt://127.0.0.1:1883');
    expect(redactUrl(url)).not.toContain('ss');
  });

  it('refuses login keys for the embedded broker, a password given twice or without a user, TLS on mqtt://', () => {
    const ext = { type: 'external', url: 'mqtt://broker:1883' };
    expect(problemsOf({ dataDir: '/d', mqtt: { username: 'hub', passwordFile: '/p' } })).toMatch(
      /\/mqtt\/username: only for mqtt.type "external"[\s\S]*\/mqtt\/passwordFile: only for/,
    );
    expect(
      problemsOf({ dataDir: '/d', mqtt: { ...ext, username: 'h', password: 'x', passwordFile: '/p' } }),
    ).toMatch(/give the password once/);
    expect(problemsOf({ dataDir: '/d', mqtt: { ...ext, passwordFile: '/p' } })).toMatch(
      /\/mqtt\/username: required with mqtt.password or mqtt.passwordFile/,
    );
    const twice = problemsOf({
      dataDir: '/d',
      mqtt: { type: 'external', url: 'mqtt://hub:hunter2@broker:1883', username: 'hub' },
    });
    expect(twice).toContain('mqtt://hub:***@broker:1883');
    expect(twice).not.toContain('hunter2');
    expect(problemsOf({ dataDir: '/d', mqtt: { ...ext, clientTls: { ca: '/ca.pem' } } })).toMatch(
      /\/mqtt\/clientTls: needs an mqtts:\/\//,
    );
    expect(
      problemsOf({
        dataDir: '/d',
        mqtt: { type: 'external', url: 'mqtts://b:8883', clientTls: { cert: '/c' } },
      }),
    ).toMatch(/give cert and key together/);
    const ok = resolveHubConfig({
      dataDir: '/d',
      mqtt: { type: 'external', url: 'mqtts://b:8883', username: 'hub', passwordFile: '/p', clientTls: {} },
    });
    expect(ok.mqtt.clientTls).toEqual({ rejectUnauthorized: true });
  });

  it('names the config key and file it cannot read', async () => {
    const broker = createExternalBroker(
      {
        type: 'external',
        host: '',
        port: 0,
        url: 'mqtt://b:1883',
        username: 'hub',
        passwordFile: '/nonexistent/wanji-password',
      },
      { logger: capturingLogger().logger, policy: ANONYMOUS_POLICY },
    );
    await expect(broker.start()).rejects.toMatchObject({
      code: 'WANJI_E_HUB_CONFIG',
      message: expect.stringContaining(
        'mqtt.passwordFile /nonexistent/wanji-password: cannot read it (ENOENT)',
      ),
    });
  });

  it('never prints the password of a URL it cannot connect to', async () => {
    const port = await freePort();
    const logs = capturingLogger();
    const host = new SparkplugHost({
      url: `mqtt://hub:${encodeURIComponent(HUB_PASSWORD)}@127.0.0.1:${port}`,
      hostId: 'wanji-hub',
      sink: NO_SINK,
      logger: logs.logger,
      connectTimeoutMs: 300,
    });
    const err = await host.start().then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    await host.close();
    expect(err?.message).toContain(`could not connect to mqtt://hub:***@127.0.0.1:${port}`);
    expect(`${err?.message}${logs.text()}`).not.toContain(encodeURIComponent(HUB_PASSWORD));
  });
});

const mosquitto = tool('mosquitto');
const openssl = tool('openssl');
const mosquittoPasswd = tool('mosquitto_passwd');

describe.skipIf(mosquitto === undefined || mosquittoPasswd === undefined || openssl === undefined)(
  'the hub on a real mosquitto with a password file',
  () => {
    const dir = tempDir();
    let broker: ChildProcess | undefined;
    let port = 0;
    let tlsPort = 0;
    let pki: TestPki;
    const passwordFile = join(dir.path, 'hub-password');
    const clients: MqttClient[] = [];

    beforeAll(async () => {
      pki = makeTestPki(openssl!, dir.path);
      const users = join(dir.path, 'passwd');
      execFileSync(mosquittoPasswd!, ['-b', '-c', users, 'wanji-hub', HUB_PASSWORD], { stdio: 'pipe' });
      execFileSync(mosquittoPasswd!, ['-b', users, 'gw', GW_PASSWORD], { stdio: 'pipe' });
      writeFileSync(passwordFile, `${HUB_PASSWORD}\n`, { mode: 0o600 });
      port = await freePort();
      tlsPort = await freePort();
      const conf = join(dir.path, 'mosquitto.conf');
      writeFileSync(
        conf,
        [
          'user root',
          'persistence false',
          'per_listener_settings false',
          'allow_anonymous false',
          `password_file ${users}`,
          `listener ${port} 127.0.0.1`,
          `listener ${tlsPort} 127.0.0.1`,
          `cafile ${pki.ca}`,
          `certfile ${pki.cert}`,
          `keyfile ${pki.key}`,
          'require_certificate true',
          '',
        ].join('\n'),
      );
      chmodSync(users, 0o600);
      broker = spawn(mosquitto!, ['-c', conf], { stdio: 'ignore' });
      await waitFor(
        async () => (await canConnect(port)) && (await canConnect(tlsPort)),
        'mosquitto listening',
      );
    });

    afterAll(async () => {
      await Promise.all(clients.map((c) => c.endAsync(true)));
      broker?.kill('SIGTERM');
      dir.remove();
    });

    const gateway = async (group: string, node: string, device: string) => {
      const c = await connectAsync(
        `mqtt://127.0.0.1:${port}`,
        mqttOptions({ username: 'gw', password: GW_PASSWORD }),
      );
      clients.push(c);
      const p = (seq: number, metrics = cncBirth(Date.now())) =>
        Buffer.from(encodePayload({ timestamp: Date.now(), seq, metrics }));
      await c.publishAsync(
        nodeTopic(group, 'NBIRTH', node),
        p(0, [{ name: 'bdSeq', datatype: DataType.Int64, value: 0 }]),
        { qos: 1 },
      );
      await c.publishAsync(deviceTopic(group, 'DBIRTH', node, device), p(1), { qos: 1 });
    };

    it('connects with mqtt.username and mqtt.passwordFile, registers a gateway, and logs no password', async () => {
      const logs = capturingLogger();
      const data = tempDir();
      const hub = new Hub({
        dataDir: data.path,
        mqtt: { type: 'external', url: `mqtt://127.0.0.1:${port}`, username: 'wanji-hub', passwordFile },
        http: { port: 0 },
        flushIntervalMs: 20,
        logger: logs.logger,
      });
      try {
        await hub.start();
        await gateway('E1', 'GW-1', 'M1');
        await waitFor(
          () => hub.registry.machine('E1', 'M1') !== undefined,
          'M1 registered through mosquitto',
        );
        expect(logs.find('primary host online')[0]?.url).toBe(`mqtt://127.0.0.1:${port}`);
        expect(logs.find('using an external MQTT broker')[0]).toMatchObject({
          username: 'wanji-hub',
          password: 'from file',
          tls: false,
        });
      } finally {
        await hub.close();
        data.remove();
      }
      expect(logs.text()).not.toContain(HUB_PASSWORD);
      expect(logs.text()).not.toContain(encodeURIComponent(HUB_PASSWORD));
    });

    it('takes a login in the URL out of it: the host connects, logs and hub.mqttUrl hold no password', async () => {
      const logs = capturingLogger();
      const data = tempDir();
      const hub = new Hub({
        dataDir: data.path,
        mqtt: {
          type: 'external',
          url: `mqtt://wanji-hub:${encodeURIComponent(HUB_PASSWORD)}@127.0.0.1:${port}`,
        },
        http: { port: 0 },
        logger: logs.logger,
      });
      try {
        await hub.start();
        expect(hub.mqttUrl).toBe(`mqtt://127.0.0.1:${port}`);
        expect(logs.find('primary host online')).toHaveLength(1);
      } finally {
        await hub.close();
        data.remove();
      }
      expect(logs.text()).not.toContain(encodeURIComponent(HUB_PASSWORD));
      expect(logs.text()).not.toContain(HUB_PASSWORD);
    });

    it('connects over TLS with mqtt.clientTls (CA, client certificate), and refuses a broker its CA did not sign', async () => {
      const logs = capturingLogger();
      const data = tempDir();
      const hub = new Hub({
        dataDir: data.path,
        mqtt: {
          type: 'external',
          url: `mqtts://127.0.0.1:${tlsPort}`,
          username: 'wanji-hub',
          passwordFile,
          clientTls: { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey, rejectUnauthorized: true },
        },
        http: { port: 0 },
        flushIntervalMs: 20,
        logger: logs.logger,
      });
      try {
        await hub.start();
        await gateway('E2', 'GW-2', 'M2');
        await waitFor(() => hub.registry.machine('E2', 'M2') !== undefined, 'M2 registered via the TLS hub');
      } finally {
        await hub.close();
        data.remove();
      }
      expect(logs.text()).not.toContain(HUB_PASSWORD);

      // The same login with another CA: the host does not connect (the hub's own wiring, short timeout).
      const wrong = createExternalBroker(
        {
          type: 'external',
          host: '',
          port: 0,
          url: `mqtts://127.0.0.1:${tlsPort}`,
          username: 'wanji-hub',
          passwordFile,
          clientTls: { ca: pki.otherCa, cert: pki.clientCert, key: pki.clientKey },
        },
        { logger: logs.logger, policy: ANONYMOUS_POLICY },
      );
      await wrong.start();
      const host = new SparkplugHost({
        url: wrong.connectUrl(),
        ...wrong.hostClientOptions(),
        hostId: 'wanji-hub-2',
        sink: NO_SINK,
        logger: logs.logger,
        connectTimeoutMs: 1_000,
      });
      await expect(host.start()).rejects.toMatchObject({ code: 'WANJI_E_HOST_CONNECT' });
      await host.close();
      await wrong.close();
    });

    it('wanji hub prints the external broker in its banner: no "undefined" port, no password', async () => {
      const data = tempDir();
      const conf = join(data.path, 'hub.yaml');
      writeFileSync(passwordFile.replace('hub-password', 'hub-password-2'), HUB_PASSWORD, { mode: 0o600 });
      writeFileSync(
        conf,
        [
          `dataDir: ${JSON.stringify(join(data.path, 'data'))}`,
          'mqtt:',
          '  type: external',
          `  url: mqtt://127.0.0.1:${port}`,
          '  username: wanji-hub',
          `  passwordFile: ${JSON.stringify(passwordFile.replace('hub-password', 'hub-password-2'))}`,
          'http:',
          '  port: 0',
          '',
        ].join('\n'),
      );
      const logs = capturingLogger();
      const ac = new AbortController();
      const t = captureIo({ signal: ac.signal, logger: logs.logger });
      const run = runHubCommand(['-c', conf], t.io);
      try {
        await waitFor(() => t.out().includes('dashboard') || t.err() !== '', 'the banner');
        expect(t.err()).toBe('');
        expect(t.out()).toContain(`  MQTT       mqtt://127.0.0.1:${port} (external broker, as wanji-hub)`);
        expect(t.out()).not.toContain('undefined');
      } finally {
        ac.abort();
        expect(await run).toBe(0);
        data.remove();
      }
      expect(`${t.out()}${t.err()}${logs.text()}`).not.toContain(HUB_PASSWORD);
    });
  },
);

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tcpConnect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
