/** `wanji hub`: runs the hub until the signal aborts. */
import { parseArgs } from 'node:util';
import { HubConfigError } from '../hub/errors.js';
import { Hub } from '../hub/hub.js';
import { type CommandIo, untilAborted } from './io.js';

const USAGE = `Usage: wanji hub [options]

Runs the hub: embedded MQTT broker, Sparkplug primary host, sample store, registry,
API and dashboard.

Options:
  --data-dir D    where registry.db and samples.db live (default: ./wanji-data)
  --http-port P   API and dashboard port (default: 8080; 0 = any free port)
  --mqtt-port Q   MQTT broker port (default: 1883; 0 = any free port)
  --host H        interface for both (default: 127.0.0.1; 0.0.0.0 for gateways elsewhere)
  --help          this help
`;

function port(what: string, v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!/^\d+$/.test(v) || n > 65_535)
    throw new UsageError(`${what} must be a port number 0–65535, got "${v}"`);
  return n;
}

class UsageError extends Error {}

function urlHost(h: string): string {
  if (h === '0.0.0.0' || h === '::') return 'localhost';
  return h.includes(':') ? `[${h}]` : h;
}

export async function runHubCommand(args: string[], io: CommandIo): Promise<number> {
  let opts: { dataDir: string; httpPort: number; mqttPort: number; host: string };
  try {
    const { values } = parseArgs({
      args,
      options: {
        'data-dir': { type: 'string' },
        'http-port': { type: 'string' },
        'mqtt-port': { type: 'string' },
        host: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    });
    if (values.help) {
      io.stdout.write(USAGE);
      return 0;
    }
    opts = {
      dataDir: values['data-dir'] ?? 'wanji-data',
      httpPort: port('--http-port', values['http-port'], 8080),
      mqttPort: port('--mqtt-port', values['mqtt-port'], 1883),
      host: values.host ?? '127.0.0.1',
    };
  } catch (err) {
    io.stderr.write(`wanji hub: ${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
    return 2;
  }

  let hub: Hub;
  try {
    hub = new Hub({
      dataDir: opts.dataDir,
      mqtt: { host: opts.host, port: opts.mqttPort },
      http: { host: opts.host, port: opts.httpPort },
      logger: io.logger,
    });
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
  const h = urlHost(opts.host);
  io.stdout.write(
    `Wanji hub running\n  dashboard  http://${h}:${hub.httpPort}/\n  MQTT       mqtt://${h}:${hub.mqttPort}\n  data       ${opts.dataDir}\n`,
  );
  if (opts.host !== '127.0.0.1' && opts.host !== 'localhost' && opts.host !== '::1') {
    io.stderr.write(
      'wanji hub: warning: the MQTT broker accepts anonymous clients on a non-loopback interface\n',
    );
  }
  await untilAborted(io.signal);
  await hub.close();
  io.stdout.write('Wanji hub stopped\n');
  return 0;
}
