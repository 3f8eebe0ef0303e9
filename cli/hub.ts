/** `wanji hub`: runs the hub until the signal aborts. */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseDocument } from 'yaml';
import { type HubConfig, type HubOptions, resolveHubConfig } from '../hub/config.js';
import { HubConfigError } from '../hub/errors.js';
import { Hub } from '../hub/hub.js';
import { redactUrl } from '../protocol/index.js';
import { type CommandIo, UsageError, untilAborted } from './io.js';

const USAGE = `Usage: wanji hub [options]

Runs the hub: embedded MQTT broker, Sparkplug primary host, sample store, registry,
API and dashboard.

Options:
  -c, --config F  a YAML hub config (store, windows, host id …; see deploy/examples/hub.yaml);
                  the options below override it
  --data-dir D    where registry.db and samples.db live (default: ./wanji-data)
  --http-port P   API and dashboard port (default: 8080; 0 = any free port)
  --mqtt-port Q   MQTT broker port (default: 1883; 0 = any free port)
  --host H        interface for both plain listeners (default: 127.0.0.1); gateways on the
                  factory network come in over mqtt.tls, people over an HTTPS proxy
                  (docs/security.md)
  --worker W      this worker's id when the config has \`cluster\` (several workers on one
                  broker, docs/hub.md "Several workers"), e.g. the pod name
  --help          this help
`;

function port(what: string, v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!/^\d+$/.test(v) || n > 65_535)
    throw new UsageError(`${what} must be a port number 0–65535, got "${v}"`);
  return n;
}

function isLoopback(h: string): boolean {
  return h === '127.0.0.1' || h === 'localhost' || h === '::1';
}

function urlHost(h: string): string {
  if (h === '0.0.0.0' || h === '::') return 'localhost';
  return h.includes(':') ? `[${h}]` : h;
}

type FileConfig = Record<string, unknown> & {
  mqtt?: Record<string, unknown>;
  http?: Record<string, unknown>;
};

/**
 * Reads a YAML hub config. A relative dataDir is taken from the file's folder, so a config
 * means the same wherever the hub is started from.
 */
async function readHubConfigFile(file: string): Promise<FileConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new HubConfigError(file, [`cannot read the file: ${(err as NodeJS.ErrnoException).code ?? err}`]);
  }
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new HubConfigError(
      file,
      doc.errors.map(
        (e) => `line ${e.linePos?.[0].line ?? '?'}: ${e.message.split('\n')[0]} (fix the YAML syntax)`,
      ),
    );
  }
  const value: unknown = doc.toJS() ?? {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new HubConfigError(file, ['/: expected a mapping of hub settings (dataDir, mqtt, http, store, …)']);
  }
  const config = value as FileConfig;
  const here = (p: unknown) => (typeof p === 'string' ? resolve(dirname(file), p) : p);
  if (typeof config.dataDir === 'string') config.dataDir = here(config.dataDir) as string;
  // Certificate paths, like dataDir, are taken from the file's folder.
  const tls = config.mqtt?.tls;
  if (typeof tls === 'object' && tls !== null && !Array.isArray(tls)) {
    const t = tls as Record<string, unknown>;
    for (const k of ['cert', 'key', 'ca']) if (k in t) t[k] = here(t[k]);
  }
  // So are the external broker's password file and client TLS files.
  if (config.mqtt !== undefined && 'passwordFile' in config.mqtt) {
    config.mqtt.passwordFile = here(config.mqtt.passwordFile);
  }
  const clientTls = config.mqtt?.clientTls;
  if (typeof clientTls === 'object' && clientTls !== null && !Array.isArray(clientTls)) {
    const t = clientTls as Record<string, unknown>;
    for (const k of ['cert', 'key', 'ca']) if (k in t) t[k] = here(t[k]);
  }
  return config;
}

