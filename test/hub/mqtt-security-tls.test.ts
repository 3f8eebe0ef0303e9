/**
 * The hub's TLS and WebSocket MQTT listeners with real clients: mqtt.js, mosquitto's own
 * clients (mosquitto-clients) and a real gateway, with self-signed certificates made by
 * openssl in a temp dir. The ACL is the same whichever listener a client comes in by.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SyntheticModbusServer } from '../../bench/modbus-server.js';
import { validateGatewayConfig } from '../../gateway/config/index.js';
import { Gateway } from '../../gateway/gateway.js';
import { Hub } from '../../hub/hub.js';
import { nodeTopic, stateTopic } from '../../protocol/index.js';
import { modbusPress } from '../support/modbus-press.js';
import { silentLogger, tempDir, waitFor } from './helpers.js';
import {
  capturingLogger,
  connectRefusal,
  makeTestPki,
  mqttOptions,
  type TestPki,
  tool,
} from './mqtt-security-helpers.js';

const run = promisify(execFile);
const openssl = tool('openssl');
const GROUP = 'E300';

/** One set of test certificates for the whole file (openssl is slow on a busy machine). */
const pkiDir = tempDir();
let sharedPki: TestPki | undefined;
const testPki = (): TestPki => {
  sharedPki ??= makeTestPki(openssl!, pkiDir.path);
  return sharedPki;
};
afterAll(() => pkiDir.remove());

