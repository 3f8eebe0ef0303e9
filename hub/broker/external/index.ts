/**
 * An MQTT broker the hub does not run (EMQX, HiveMQ, mosquitto). Nothing to listen on: the
 * host connects to `url` like any other client. Access control is that broker's job; the hub
 * logs in with mqtt.username and mqtt.password or mqtt.passwordFile (or a login in the url,
 * taken out of it here), over TLS with mqtt.clientTls for an mqtts:// or wss:// url.
 * connectUrl() never holds the login, so nothing downstream can print it.
 */

import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { redactUrl, urlLogin, withoutLogin } from '../../../protocol/index.js';
import { type ComponentHealth, HubError } from '../../errors.js';
import type { BrokerConfig, BrokerContext, HostClientOptions, HostTlsOptions, MqttBroker } from '../types.js';

export class ExternalBroker implements MqttBroker {
  readonly type = 'external';
  readonly port = undefined;
  readonly #config: BrokerConfig;
  readonly #log: Logger;
  readonly #url: string;
  #login: HostClientOptions = {};
  #status: ComponentHealth['status'] = 'starting';

  constructor(config: BrokerConfig, ctx: BrokerContext) {
    if (config.url === undefined) {
      throw new HubError(
        'WANJI_E_HUB_CONFIG',
        'mqtt.type "external" needs mqtt.url, e.g. mqtt://broker:1883',
      );
    }
    this.#config = config;
    this.#log = ctx.logger.child({ component: 'broker', broker: 'external' });
    this.#url = withoutLogin(config.url);
  }

  /** The broker's URL, without the user name and password it may have been given with. */
  connectUrl(): string {
    return this.#url;
  }

  /** The hub's login and TLS options, files read at start(). */
  hostClientOptions(): HostClientOptions {
    return this.#login;
  }

  health(): ComponentHealth {
    return { status: this.#status, detail: 'external broker; see the host status' };
  }

  async start(): Promise<void> {
    if (this.#status === 'up') return;
    const c = this.#config;
    const inUrl = urlLogin(c.url ?? '');
    const username = c.username ?? (inUrl.username === '' ? undefined : inUrl.username);
    let password = c.password ?? (inUrl.password === '' ? undefined : inUrl.password);
    if (c.passwordFile !== undefined) password = await this.#readPassword(c.passwordFile);
    const tls = c.clientTls === undefined ? undefined : await this.#readTls(c.clientTls);
    this.#login = {
      ...(username === undefined ? {} : { username }),
      ...(password === undefined ? {} : { password }),
      ...(tls === undefined ? {} : { tls }),
    };
    this.#log.info(
      {
        url: redactUrl(this.#url),
        ...(username === undefined ? {} : { username }),
        password: password === undefined ? 'none' : c.passwordFile === undefined ? 'given' : 'from file',
        tls: tls !== undefined,
      },
      'using an external MQTT broker',
    );
    this.#status = 'up';
  }

  async close(): Promise<void> {
    this.#status = 'closed';
  }

  async #readPassword(path: string): Promise<string> {
    const text = await readConfigFile('mqtt.passwordFile', path, 'a file holding the broker password');
    try {
      // The password is a secret: a file others can read is said once at start.
      if ((statSync(path).mode & 0o077) !== 0) {
        this.#log.warn({ file: path }, 'mqtt.passwordFile is readable by other users; chmod 600 it');
      }
    } catch {
      // Read a moment ago; a race with its removal changes nothing here.
    }
    const password = text.toString('utf8').replace(/\r?\n$/, '');
    if (password === '') {
      throw new HubError(
        'WANJI_E_HUB_CONFIG',
        `mqtt.passwordFile ${path} is empty; put the broker password in it`,
      );
    }
    return password;
  }

  async #readTls(t: NonNullable<BrokerConfig['clientTls']>): Promise<HostTlsOptions> {
    const [ca, cert, key] = await Promise.all([
      t.ca === undefined
        ? undefined
        : readConfigFile('mqtt.clientTls.ca', t.ca, "a PEM file of the broker's CA"),
      t.cert === undefined
        ? undefined
        : readConfigFile('mqtt.clientTls.cert', t.cert, "a PEM file: the hub's client certificate"),
      t.key === undefined
        ? undefined
        : readConfigFile('mqtt.clientTls.key', t.key, 'a PEM file: its private key'),
    ]);
    return {
      ...(ca === undefined ? {} : { ca }),
      ...(cert === undefined ? {} : { cert }),
      ...(key === undefined ? {} : { key }),
      rejectUnauthorized: t.rejectUnauthorized ?? true,
    };
  }
}

/** A file named in the config, or WANJI_E_HUB_CONFIG naming the key, the file and what it should be. */
async function readConfigFile(key: string, path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new HubError('WANJI_E_HUB_CONFIG', `${key} ${path}: cannot read it (${code}); give ${what}`, {
      cause: err,
    });
  }
}

export function createExternalBroker(config: BrokerConfig, ctx: BrokerContext): ExternalBroker {
  return new ExternalBroker(config, ctx);
}
