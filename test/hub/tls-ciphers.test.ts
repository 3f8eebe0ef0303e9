/**
 * Issue 10, the hub's TLS listeners as a commissioning engineer meets them, with openssl's own
 * client (`openssl s_client`) and certificates made by openssl:
 * - TLS 1.2 offered suites without forward secrecy (AES128-SHA, AES256-SHA256): by default only
 *   ECDHE with AEAD is taken now, TLS 1.3 unchanged; `mqtt.tls.minVersion` and `mqtt.tls.ciphers`
 *   set them, on the TLS and the wss:// listener alike.
 * - `MQTT TLS handshake failed` lacked `remoteAddress` (read after Node destroyed the socket) and
 *   the client certificate's `authorizationError`; the start did not say whether client
 *   certificates are required.
 */
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Hub } from '../../hub/hub.js';
import { tempDir, waitFor } from './helpers.js';
import {
  type CapturedLogs,
  capturingLogger,
  connectRefusal,
  makeTestPki,
  type TestPki,
  tool,
} from './mqtt-security-helpers.js';

const openssl = tool('openssl');

const pkiDir = tempDir();
let sharedPki: TestPki | undefined;
const testPki = (): TestPki => {
  sharedPki ??= makeTestPki(openssl!, pkiDir.path);
  return sharedPki;
};
afterAll(() => pkiDir.remove());

interface Handshake {
  readonly ok: boolean;
  /** The protocol and suite s_client negotiated, when it did. */
  readonly protocol?: string;
  readonly cipher?: string;
  readonly output: string;
}