describe.skipIf(openssl === undefined)('MQTT over TLS and WebSocket', () => {
  const dir = tempDir();
  let pki: TestPki;
  let hub: Hub;
  const logs = capturingLogger();
  const clients: MqttClient[] = [];
  let gw: { username: string; password: string };
  const will = (node: string): IClientOptions['will'] => ({
    topic: nodeTopic(GROUP, 'NDEATH', node),
    payload: Buffer.alloc(0),
    qos: 1,
    retain: false,
  });
  const tlsUrl = () => `mqtts://localhost:${hub.mqttListeners.tls}`;
  const wsUrl = () => `ws://127.0.0.1:${hub.mqttListeners.websocket}/mqtt`;
  const keep = (c: MqttClient) => {
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    pki = testPki();
    hub = new Hub({
      dataDir: `${dir.path}/hub`,
      mqtt: {
        port: 0,
        tls: { port: 0, cert: pki.cert, key: pki.key },
        websocket: { port: 0, path: '/mqtt', secure: false },
      },
      http: { port: 0 },
      flushIntervalMs: 20,
      logger: logs.logger,
    });
    await hub.start();
    const c = hub.mqttCredentials.create({ group: GROUP, node: 'GW-1' }, { actor: 'cli:test' });
    gw = { username: c.credential.username, password: c.password };
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true)));
    await hub?.close();
    dir.remove();
  });

  it('accepts a gateway that trusts the CA, and its credential still decides what it may do', async () => {
    const c = keep(
      await connectAsync(tlsUrl(), mqttOptions({ ...gw, ca: [readFileSync(pki.ca)], will: will('GW-1') })),
    );
    const state = new Promise<string>((resolve) => c.once('message', (_t, p) => resolve(p.toString())));
    await c.subscribeAsync(stateTopic(hub.config.hostId), { qos: 1 });
    expect(JSON.parse(await state)).toMatchObject({ online: true });
    const gone = new Promise<void>((resolve) => c.once('close', () => resolve()));
    c.publish(nodeTopic(GROUP, 'NBIRTH', 'GW-2'), Buffer.alloc(0));
    await gone;
    expect(logs.find('MQTT publish refused').at(-1)).toMatchObject({ topic: 'spBv1.0/E300/NBIRTH/GW-2' });
  });

  it('fails for a client that does not trust the CA, or trusts another one', async () => {
    expect(await connectRefusal(tlsUrl(), { ...gw })).toMatch(/self[- ]signed|unable to (get|verify)/i);
    expect(await connectRefusal(tlsUrl(), { ...gw, ca: [readFileSync(pki.otherCa)] })).toMatch(
      /self[- ]signed|unable to (get|verify)/i,
    );
    // The certificate names localhost and 127.0.0.1 only.
    expect(
      await connectRefusal(tlsUrl(), {
        ...gw,
        ca: [readFileSync(pki.ca)],
        servername: 'hub.elsewhere.example',
      }),
    ).toMatch(/does not match certificate's altnames/i);
    await waitFor(async () => {
      const h = (await (await fetch(`http://127.0.0.1:${hub.httpPort}/healthz`)).json()) as {
        counters: { broker: Record<string, number> };
      };
      return (h.counters.broker.tlsHandshakeErrors ?? 0) >= 1;
    }, 'the refused handshakes counted');
    expect(logs.find('MQTT TLS handshake failed').length).toBeGreaterThanOrEqual(1);
  });

  it('applies the same credentials and ACL over WebSocket', async () => {
    expect(await connectRefusal(wsUrl(), {})).toMatch(/Bad username|Not authorized/i);
    expect(await connectRefusal(wsUrl(), { username: gw.username, password: 'wrong' })).toMatch(
      /Bad username/i,
    );
    const c = keep(await connectAsync(wsUrl(), mqttOptions({ ...gw, will: will('GW-1') })));
    const code = (filter: string) =>
      new Promise<number>((resolve) =>
        c.subscribe(filter, { qos: 1 }, (_e, _g, suback) => resolve(suback?.granted[0] as number)),
      );
    expect(await code(nodeTopic(GROUP, 'NCMD', 'GW-1'))).toBe(1);
    expect(await code(nodeTopic(GROUP, 'NCMD', 'GW-2'))).toBe(128);
    await c.publishAsync(nodeTopic(GROUP, 'NDATA', 'GW-1'), Buffer.alloc(0), { qos: 1 });
    expect(c.connected).toBe(true);
    expect(logs.find('MQTT login').some((l) => l.username === gw.username)).toBe(true);
  });

  it('answers plain HTTP on the WebSocket port with 426, not MQTT', async () => {
    const r = await fetch(`http://127.0.0.1:${hub.mqttListeners.websocket}/mqtt`);
    expect(r.status).toBe(426);
  });

  const mosquittoSub = tool('mosquitto_sub');
  const mosquittoPub = tool('mosquitto_pub');
  it.skipIf(mosquittoSub === undefined || mosquittoPub === undefined)(
    "works with mosquitto's clients over TLS: the host STATE arrives, a wrong password and a foreign topic are refused",
    async () => {
      const tls = [
        '-h',
        'localhost',
        '-p',
        String(hub.mqttListeners.tls),
        '--cafile',
        pki.ca,
        '-V',
        'mqttv311',
      ];
      const sub = await run(
        mosquittoSub!,
        [
          ...tls,
          '-u',
          gw.username,
          '-P',
          gw.password,
          '-t',
          stateTopic(hub.config.hostId),
          '-C',
          '1',
          '-W',
          '10',
        ],
        { timeout: 15_000 },
      );
      expect(JSON.parse(sub.stdout.trim())).toMatchObject({ online: true });
      const wrong = await run(
        mosquittoPub!,
        [...tls, '-u', gw.username, '-P', 'nope', '-t', 'x', '-m', 'x'],
        {
          timeout: 15_000,
        },
      ).catch((e: { code: number; stderr: string }) => e);
      expect(wrong).toMatchObject({ code: expect.any(Number) });
      expect((wrong as { stderr: string }).stderr).toMatch(/not authori[sz]ed|bad user name or password/i);
      const before = logs.find('MQTT publish refused').length;
      const foreign = await run(
        mosquittoPub!,
        [
          ...tls,
          '-u',
          gw.username,
          '-P',
          gw.password,
          '-q',
          '1',
          '-t',
          nodeTopic(GROUP, 'NDATA', 'GW-9'),
          '-m',
          'x',
        ],
        { timeout: 15_000 },
      ).catch((e: { code: number }) => e);
      expect(foreign).toMatchObject({ code: expect.any(Number) });
      expect(logs.find('MQTT publish refused').length).toBe(before + 1);
    },
  );

  it('brings a real gateway with a credential in over TLS, and its machines are networked', async () => {
    const plc = new SyntheticModbusServer({ units: [1] });
    await plc.start();
    const cred = hub.mqttCredentials.create({ group: GROUP, node: 'GW-TLS' }, { actor: 'cli:test' });
    const config = validateGatewayConfig({
      gateway: { group: GROUP, node: 'GW-TLS' },
      mqtt: {
        url: tlsUrl(),
        username: cred.credential.username,
        password: cred.password,
        primaryHost: hub.config.hostId,
        tls: { ca: pki.ca },
      },
      connections: [{ id: 'plc', type: 'modbus-tcp', host: '127.0.0.1', port: plc.port, timeoutMs: 500 }],
      machines: [modbusPress('P1', 1)],
    });
    const gateway = new Gateway(config, { logger: silentLogger(), dataDir: `${dir.path}/gateway` });
    try {
      await gateway.start();
      await waitFor(
        () => hub.registry.gateway(GROUP, 'GW-TLS')?.online === true,
        'the gateway online',
        15_000,
      );
      await waitFor(
        () => (hub.registry.machine(GROUP, 'P1')?.lastSampleAt ?? null) !== null,
        'a sample from P1 at the hub',
        15_000,
      );
      expect(logs.find('MQTT login').some((l) => l.username === 'E300.GW-TLS')).toBe(true);
    } finally {
      await gateway.close();
      await plc.close();
    }
  });

  it('stops the gateway with an error naming a CA file it cannot read', async () => {
    const config = validateGatewayConfig({
      gateway: { group: GROUP, node: 'GW-X' },
      mqtt: { url: tlsUrl(), tls: { ca: `${dir.path}/missing-ca.pem` } },
      connections: [],
      machines: [],
    });
    const gateway = new Gateway(config, { logger: silentLogger(), dataDir: `${dir.path}/gateway-x` });
    try {
      await expect(gateway.start()).rejects.toThrow(/mqtt\.tls\.ca: cannot read .*missing-ca\.pem: ENOENT/);
    } finally {
      await gateway.close();
    }
  });
});