export async function runHubCommand(args: string[], io: CommandIo): Promise<number> {
  let opts: {
    config: string | undefined;
    dataDir: string | undefined;
    httpPort: number | undefined;
    mqttPort: number | undefined;
    host: string | undefined;
    worker: string | undefined;
  };
  try {
    const { values } = parseArgs({
      args,
      options: {
        config: { type: 'string', short: 'c' },
        'data-dir': { type: 'string' },
        'http-port': { type: 'string' },
        'mqtt-port': { type: 'string' },
        host: { type: 'string' },
        worker: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    });
    if (values.help) {
      io.stdout.write(USAGE);
      return 0;
    }
    const given = (what: string, v: string | undefined) => (v === undefined ? undefined : port(what, v, 0));
    opts = {
      config: values.config,
      dataDir: values['data-dir'],
      httpPort: given('--http-port', values['http-port']),
      mqttPort: given('--mqtt-port', values['mqtt-port']),
      host: values.host,
      worker: values.worker,
    };
  } catch (err) {
    io.stderr.write(`wanji hub: ${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
    return 2;
  }

  let hub: Hub;
  let host: string;
  let dataDir: string;
  let mqtt: HubConfig['mqtt'];
  try {
    const file = opts.config === undefined ? {} : await readHubConfigFile(opts.config);
    const defined = <T extends object>(o: T) =>
      Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
    const merged = {
      ...file,
      dataDir: opts.dataDir ?? (file.dataDir as string | undefined) ?? 'wanji-data',
      mqtt: { ...file.mqtt, ...defined({ host: opts.host, port: opts.mqttPort }) },
      http: { ...file.http, ...defined({ host: opts.host, port: opts.httpPort }) },
      ...(opts.worker === undefined
        ? {}
        : { cluster: { ...(file.cluster as Record<string, unknown> | undefined), worker: opts.worker } }),
    };
    // Validated here first so that errors name the file; the Hub validates again, cheaply.
    const config = resolveHubConfig(merged, opts.config ?? 'command-line options');
    host = config.http.host;
    dataDir = config.dataDir;
    mqtt = config.mqtt;
    hub = new Hub({ ...(merged as Omit<HubOptions, 'logger'>), logger: io.logger });
  } catch (err) {
    if (err instanceof HubConfigError) {
      io.stderr.write(`wanji hub: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (io.signal.aborted) return 0;
  try {
    await hub.start();
  } catch (err) {
    io.stderr.write(`wanji hub: could not start: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  const h = urlHost(host);
  const mh = urlHost(mqtt.host);
  const listeners = hub.mqttListeners;
  const cluster = hub.clusterStatus();
  const lines = [
    'Wanji hub running',
    `  dashboard  http://${h}:${hub.httpPort}/`,
    // An external broker has no port of the hub's: its URL, never with a password.
    mqtt.type === 'external'
      ? `  MQTT       ${redactUrl(hub.mqttUrl)} (external broker${mqtt.username === undefined ? '' : `, as ${mqtt.username}`})`
      : `  MQTT       mqtt://${mh}:${hub.mqttPort}`,
    ...(listeners.tls === undefined
      ? []
      : [`  MQTT/TLS   mqtts://${urlHost(mqtt.tls?.host ?? mqtt.host)}:${listeners.tls}`]),
    ...(listeners.websocket === undefined
      ? []
      : [
          `  WebSocket  ${mqtt.websocket?.secure ? 'wss' : 'ws'}://${urlHost(mqtt.websocket?.host ?? mqtt.host)}:${listeners.websocket}${mqtt.websocket?.path ?? '/mqtt'}`,
        ]),
    `  data       ${dataDir}`,
    ...(cluster === undefined
      ? []
      : [
          `  cluster    ${cluster.workers.join(', ')} (this worker ${cluster.worker}, ${cluster.groups.length} enterprises)`,
        ]),
  ];
  io.stdout.write(`${lines.join('\n')}\n`);
  if (mqtt.allowAnonymous && !isLoopback(mqtt.host)) {
    io.stderr.write(
      'wanji hub: warning: mqtt.allowAnonymous is on and the broker listens beyond this machine: ' +
        'anyone who reaches it can publish as any gateway (create credentials with `wanji mqtt-user add`)\n',
    );
  }
  await untilAborted(io.signal);
  await hub.close();
  io.stdout.write('Wanji hub stopped\n');
  return 0;
}