/** One TLS handshake with `openssl s_client`, which then hangs up (its stdin is empty). */
function sClient(port: number, args: readonly string[]): Promise<Handshake> {
  return new Promise((resolve, reject) => {
    const p = spawn(
      openssl!,
      [
        's_client',
        '-connect',
        `127.0.0.1:${port}`,
        '-servername',
        'localhost',
        '-CAfile',
        testPki().ca,
        '-verify_return_error',
        '-brief',
        ...args,
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    let output = '';
    p.stdout.on('data', (d: Buffer) => {
      output += d.toString();
    });
    p.stderr.on('data', (d: Buffer) => {
      output += d.toString();
    });
    p.stdin.end();
    p.on('error', reject);
    p.on('close', (code) => {
      const protocol = /Protocol version: (\S+)/.exec(output)?.[1];
      const cipher = /Ciphersuite: (\S+)/.exec(output)?.[1];
      resolve({
        ok: code === 0 && cipher !== undefined,
        ...(protocol === undefined ? {} : { protocol }),
        ...(cipher === undefined ? {} : { cipher }),
        output,
      });
    });
  });
}

const tls12 = (cipher: string) => ['-tls1_2', '-cipher', cipher];

/** The first `MQTT TLS handshake failed` line after the first `skip` that `match` picks, once logged. */
async function handshakeLine(
  logs: CapturedLogs,
  skip: number,
  match: (l: Record<string, unknown>) => boolean,
  what: string,
): Promise<Record<string, unknown> | undefined> {
  const find = () => logs.find('MQTT TLS handshake failed').slice(skip).find(match);
  await waitFor(() => find() !== undefined, what);
  return find();
}

async function startHub(
  dir: string,
  tls: Record<string, unknown>,
  logs: CapturedLogs,
  websocket?: boolean,
): Promise<Hub> {
  const pki = testPki();
  const hub = new Hub({
    dataDir: dir,
    mqtt: {
      port: 0,
      tls: { port: 0, cert: pki.cert, key: pki.key, ...tls },
      ...(websocket === true ? { websocket: { port: 0, path: '/mqtt', secure: true } } : {}),
    },
    http: { port: 0 },
    logger: logs.logger,
  });
  await hub.start();
  return hub;
}

describe.skipIf(openssl === undefined)('the TLS listener’s versions and ciphers', () => {
  const dir = tempDir();
  const logs = capturingLogger();
  let hub: Hub;
  beforeAll(async () => {
    hub = await startHub(dir.path, {}, logs, true);
  });
  afterAll(async () => {
    await hub?.close();
    dir.remove();
  });

  it('refuses TLS 1.2 suites without forward secrecy or without AEAD, by default', async () => {
    const port = hub.mqttListeners.tls!;
    for (const cipher of ['AES128-SHA', 'AES256-SHA256', 'AES128-GCM-SHA256', 'ECDHE-RSA-AES128-SHA256']) {
      const h = await sClient(port, tls12(cipher));
      expect(h.ok, `${cipher} was accepted:\n${h.output}`).toBe(false);
    }
    await waitFor(
      () => logs.find('MQTT TLS handshake failed').some((l) => l.code === 'ERR_SSL_NO_SHARED_CIPHER'),
      'the refusal logged',
    );
    expect(
      logs.find('MQTT TLS handshake failed').find((l) => l.code === 'ERR_SSL_NO_SHARED_CIPHER'),
    ).toMatchObject({
      listener: 'tls',
      remoteAddress: '127.0.0.1',
      reason: expect.stringContaining('no cipher of mqtt.tls.ciphers'),
    });
  });

  it('accepts ECDHE with AES-GCM or ChaCha20-Poly1305 on TLS 1.2, and TLS 1.3 as before', async () => {
    const port = hub.mqttListeners.tls!;
    for (const cipher of [
      'ECDHE-RSA-AES128-GCM-SHA256',
      'ECDHE-RSA-AES256-GCM-SHA384',
      'ECDHE-RSA-CHACHA20-POLY1305',
    ]) {
      const h = await sClient(port, tls12(cipher));
      expect(h, h.output).toMatchObject({ ok: true, protocol: 'TLSv1.2', cipher });
    }
    for (const suite of [
      'TLS_AES_128_GCM_SHA256',
      'TLS_AES_256_GCM_SHA384',
      'TLS_CHACHA20_POLY1305_SHA256',
    ]) {
      const h = await sClient(port, ['-tls1_3', '-ciphersuites', suite]);
      expect(h, h.output).toMatchObject({ ok: true, protocol: 'TLSv1.3', cipher: suite });
    }
  });

  it('applies the same to the wss:// listener', async () => {
    const port = hub.mqttListeners.websocket!;
    expect((await sClient(port, tls12('AES128-SHA'))).ok).toBe(false);
    expect((await sClient(port, tls12('AES256-SHA256'))).ok).toBe(false);
    const h = await sClient(port, tls12('ECDHE-RSA-AES128-GCM-SHA256'));
    expect(h, h.output).toMatchObject({ ok: true, cipher: 'ECDHE-RSA-AES128-GCM-SHA256' });
    await waitFor(
      () => logs.find('MQTT TLS handshake failed').some((l) => l.listener === 'wss'),
      'the wss refusal logged',
    );
  });

  it('says at start that no client certificate is asked, with the version and ciphers', () => {
    expect(
      logs.find(
        'MQTT TLS: no client certificate asked (mqtt.tls.ca is not set); clients log in with a credential',
      ),
    ).toEqual([
      expect.objectContaining({
        clientCertificates: 'not asked',
        minVersion: 'TLSv1.2',
        ciphers: expect.stringContaining('ECDHE-RSA-AES128-GCM-SHA256'),
        port: hub.mqttListeners.tls,
      }),
    ]);
  });
});

describe.skipIf(openssl === undefined)('mqtt.tls.minVersion and mqtt.tls.ciphers', () => {
  it('minVersion TLSv1.3 refuses TLS 1.2', async () => {
    const dir = tempDir();
    const logs = capturingLogger();
    const hub = await startHub(dir.path, { minVersion: 'TLSv1.3' }, logs);
    try {
      const port = hub.mqttListeners.tls!;
      expect((await sClient(port, tls12('ECDHE-RSA-AES128-GCM-SHA256'))).ok).toBe(false);
      expect(await sClient(port, ['-tls1_3'])).toMatchObject({ ok: true, protocol: 'TLSv1.3' });
      await waitFor(
        () =>
          logs
            .find('MQTT TLS handshake failed')
            .some((l) => String(l.reason).includes('older than mqtt.tls.minVersion')),
        'the version refusal logged with its reason',
      );
    } finally {
      await hub.close();
      dir.remove();
    }
  });

  it('ciphers replaces the TLS 1.2 list; a list OpenSSL cannot use stops the start naming the key', async () => {
    const dir = tempDir();
    const hub = await startHub(dir.path, { ciphers: 'ECDHE-RSA-AES256-GCM-SHA384' }, capturingLogger());
    try {
      const port = hub.mqttListeners.tls!;
      expect((await sClient(port, tls12('ECDHE-RSA-AES128-GCM-SHA256'))).ok).toBe(false);
      expect((await sClient(port, tls12('ECDHE-RSA-AES256-GCM-SHA384'))).ok).toBe(true);
    } finally {
      await hub.close();
    }
    const bad = new Hub({
      dataDir: join(dir.path, 'bad'),
      mqtt: {
        port: 0,
        tls: { port: 0, cert: testPki().cert, key: testPki().key, ciphers: 'NO-SUCH-CIPHER' },
      },
      http: { port: 0 },
      logger: capturingLogger().logger,
    });
    try {
      await expect(bad.start()).rejects.toThrow(
        /\/mqtt\/tls\/ciphers: OpenSSL takes no cipher of "NO-SUCH-CIPHER"/,
      );
    } finally {
      await bad.close();
      dir.remove();
    }
  });

  it('refuses a minVersion it does not know, naming the values', () => {
    const dir = tempDir();
    try {
      expect(
        () =>
          new Hub({
            dataDir: dir.path,
            mqtt: { tls: { port: 0, cert: 'c', key: 'k', minVersion: 'TLSv1' as 'TLSv1.2' } },
            logger: capturingLogger().logger,
          }),
      ).toThrow(/\/mqtt\/tls\/minVersion: .*TLSv1\.2 \(the default\) or TLSv1\.3/);
    } finally {
      dir.remove();
    }
  });
});

describe.skipIf(openssl === undefined)('MQTT TLS handshake failed: who and why', () => {
  const dir = tempDir();
  const logs = capturingLogger();
  let hub: Hub;
  let foreignCert: string;
  beforeAll(async () => {
    const pki = testPki();
    // A client certificate signed by the other CA, with the test client's key.
    foreignCert = join(pkiDir.path, 'foreign-client.crt');
    const csr = join(pkiDir.path, 'foreign-client.csr');
    execFileSync(
      openssl!,
      ['req', '-new', '-key', pki.clientKey, '-subj', '/CN=E100.GW-FOREIGN', '-out', csr],
      {
        stdio: 'pipe',
      },
    );
    execFileSync(
      openssl!,
      [
        'x509',
        '-req',
        '-in',
        csr,
        '-CA',
        pki.otherCa,
        '-CAkey',
        join(pkiDir.path, 'other-ca.key'),
        '-CAcreateserial',
        '-days',
        '2',
        '-out',
        foreignCert,
      ],
      { stdio: 'pipe' },
    );
    hub = await startHub(dir.path, { ca: pki.ca }, logs);
  });
  afterAll(async () => {
    await hub?.close();
    dir.remove();
  });

  it('says at start that client certificates are required', () => {
    expect(
      logs.find(
        'MQTT TLS: clients must present a certificate signed by mqtt.tls.ca, then log in with a credential',
      ),
    ).toEqual([expect.objectContaining({ clientCertificates: 'required', listener: 'tls' })]);
  });

  it('logs a foreign client certificate with the peer address and its authorizationError', async () => {
    const before = logs.find('MQTT TLS handshake failed').length;
    // TLS 1.2, so that the refusal is in the handshake the client sees too.
    const h = await sClient(hub.mqttListeners.tls!, [
      '-tls1_2',
      '-cert',
      foreignCert,
      '-key',
      testPki().clientKey,
    ]);
    expect(h.ok, h.output).toBe(false);
    const line = await handshakeLine(
      logs,
      before,
      (l) => l.authorizationError !== undefined,
      'the refused certificate logged',
    );
    expect(line).toMatchObject({
      remoteAddress: '127.0.0.1',
      remotePort: expect.any(Number),
      authorizationError: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      reason: expect.stringContaining("the client's certificate is not signed by the CA in mqtt.tls.ca"),
    });
  });

  it('logs the peer address of a client that hangs up because it does not trust the hub', async () => {
    const before = logs.find('MQTT TLS handshake failed').length;
    // No CA: Node's client refuses the hub's certificate and hangs up mid-handshake.
    expect(await connectRefusal(`mqtts://localhost:${hub.mqttListeners.tls}`, {})).not.toBe('connected');
    const line = await handshakeLine(logs, before, (l) => l.code === 'ECONNRESET', 'the hang-up logged');
    expect(line).toMatchObject({
      remoteAddress: '127.0.0.1',
      reason: expect.stringContaining("it may not trust the hub's certificate"),
    });
  });

  it('logs a client that sends no certificate, with its address', async () => {
    const before = logs.find('MQTT TLS handshake failed').length;
    // TLS 1.2: the hub asks for the certificate inside the handshake, so the handshake itself fails.
    // (Under TLS 1.3 the client finishes first and the refusal can arrive after s_client has exited 0.)
    expect((await sClient(hub.mqttListeners.tls!, ['-tls1_2'])).ok).toBe(false);
    const line = await handshakeLine(
      logs,
      before,
      (l) => l.code === 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE',
      'the missing certificate logged',
    );
    expect(line).toMatchObject({
      remoteAddress: '127.0.0.1',
      reason: expect.stringContaining('sent no certificate'),
    });
  });
});
