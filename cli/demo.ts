/**
 * `wanji demo`: the hub, a simulated fleet and one gateway per enterprise in one process, on
 * the embedded defaults (aedes broker, SQLite store). What a newcomer runs first.
 */
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Gateway } from '../gateway/gateway.js';
import { Hub } from '../hub/hub.js';
import { DEFAULT_FLEET_MACHINES, generateFleet, MAX_FLEET_MACHINES } from '../simulators/fleet.js';
import { SimFleet } from '../simulators/fleet-runtime.js';
import { gatewayConfigsForFleet } from './fleet-gateways.js';
import { type CommandIo, untilAborted } from './io.js';
import { routeOpcuaLogs } from './opcua-logs.js';
import { ensureAdminTokenFile } from './token.js';

const USAGE = `Usage: wanji demo [options]

Starts a hub, a simulated fleet of OPC UA and Modbus machines in several enterprises, and
one gateway per enterprise, registers the enterprises' ledgers, and prints the dashboard.

Options:
  --machines N     machines to simulate (default ${DEFAULT_FLEET_MACHINES}, at most ${MAX_FLEET_MACHINES})
  --http-port P    dashboard and API port (default 8080; 0 picks a free one)
  --mqtt-port Q    embedded MQTT broker port (default 1883; 0 picks a free one)
  --data-dir D     where the hub and gateways keep their files (default ./wanji-data)
  --host H         interface to listen on (default 127.0.0.1)
  --seed S         fleet seed, for a reproducible run (default 1)
  --help           this text
`;

interface DemoOptions {
  machines: number;
  httpPort: number;
  mqttPort: number;
  dataDir: string;
  host: string;
  seed: number;
}

function integer(name: string, text: string | undefined, fallback: number, min: number, max: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}; got "${text}"`);
  }
  return n;
}

class UsageError extends Error {}

function parseDemoArgs(args: string[]): DemoOptions | 'help' {
  const { values } = parseArgs({
    args,
    options: {
      machines: { type: 'string' },
      'http-port': { type: 'string' },
      'mqtt-port': { type: 'string' },
      'data-dir': { type: 'string' },
      host: { type: 'string' },
      seed: { type: 'string' },
      help: { type: 'boolean' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return 'help';
  return {
    machines: integer('machines', values.machines, DEFAULT_FLEET_MACHINES, 1, MAX_FLEET_MACHINES),
    httpPort: integer('http-port', values['http-port'], 8080, 0, 65535),
    mqttPort: integer('mqtt-port', values['mqtt-port'], 1883, 0, 65535),
    dataDir: resolve(values['data-dir'] ?? 'wanji-data'),
    host: values.host ?? '127.0.0.1',
    seed: integer('seed', values.seed, 1, 0, 2 ** 31 - 1),
  };
}

interface Closable {
  close(): Promise<void>;
}

export async function runDemoCommand(args: string[], io: CommandIo): Promise<number> {
  let options: DemoOptions | 'help';
  try {
    options = parseDemoArgs(args);
  } catch (err) {
    io.stderr.write(`wanji demo: ${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
    return 2;
  }
  if (options === 'help') {
    io.stdout.write(USAGE);
    return 0;
  }
  const { logger, stdout } = io;
  routeOpcuaLogs(logger);
  const started = Date.now();
  const owned: Closable[] = [];
  const closeAll = async (): Promise<void> => {
    for (const part of owned.reverse()) {
      try {
        await part.close();
      } catch (err) {
        logger.warn({ err }, 'demo: a part did not close cleanly');
      }
    }
  };
  try {
    // Private like the hub's own (it holds the admin token): 0700, whatever the umask.
    await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
    const plan = generateFleet({ machines: options.machines, seed: options.seed });

    const hub = new Hub({
      dataDir: options.dataDir,
      // The demo's gateways connect without credentials; the hub logs that anonymous access is on.
      mqtt: { host: options.host, port: options.mqttPort, allowAnonymous: true },
      http: { host: options.host, port: options.httpPort },
      logger,
    });
    owned.push(hub);
    await hub.start();
    for (const e of plan.enterprises) hub.registry.upsertEnterprise(e, 'wanji demo');
    const admin = await ensureAdminTokenFile(hub.registry, options.dataDir);

    const fleet = new SimFleet(plan, { logger, host: options.host });
    owned.push(fleet);
    await fleet.start();

    const configs = gatewayConfigsForFleet(fleet, {
      mqttUrl: hub.mqttUrl,
      primaryHost: hub.config.hostId,
      dataDir: resolve(options.dataDir, 'gateways'),
    });
    const gateways = configs.map((c) => new Gateway(c, { logger }));
    owned.push(...gateways);
    await Promise.all(gateways.map((g) => g.start()));

    const dashboard = `http://${options.host}:${hub.httpPort}/`;
    const regions = new Set(plan.enterprises.map((e) => e.regionCode)).size;
    stdout.write(
      [
        `Wanji demo: ${plan.machines.length} simulated machines in ${plan.enterprises.length} enterprises across ${regions} regions, ${gateways.length} gateways.`,
        `  dashboard  ${dashboard}#token=${admin.token}`,
        `  API token  ${admin.path} (admin; curl -H "Authorization: Bearer $(cat ${admin.path})" ${dashboard}api/v1/stats)`,
        `  API docs   ${dashboard}docs`,
        `  MQTT       ${hub.mqttUrl} (Sparkplug B, host id ${hub.config.hostId})`,
        `  data       ${options.dataDir}`,
        'Press Ctrl-C to stop.',
        '',
      ].join('\n'),
    );
    await reportProgress(hub, plan.machines.length, started, io);
    await untilAborted(io.signal);
    stdout.write('Stopping…\n');
    return 0;
  } catch (err) {
    logger.error({ err }, 'demo failed');
    io.stderr.write(`wanji demo: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  } finally {
    await closeAll();
  }
}

/** Prints how many machines are networked until all are, or the demo is stopped. */
async function reportProgress(hub: Hub, total: number, startedMs: number, io: CommandIo): Promise<void> {
  let last = -1;
  while (!io.signal.aborted) {
    const { networked, online } = hub.stats();
    if (networked !== last) {
      last = networked;
      const s = ((Date.now() - startedMs) / 1000).toFixed(1);
      io.stdout.write(`  ${s}s  networked ${networked}/${total}, online ${online}\n`);
    }
    if (networked >= total) return;
    // Rejects with AbortError on Ctrl-C, which only ends the loop.
    await sleep(1000, undefined, { signal: io.signal }).catch(() => undefined);
  }
}
