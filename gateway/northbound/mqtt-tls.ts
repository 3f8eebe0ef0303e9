/**
 * The TLS part of the gateway's MQTT session (config `mqtt.tls`): the PEM files are read once
 * per config, so a reconnect does not depend on the files still being there, and a file that
 * cannot be read stops the start with an error that names it. A failed handshake is turned
 * into WANJI_E_MQTT_TLS saying what is wrong in the config's words, with the fix.
 */
import { readFileSync } from 'node:fs';
import type { GatewayConfig } from '../config/schema.js';
import { mqttTlsIssues } from '../config/tls.js';
import { GatewayError } from '../errors.js';

type MqttConfig = GatewayConfig['mqtt'];

export interface MqttTlsOptions {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  rejectUnauthorized?: boolean;
}

const loaded = new WeakMap<object, MqttTlsOptions>();

function configError(message: string): GatewayError {
  return new GatewayError('WANJI_E_CONFIG', message);
}

/** mqtt.js options for `mqtt.tls`; none without it. Throws WANJI_E_CONFIG naming a bad file. */
export function mqttTlsOptions(mqtt: MqttConfig): MqttTlsOptions {
  const tls = mqtt.tls;
  if (tls === undefined) return {};
  const cached = loaded.get(tls);
  if (cached !== undefined) return cached;
  // validateGatewayConfig refuses these already; this guards a config built another way.
  const issues = mqttTlsIssues(mqtt);
  if (issues.length > 0) {
    throw configError(issues.map((i) => `${i.message} (fix: ${i.fix})`).join('; '));
  }
  const read = (key: 'ca' | 'cert' | 'key', file: string | undefined): { [k: string]: Buffer } => {
    if (file === undefined) return {};
    try {
      return { [key]: readFileSync(file) };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? String(err);
      throw configError(
        `mqtt.tls.${key}: cannot read ${file}: ${code} (give the path of a readable PEM file)`,
      );
    }
  };
  const options: MqttTlsOptions = {
    ...read('ca', tls.ca),
    ...read('cert', tls.cert),
    ...read('key', tls.key),
    rejectUnauthorized: tls.rejectUnauthorized,
  };
  loaded.set(tls, options);
  return options;
}

/** The verification codes of a broker certificate that no trusted CA signed. */
const NOT_SIGNED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
]);

/** What the broker's alert says about this gateway's client certificate. */
const CLIENT_CERT_REFUSED = new Set([
  'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA',
  'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE',
  'ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN',
  'ERR_SSL_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE',
  'ERR_SSL_SSLV3_ALERT_CERTIFICATE_REVOKED',
]);

const NOT_TLS = new Set([
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'ERR_SSL_PACKET_LENGTH_TOO_LONG',
  'ERR_SSL_HTTP_REQUEST',
]);

const NO_COMMON_VERSION = new Set([
  'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION',
  'ERR_SSL_UNSUPPORTED_PROTOCOL',
  'ERR_SSL_NO_PROTOCOLS_AVAILABLE',
]);

function brokerAddress(url: string): { host: string; where: string } {
  try {
    const u = new URL(url);
    const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
    const port = u.port !== '' ? u.port : u.protocol === 'wss:' ? '443' : '8883';
    return { host, where: `${u.hostname}:${port}` };
  } catch {
    return { host: url, where: url };
  }
}

/**
 * A TLS failure of a connection attempt as WANJI_E_MQTT_TLS, naming the setting at fault and
 * the fix; undefined for an error that is not about TLS. `now` is the gateway's clock (ms), shown
 * when a certificate's dates are the problem: an edge device's clock is often what is wrong.
 */
