/**
 * The TLS part of the gateway's MQTT connect options (config `mqtt.tls`): the PEM files are
 * read once per config, so a reconnect does not depend on the files still being there, and
 * a file that cannot be read stops the start with an error that names it.
 */
import { readFileSync } from 'node:fs';
import type { GatewayConfig } from '../config/schema.js';
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
  if (!/^(mqtts|ssl|tls|wss):\/\//.test(mqtt.url)) {
    throw configError(`mqtt.tls is set but mqtt.url ${mqtt.url} is not TLS: use mqtts://…:8883 or wss://…`);
  }
  if ((tls.cert === undefined) !== (tls.key === undefined)) {
    throw configError('mqtt.tls: a client certificate needs both cert and key');
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
