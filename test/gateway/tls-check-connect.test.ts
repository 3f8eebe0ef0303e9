/**
 * Issue 10: a gateway whose `mqtt.tls.ca` is not the CA of the hub's certificate logged only
 * the raw `UNABLE_TO_VERIFY_LEAF_SIGNATURE`, with no code and no fix. A real gateway against
 * the hub's real TLS listener (certificates made by openssl) now logs WANJI_E_MQTT_TLS saying
 * what is wrong in the config's words: the wrong CA, a host name the certificate does not hold,
 * an expired certificate.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateGatewayConfig } from '../../gateway/config/index.js';
import { Gateway } from '../../gateway/gateway.js';
import { Hub } from '../../hub/hub.js';
import { tempDir, waitFor } from '../hub/helpers.js';
import {
  type CapturedLogs,
  capturingLogger,
  makeTestPki,
  type TestPki,
  tool,
} from '../hub/mqtt-security-helpers.js';

const openssl = tool('openssl');
const GROUP = 'E310';

interface LoggedError {
  readonly type?: string;
  readonly code?: string;
  readonly message?: string;
  readonly detail?: { tlsCode?: string };
}

describe.skipIf(openssl === undefined)(
  'a gateway meeting the hub’s TLS listener with the wrong settings',
  () => {
    const dir = tempDir();
    let pki: TestPki;
    let expiredCert: string;
    const hubLogs = capturingLogger();
    let hub: Hub;
    let expiredHub: Hub;

    beforeAll(async () => {
      mkdirSync(join(dir.path, 'pki'));
      pki = makeTestPki(openssl!, join(dir.path, 'pki'));
      // The hub's own certificate request, signed again by its CA, valid until yesterday.
      expiredCert = join(dir.path, 'pki', 'expired.crt');
      execFileSync(
        openssl!,
        [
          'x509',
          '-req',
          '-in',
          join(dir.path, 'pki', 'server.csr'),
          '-CA',
          pki.ca,
          '-CAkey',
          join(dir.path, 'pki', 'ca.key'),
          '-CAcreateserial',
          '-days',
          '-1',
          '-extfile',
          join(dir.path, 'pki', 'server.ext'),
          '-out',
          expiredCert,
        ],
        { stdio: 'pipe' },
      );
      // On 127.0.0.2 (still loopback): the certificate names localhost and 127.0.0.1 only.
      hub = new Hub({
        dataDir: join(dir.path, 'hub'),
        mqtt: { port: 0, tls: { host: '127.0.0.2', port: 0, cert: pki.cert, key: pki.key } },
        http: { port: 0 },
        logger: hubLogs.logger,
      });
      expiredHub = new Hub({
        dataDir: join(dir.path, 'hub-expired'),
        mqtt: { port: 0, tls: { port: 0, cert: expiredCert, key: pki.key } },
        http: { port: 0 },
        logger: capturingLogger().logger,
      });
      await Promise.all([hub.start(), expiredHub.start()]);
    });

    afterAll(async () => {
      await hub?.close();
      await expiredHub?.close();
      dir.remove();
    });

    /** Starts a gateway with `url` and `ca`, returns its first logged TLS failure, and stops it. */
    async function firstTlsFailure(node: string, url: string, ca: string): Promise<LoggedError> {
      const logs: CapturedLogs = capturingLogger();
      const config = validateGatewayConfig({
        gateway: { group: GROUP, node },
        mqtt: { url, tls: { ca } },
        connections: [],
        machines: [],
      });
      const gateway = new Gateway(config, { logger: logs.logger, dataDir: join(dir.path, node) });
      try {
        await gateway.start();
        await waitFor(
          () => logs.find('MQTT TLS connection to the broker failed').length > 0,
          'the TLS failure logged',
          10_000,
        );
      } finally {
        await gateway.close();
      }
      expect(logs.find('MQTT error'), 'the raw error is not logged besides the coded one').toEqual([]);
      return logs.find('MQTT TLS connection to the broker failed')[0]?.err as LoggedError;
    }

    it('a wrong hub CA: WANJI_E_MQTT_TLS, not signed by the configured mqtt.tls.ca, with the fix', async () => {
      const url = `mqtts://127.0.0.2:${hub.mqttListeners.tls}`;
      const err = await firstTlsFailure('GW-CA', url, pki.otherCa);
      expect(err).toMatchObject({
        code: 'WANJI_E_MQTT_TLS',
        detail: { tlsCode: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' },
      });
      expect(err.message).toContain(
        `the broker's certificate at 127.0.0.2:${hub.mqttListeners.tls} is not signed by the configured mqtt.tls.ca (${pki.otherCa}) [UNABLE_TO_VERIFY_LEAF_SIGNATURE]`,
      );
      expect(err.message).toContain(
        "fix: set mqtt.tls.ca to the PEM file of the CA that signed the hub's certificate",
      );
      // The hub's side of the same attempt names the gateway's address.
      await waitFor(
        () => hubLogs.find('MQTT TLS handshake failed').some((l) => l.remoteAddress === '127.0.0.1'),
        'the hub logging the refused handshake with the peer address',
      );
    });

    it('a host name the certificate does not hold: names the host and how to fix either side', async () => {
      const url = `mqtts://127.0.0.2:${hub.mqttListeners.tls}`;
      const err = await firstTlsFailure('GW-NAME', url, pki.ca);
      expect(err).toMatchObject({
        code: 'WANJI_E_MQTT_TLS',
        detail: { tlsCode: 'ERR_TLS_CERT_ALTNAME_INVALID' },
      });
      expect(err.message).toContain('does not name 127.0.0.2, the host in mqtt.url');
      expect(err.message).toContain("(IP: 127.0.0.2 is not in the cert's list: 127.0.0.1)");
      expect(err.message).toContain("reissue the hub's certificate with subjectAltName=IP:127.0.0.2");
    });

    it('an expired hub certificate: says so, with the gateway’s clock', async () => {
      const url = `mqtts://localhost:${expiredHub.mqttListeners.tls}`;
      const err = await firstTlsFailure('GW-EXP', url, pki.ca);
      expect(err).toMatchObject({ code: 'WANJI_E_MQTT_TLS', detail: { tlsCode: 'CERT_HAS_EXPIRED' } });
      expect(err.message).toMatch(/has expired; this gateway's clock reads \d{4}-\d\d-\d\dT/);
      expect(err.message).toContain("fix: renew the hub's certificate");
    });

    it('the right CA and host: connects, and no TLS failure is logged', async () => {
      // A hub on 127.0.0.1, which the certificate names (as localhost too).
      const ok = new Hub({
        dataDir: join(dir.path, 'hub-ok'),
        mqtt: { port: 0, tls: { port: 0, cert: pki.cert, key: pki.key } },
        http: { port: 0 },
        logger: capturingLogger().logger,
      });
      const logs = capturingLogger();
      let gateway: Gateway | undefined;
      try {
        await ok.start();
        const { credential, password } = ok.mqttCredentials.create(
          { group: GROUP, node: 'GW-OK' },
          { actor: 't' },
        );
        const config = validateGatewayConfig({
          gateway: { group: GROUP, node: 'GW-OK' },
          mqtt: {
            url: `mqtts://localhost:${ok.mqttListeners.tls}`,
            username: credential.username,
            password,
            tls: { ca: pki.ca },
          },
          connections: [],
          machines: [],
        });
        gateway = new Gateway(config, { logger: logs.logger, dataDir: join(dir.path, 'GW-OK') });
        await gateway.start();
        await waitFor(
          () => ok.registry.gateway(GROUP, 'GW-OK')?.online === true,
          'the gateway online',
          10_000,
        );
        expect(logs.find('MQTT TLS connection to the broker failed')).toEqual([]);
      } finally {
        await gateway?.close();
        await ok.close();
      }
    });
  },
);