export function mqttTlsError(err: unknown, mqtt: MqttConfig, now: number): GatewayError | undefined {
  if (!(err instanceof Error)) return undefined;
  const code = (err as NodeJS.ErrnoException).code;
  if (typeof code !== 'string') return undefined;
  const { host, where } = brokerAddress(mqtt.url);
  const tls = mqtt.tls;
  const clock = `this gateway's clock reads ${new Date(now).toISOString()}`;
  const described = ((): { message: string; fix: string } | undefined => {
    if (NOT_SIGNED.has(code)) {
      const selfSigned = code === 'DEPTH_ZERO_SELF_SIGNED_CERT' ? ' (it is self-signed)' : '';
      return tls?.ca !== undefined
        ? {
            message: `the broker's certificate at ${where}${selfSigned} is not signed by the configured mqtt.tls.ca (${tls.ca})`,
            fix: `set mqtt.tls.ca to the PEM file of the CA that signed the hub's certificate (the hub's mqtt.tls.cert); compare with \`openssl s_client -connect ${where} -CAfile ${tls.ca}\``,
          }
        : {
            message: `the broker's certificate at ${where}${selfSigned} is not signed by a CA this system trusts (mqtt.tls.ca is not set, so the system's CAs are used)`,
            fix: "set mqtt.tls.ca to the PEM file of the CA that signed the hub's certificate",
          };
    }
    if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
      const reason = (err as Error & { reason?: unknown }).reason;
      return {
        message: `the broker's certificate at ${where} does not name ${host}, the host in mqtt.url${typeof reason === 'string' ? ` (${reason})` : ''}`,
        fix: `connect by a name the certificate holds (change mqtt.url), or reissue the hub's certificate with subjectAltName=${/^[\d.]+$|:/.test(host) ? 'IP' : 'DNS'}:${host}`,
      };
    }
    if (code === 'CERT_HAS_EXPIRED') {
      return {
        message: `the broker's certificate at ${where} (or a CA certificate of its chain) has expired; ${clock}`,
        fix: "renew the hub's certificate (the hub's mqtt.tls.cert); if it is still valid, correct this gateway's clock (NTP)",
      };
    }
    if (code === 'CERT_NOT_YET_VALID') {
      return {
        message: `the broker's certificate at ${where} is not valid yet; ${clock}`,
        fix: "correct this gateway's clock (NTP), or use a certificate whose validity has begun",
      };
    }
    if (code === 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED') {
      return {
        message: `the broker at ${where} requires a client certificate${tls?.cert === undefined ? ' and mqtt.tls.cert is not set' : ''}`,
        fix: "set mqtt.tls.cert and mqtt.tls.key to a client certificate signed by the CA in the hub's mqtt.tls.ca",
      };
    }
    if (code === 'ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED') {
      return {
        message: `the broker at ${where} says this gateway's client certificate (mqtt.tls.cert ${tls?.cert ?? ''}) has expired; ${clock}`,
        fix: "renew the client certificate; if it is still valid, correct this gateway's clock (NTP)",
      };
    }
    if (CLIENT_CERT_REFUSED.has(code)) {
      return {
        message: `the broker at ${where} refused this gateway's client certificate${tls?.cert === undefined ? '' : ` (mqtt.tls.cert ${tls.cert})`}`,
        fix: "use a client certificate signed by the CA in the hub's mqtt.tls.ca",
      };
    }
    if (code === 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE') {
      return {
        message: `the broker at ${where} refused the TLS handshake: ${tls?.cert === undefined ? 'it may require a client certificate (mqtt.tls.cert is not set), or' : 'it'} shares no TLS cipher with this gateway`,
        fix: `if the hub sets mqtt.tls.ca, set mqtt.tls.cert and mqtt.tls.key; otherwise compare the hub's mqtt.tls.ciphers with \`openssl s_client -connect ${where}\``,
      };
    }
    if (NOT_TLS.has(code)) {
      return {
        message: `${where} does not answer TLS: it is probably a plain MQTT port`,
        fix: "use the port of the hub's mqtt.tls listener (8883 by default) in mqtt.url; 1883 is plain MQTT",
      };
    }
    if (NO_COMMON_VERSION.has(code)) {
      return {
        message: `the broker at ${where} and this gateway share no TLS version`,
        fix: "the hub takes TLS 1.2 and 1.3 by default (its mqtt.tls.minVersion); lower that to TLSv1.2, or update this gateway's Node.js",
      };
    }
    return undefined;
  })();
  if (described === undefined) return undefined;
  return new GatewayError(
    'WANJI_E_MQTT_TLS',
    `${described.message} [${code}]; fix: ${described.fix}`,
    { tlsCode: code },
    { cause: err },
  );
}
