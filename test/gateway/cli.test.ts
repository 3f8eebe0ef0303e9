import { generateKeyPairSync } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runGatewayCommand } from '../../cli/gateway.js';
import { captureIo } from '../support/cli-io.js';
import { testLogger, waitFor } from './helpers.js';
import { metricValue, SparkplugSubscriber, startBroker } from './mqtt-helpers.js';

function io(signal = new AbortController().signal, reload?: EventTarget) {
  return captureIo({ signal, logger: testLogger(), ...(reload ? { reload } : {}) });
}

describe('wanji gateway', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wanji-cli-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('prints help, and exits 2 without -c', async () => {
    const help = io();
    expect(await runGatewayCommand(['--help'], help.io)).toBe(0);
    expect(help.out()).toContain('Usage: wanji gateway -c FILE');
    const none = io();
    expect(await runGatewayCommand([], none.io)).toBe(2);
    expect(none.err()).toContain('-c FILE is required');
    const bad = io();
    expect(await runGatewayCommand(['-c', 'x', '--bogus'], bad.io)).toBe(2);
  });

  it('prints config errors plainly with file, path and fix, and exits 2', async () => {
    const file = join(dir, 'gw.yaml');
    await writeFile(
      file,
      'gateway: { group: E001, node: GW-1 }\nmqtt: { url: "mqtt://h:1883", keepAlive: 3 }\n',
    );
    const r = io();
    expect(await runGatewayCommand(['-c', file], r.io)).toBe(2);
    expect(r.err()).toContain(file);
    expect(r.err()).toContain('/mqtt/keepAlive: unknown key "keepAlive"');
    expect(r.err()).toContain('did you mean "keepaliveS"?');
    expect(r.err()).toContain('/connections: missing required key');
  });

  it('validates the example config with --check', async () => {
    const r = io();
    expect(await runGatewayCommand(['-c', 'deploy/examples/gateway.yaml', '--check'], r.io)).toBe(0);
    expect(r.out()).toContain('is valid: E001/GW-E001-1: 2 machines on 2 connections');
  });

  it('--check never prints a password given in mqtt.url', async () => {
    const file = join(dir, 'gw.yaml');
    await writeFile(
      file,
      'gateway: { group: E001, node: GW-1 }\nmqtt: { url: "mqtt://E001.GW-1:s3cr%40t-pw@hub:1883" }\nconnections: []\nmachines: []\n',
    );
    const r = io();
    expect(await runGatewayCommand(['-c', file, '--check'], r.io)).toBe(0);
    expect(r.out()).toContain('MQTT mqtt://E001.GW-1:***@hub:1883');
    expect(r.out() + r.err()).not.toContain('s3cr');
  });

  it('--check reports mqtt.tls files that cannot be read, with the file, path and fix, and exits 2', async () => {
    const file = join(dir, 'gw.yaml');
    const tls = (ca: string, cert: string, key: string) =>
      `gateway: { group: E001, node: GW-1 }\nmqtt:\n  url: "mqtts://hub:8883"\n  tls: { ca: "${ca}", cert: "${cert}", key: "${key}" }\nconnections: []\nmachines: []\n`;
    await mkdir(join(dir, 'certs'));
    await writeFile(join(dir, 'key.der'), Buffer.from([0x30, 0x82, 0x01, 0x0a]));
    await writeFile(file, tls(join(dir, 'no-ca.pem'), join(dir, 'certs'), join(dir, 'key.der')));
    const r = io();
    expect(await runGatewayCommand(['-c', file, '--check'], r.io)).toBe(2);
    expect(r.out()).not.toContain('is valid');
    const err = r.err();
    expect(err).toContain(`${file}: 3 problems in the gateway config`);
    expect(err).toContain(`/mqtt/tls/ca: cannot use ${join(dir, 'no-ca.pem')} as the CA certificate`);
    expect(err).toContain('the file does not exist');
    expect(err).toContain(
      `/mqtt/tls/cert: cannot use ${join(dir, 'certs')} as the client certificate: it is a directory`,
    );
    expect(err).toMatch(/\/mqtt\/tls\/key: .*no PEM block[^\n]*\n\s+fix: give a PEM file/);

    // A relative path is shown resolved; the start refuses it the same way, before connecting.
    await writeFile(
      file,
      tls('no-such-dir/ca.pem', join(dir, 'certs'), join(dir, 'key.der')).replace(/, cert.*key: "[^"]*"/, ''),
    );
    const start = io();
    expect(await runGatewayCommand(['-c', file, '--data-dir', join(dir, 'data')], start.io)).toBe(2);
    expect(start.err()).toContain(`${file}: a problem in the gateway config`);
    expect(start.err()).toContain(`no-such-dir/ca.pem (${join(process.cwd(), 'no-such-dir/ca.pem')})`);
    expect(start.out()).not.toContain('running');

    // Readable PEM files pass.
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await writeFile(join(dir, 'ca.pem'), publicKey.export({ type: 'spki', format: 'pem' }));
    await writeFile(join(dir, 'key.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
    await writeFile(file, tls(join(dir, 'ca.pem'), join(dir, 'ca.pem'), join(dir, 'key.pem')));
    const ok = io();
    expect(await runGatewayCommand(['-c', file, '--check'], ok.io)).toBe(0);
    expect(ok.out()).toContain('is valid: E001/GW-1');
  });

  it('runs until the signal aborts, then publishes NDEATH and exits 0', async () => {
    const broker = await startBroker();
    const sub = new SparkplugSubscriber();
    await sub.start(broker.url);
    try {
      const file = join(dir, 'gw.yaml');
      await writeFile(
        file,
        `gateway: { group: E009, node: GW-E009 }\nmqtt: { url: "${broker.url}" }\nconnections: []\nmachines: []\n`,
      );
      const controller = new AbortController();
      const r = io(controller.signal);
      const done = runGatewayCommand(['-c', file, '--data-dir', join(dir, 'data')], r.io);
      const nbirth = await sub.next('NBIRTH');
      expect(metricValue(nbirth.payload, 'Properties/Software')).toMatch(/^wanji \d+\.\d+\.\d+/);
      await waitFor(() => r.out().includes('running') || undefined);
      controller.abort();
      expect(await done).toBe(0);
      await sub.next('NDEATH');
    } finally {
      await sub.close();
      await broker.close();
    }
  });

  it('reloads FILE on the reload event (SIGHUP); a bad or restart-only change leaves it running as it was', async () => {
    const broker = await startBroker();
    const sub = new SparkplugSubscriber();
    await sub.start(broker.url);
    try {
      const file = join(dir, 'gw.yaml');
      const yaml = (node: string, extra = '') =>
        `gateway: { group: E009, node: ${node} }\nmqtt: { url: "${broker.url}" }\nconnections: []\nmachines: []\n${extra}`;
      await writeFile(file, yaml('GW-E009'));
      const controller = new AbortController();
      const reload = new EventTarget();
      const r = io(controller.signal, reload);
      const done = runGatewayCommand(['-c', file, '--data-dir', join(dir, 'data')], r.io);
      await waitFor(() => r.out().includes('running') || undefined);

      await writeFile(file, yaml('GW-E009', 'statusIntervalMs: 500\n'));
      reload.dispatchEvent(new Event('reload'));
      await waitFor(() => r.out().includes(`reloaded ${file}: timing changed`) || undefined);

      await writeFile(file, yaml('GW-E009', 'heartbeatMs: five\n'));
      reload.dispatchEvent(new Event('reload'));
      await waitFor(() => r.err().includes('still running with the previous config') || undefined);
      expect(r.err()).toContain('/heartbeatMs');

      await writeFile(file, yaml('GW-OTHER'));
      reload.dispatchEvent(new Event('reload'));
      await waitFor(() => r.err().includes('gateway.node changed: restart the gateway') || undefined);

      expect(sub.of('NDEATH')).toHaveLength(0);
      controller.abort();
      expect(await done).toBe(0);
      await sub.next('NDEATH');
      expect(sub.of('NBIRTH')).toHaveLength(1);
    } finally {
      await sub.close();
      await broker.close();
    }
  });
});
