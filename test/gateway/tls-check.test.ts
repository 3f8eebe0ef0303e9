/**
 * Issue 10: `wanji gateway --check` passed what the real start refused — `mqtt.tls` with an
 * `mqtt://` URL, and `tls.cert` without `tls.key` (the rules lived only in the MQTT session).
 * Now --check, the start and a reload all refuse them in the config's error style: the file,
 * the path and the fix.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runGatewayCommand } from '../../cli/gateway.js';
import { ConfigError, validateGatewayConfig } from '../../gateway/config/index.js';
import { mqttTlsOptions } from '../../gateway/northbound/mqtt-tls.js';
import { captureIo } from '../support/cli-io.js';
import { testLogger, waitFor } from './helpers.js';
import { SparkplugSubscriber, startBroker } from './mqtt-helpers.js';

const PEM = '-----BEGIN CERTIFICATE-----\nMA==\n-----END CERTIFICATE-----\n';

function io(signal = new AbortController().signal, reload?: EventTarget) {
  return captureIo({ signal, logger: testLogger(), ...(reload ? { reload } : {}) });
}

describe('mqtt.tls rules in the config checks', () => {
  let dir: string;
  let file: string;
  const yaml = (url: string, tls: string, node = 'GW-1') =>
    `gateway: { group: E001, node: ${node} }\nmqtt:\n  url: "${url}"\n${tls === '' ? '' : `  tls: { ${tls} }\n`}connections: []\nmachines: []\n`;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wanji-tls-check-'));
    file = join(dir, 'gw.yaml');
    for (const f of ['ca.pem', 'gw.crt', 'gw.key']) await writeFile(join(dir, f), PEM);
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('--check refuses mqtt.tls with an mqtt:// URL, naming the file, /mqtt/url and the TLS URL to use', async () => {
    await writeFile(file, yaml('mqtt://hub.example:1883', `ca: "${join(dir, 'ca.pem')}"`));
    const r = io();
    expect(await runGatewayCommand(['-c', file, '--check'], r.io)).toBe(2);
    expect(r.out()).not.toContain('is valid');
    expect(r.err()).toContain(`${file}: a problem in the gateway config`);
    expect(r.err()).toMatch(
      /\/mqtt\/url: mqtt\.tls is set but mqtt\.url mqtt:\/\/hub\.example:1883 is not TLS[^\n]*\n\s+fix: use a TLS URL such as mqtts:\/\/hub\.example:8883/,
    );

    await writeFile(file, yaml('ws://hub.example:8083/mqtt', `ca: "${join(dir, 'ca.pem')}"`));
    const ws = io();
    expect(await runGatewayCommand(['-c', file, '--check'], ws.io)).toBe(2);
    expect(ws.err()).toContain('wss://hub.example:8083/mqtt');
  });

  it('--check refuses a client certificate without its key, and a key without its certificate', async () => {
    await writeFile(file, yaml('mqtts://hub.example:8883', `cert: "${join(dir, 'gw.crt')}"`));
    const r = io();
    expect(await runGatewayCommand(['-c', file, '--check'], r.io)).toBe(2);
    expect(r.err()).toMatch(
      /\/mqtt\/tls\/key: mqtt\.tls\.cert is set without mqtt\.tls\.key[^\n]*\n\s+fix: add key: /,
    );

    await writeFile(file, yaml('mqtts://hub.example:8883', `key: "${join(dir, 'gw.key')}"`));
    const k = io();
    expect(await runGatewayCommand(['-c', file, '--check'], k.io)).toBe(2);
    expect(k.err()).toMatch(
      /\/mqtt\/tls\/cert: mqtt\.tls\.key is set without mqtt\.tls\.cert[^\n]*\n\s+fix: add cert: /,
    );

    // Both, with a TLS URL, pass; so does an mqtts:// URL without mqtt.tls (the system CAs).
    await writeFile(
      file,
      yaml('mqtts://hub.example:8883', `cert: "${join(dir, 'gw.crt')}", key: "${join(dir, 'gw.key')}"`),
    );
    const ok = io();
    expect(await runGatewayCommand(['-c', file, '--check'], ok.io)).toBe(0);
    await writeFile(file, yaml('mqtts://hub.example:8883', ''));
    const plain = io();
    expect(await runGatewayCommand(['-c', file, '--check'], plain.io)).toBe(0);
  });

  it('lists every TLS problem at once with the others, in file order', async () => {
    await writeFile(file, yaml('mqtt://hub.example:1883', `cert: "${join(dir, 'gw.crt')}"`, 'GW/1'));
    const r = io();
    expect(await runGatewayCommand(['-c', file, '--check'], r.io)).toBe(2);
    const err = r.err();
    expect(err).toContain('3 problems in the gateway config');
    expect(err.indexOf('/gateway/node')).toBeLessThan(err.indexOf('/mqtt/url'));
    expect(err).toContain('/mqtt/tls/key');
  });

  it('the start refuses the same before connecting (exit 2, the config error, not a start failure)', async () => {
    await writeFile(file, yaml('mqtt://127.0.0.1:1', `ca: "${join(dir, 'ca.pem')}"`));
    const r = io();
    expect(await runGatewayCommand(['-c', file, '--data-dir', join(dir, 'data')], r.io)).toBe(2);
    expect(r.err()).toContain('/mqtt/url: mqtt.tls is set but mqtt.url mqtt://127.0.0.1:1 is not TLS');
    expect(r.out()).not.toContain('running');
  });

  it('validateGatewayConfig (what reload and embedding programs use) throws ConfigError with the issue', () => {
    const config = {
      gateway: { group: 'E001', node: 'GW-1' },
      mqtt: { url: 'mqtts://hub:8883', tls: { cert: 'gw.crt' } },
      connections: [],
      machines: [],
    };
    let thrown: unknown;
    try {
      validateGatewayConfig(config, 'gw.yaml');
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as ConfigError).issues).toEqual([
      expect.objectContaining({
        path: '/mqtt/tls/key',
        message: expect.stringContaining('without mqtt.tls.key'),
      }),
    ]);
  });

  it('the MQTT session still guards a config that skipped validation, with the same words', () => {
    const mqtt = { url: 'mqtt://127.0.0.1:1', keepaliveS: 30, tls: { rejectUnauthorized: true, ca: 'x' } };
    expect(() => mqttTlsOptions(mqtt)).toThrow(
      /mqtt\.tls is set but mqtt\.url mqtt:\/\/127\.0\.0\.1:1 is not TLS/,
    );
  });

  it('a reload with a bad mqtt.tls is refused with the path and fix; the gateway runs on', async () => {
    const broker = await startBroker();
    const sub = new SparkplugSubscriber();
    await sub.start(broker.url);
    try {
      await writeFile(file, yaml(broker.url, '', 'GW-R'));
      const controller = new AbortController();
      const reload = new EventTarget();
      const r = io(controller.signal, reload);
      const done = runGatewayCommand(['-c', file, '--data-dir', join(dir, 'data')], r.io);
      await waitFor(() => r.out().includes('running') || undefined);
      await sub.next('NBIRTH');

      await writeFile(file, yaml(broker.url, `ca: "${join(dir, 'ca.pem')}"`, 'GW-R'));
      reload.dispatchEvent(new Event('reload'));
      await waitFor(() => r.err().includes('still running with the previous config') || undefined);
      // The config error, not "mqtt changed: restart the gateway".
      expect(r.err()).toContain(`${file}: a problem in the gateway config`);
      expect(r.err()).toContain(`/mqtt/url: mqtt.tls is set but mqtt.url ${broker.url} is not TLS`);
      expect(r.err()).not.toContain('restart the gateway');

      controller.abort();
      expect(await done).toBe(0);
      expect(sub.of('NBIRTH')).toHaveLength(1);
    } finally {
      await sub.close();
      await broker.close();
    }
  });
});