describe.skipIf(openssl === undefined)('MQTT TLS options', () => {
  it('with mqtt.tls.ca, asks clients for a certificate that CA signed, and still for a credential', async () => {
    const dir = tempDir();
    const pki = testPki();
    const logs = capturingLogger();
    const hub = new Hub({
      dataDir: dir.path,
      mqtt: { port: 0, tls: { port: 0, cert: pki.cert, key: pki.key, ca: pki.ca } },
      http: { port: 0 },
      logger: logs.logger,
    });
    try {
      await hub.start();
      const { credential, password } = hub.mqttCredentials.create(
        { group: GROUP, node: 'GW-M' },
        { actor: 't' },
      );
      const url = `mqtts://localhost:${hub.mqttListeners.tls}`;
      const ca = [readFileSync(pki.ca)];
      const user = { username: credential.username, password, ca };
      expect(await connectRefusal(url, user)).toMatch(/certificate required|handshake failure/i);
      await waitFor(() => logs.find('MQTT TLS handshake failed').length > 0, 'the handshake refusal logged');
      const withCert = { ...user, cert: readFileSync(pki.clientCert), key: readFileSync(pki.clientKey) };
      expect(await connectRefusal(url, withCert)).toBe('connected');
      expect(await connectRefusal(url, { ...withCert, password: 'wrong' })).toMatch(/Bad username/i);
    } finally {
      await hub.close();
      dir.remove();
    }
  });

  it('serves wss:// with the TLS certificate when websocket.secure is set', async () => {
    const dir = tempDir();
    const pki = testPki();
    const hub = new Hub({
      dataDir: dir.path,
      mqtt: {
        port: 0,
        tls: { port: 0, cert: pki.cert, key: pki.key },
        websocket: { port: 0, path: '/ws', secure: true },
      },
      http: { port: 0 },
      logger: silentLogger(),
    });
    try {
      await hub.start();
      const { credential, password } = hub.mqttCredentials.create(
        { group: GROUP, node: 'GW-W' },
        { actor: 't' },
      );
      const url = `wss://localhost:${hub.mqttListeners.websocket}/ws`;
      const user = { username: credential.username, password };
      expect(await connectRefusal(url, { ...user, ca: [readFileSync(pki.ca)] })).toBe('connected');
      expect(await connectRefusal(url, user)).toMatch(/self[- ]signed|unable to (get|verify)/i);
    } finally {
      await hub.close();
      dir.remove();
    }
  });

  it('refuses mqtt.tls on a gateway whose url is not TLS, naming the setting', () => {
    // Since issue 10 the config checks refuse it (test/gateway/tls-check.test.ts), before any start.
    expect(() =>
      validateGatewayConfig({
        gateway: { group: GROUP, node: 'GW-P' },
        mqtt: { url: 'mqtt://127.0.0.1:1', tls: { ca: testPki().ca } },
        connections: [],
        machines: [],
      }),
    ).toThrow(/\/mqtt\/url: mqtt\.tls is set but mqtt\.url mqtt:\/\/127\.0\.0\.1:1 is not TLS/);
  });

  it('names the certificate file the hub cannot read, and starts nothing', async () => {
    const dir = tempDir();
    const hub = new Hub({
      dataDir: dir.path,
      mqtt: { port: 0, tls: { port: 0, cert: `${dir.path}/nope.crt`, key: `${dir.path}/nope.key` } },
      http: { port: 0 },
      logger: silentLogger(),
    });
    try {
      await expect(hub.start()).rejects.toThrow(/\/mqtt\/tls\/cert: cannot read .*nope\.crt: ENOENT/);
      expect(hub.registry.health().status).toBe('closed');
    } finally {
      await hub.close();
      dir.remove();
    }
  });

  it('refuses a key that is not the certificate’s', async () => {
    const dir = tempDir();
    const pki = testPki();
    const hub = new Hub({
      dataDir: dir.path,
      mqtt: { port: 0, tls: { port: 0, cert: pki.cert, key: pki.clientKey } },
      http: { port: 0 },
      logger: silentLogger(),
    });
    try {
      await expect(hub.start()).rejects.toThrow(/are not a PEM certificate and its private key/);
    } finally {
      await hub.close();
      dir.remove();
    }
  });
});
