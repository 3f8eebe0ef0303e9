/**
 * The rules of `mqtt.tls` that the schema cannot express: TLS options need a TLS URL, and a
 * client certificate needs its key. One place, used by the config checks (`--check`, start,
 * reload) and by the MQTT session as its last guard (northbound/mqtt-tls.ts).
 */
import { type ConfigIssue, isRecord } from './issues.js';

/** URL schemes mqtt.js opens over TLS. */
export const TLS_URL = /^(mqtts|ssl|tls|wss):\/\//i;

/** The TLS URL the user most likely meant for a plain one (mqtt://h:1883 → mqtts://h:8883). */
function tlsUrlFor(url: string): string {
  const m = /^(mqtt|tcp|ws):\/\/([^/:]*)(:\d+)?(.*)$/i.exec(url);
  if (m === null) return 'mqtts://HOST:8883';
  const [, scheme = '', host = '', port = '', rest = ''] = m;
  if (scheme.toLowerCase() === 'ws') return `wss://${host}${port}${rest}`;
  return `mqtts://${host}${port === ':1883' || port === '' ? ':8883' : port}${rest}`;
}

/** Issues of the `mqtt` section's TLS settings; tolerant of a malformed shape. */
export function mqttTlsIssues(mqtt: unknown, base = '/mqtt'): ConfigIssue[] {
  if (!isRecord(mqtt) || !isRecord(mqtt.tls)) return [];
  const issues: ConfigIssue[] = [];
  const { url, tls } = mqtt;
  if (typeof url === 'string' && !TLS_URL.test(url)) {
    issues.push({
      path: `${base}/url`,
      message: `mqtt.tls is set but mqtt.url ${url} is not TLS: the connection would not be encrypted and the tls settings would be ignored`,
      fix: `use a TLS URL such as ${tlsUrlFor(url)} (the hub's mqtt.tls port), or remove mqtt.tls`,
    });
  }
  const has = (k: string): boolean => tls[k] !== undefined;
  if (has('cert') && !has('key')) {
    issues.push({
      path: `${base}/tls/key`,
      message: 'mqtt.tls.cert is set without mqtt.tls.key: a client certificate needs its private key',
      fix: "add key: the PEM file of the client certificate's private key (or remove cert)",
    });
  }
  if (has('key') && !has('cert')) {
    issues.push({
      path: `${base}/tls/cert`,
      message: 'mqtt.tls.key is set without mqtt.tls.cert: a private key needs its client certificate',
      fix: 'add cert: the PEM file of the client certificate (or remove key)',
    });
  }
  return issues;
}
