/**
 * `wanji gateway -c FILE`: runs one edge gateway until stopped. Config errors are printed for
 * people (file, path, fix) with exit code 2.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError, loadGatewayConfig } from '../gateway/config/index.js';
import { Gateway } from '../gateway/gateway.js';
import { type CommandIo, untilAborted } from './io.js';

const USAGE = `Usage: wanji gateway -c FILE [options]

Runs an edge gateway: reads the machines in FILE over OPC UA and Modbus TCP and publishes
them as Sparkplug B to the MQTT broker of a Wanji hub. Runs until interrupted (Ctrl-C).

Options:
  -c, --config FILE  the gateway config (YAML); see deploy/examples/gateway.yaml and docs/gateway.md
  --data-dir DIR     where the gateway keeps its state (overrides dataDir in FILE;
                     default ./wanji-gateway-data)
  --check            validate FILE, print a summary and exit
  -h, --help         this text

Exit codes: 0 stopped cleanly, 1 failed, 2 bad arguments or config.
`;

class UsageError extends Error {}

interface GatewayArgs {
  readonly help: boolean;
  readonly check: boolean;
  readonly config: string | undefined;
  readonly dataDir: string | undefined;
}

function parse(args: string[]): GatewayArgs {
  try {
    const { values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        config: { type: 'string', short: 'c' },
        'data-dir': { type: 'string' },
        check: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    return {
      help: values.help === true,
      check: values.check === true,
      config: values.config,
      dataDir: values['data-dir'],
    };
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
}

/** "wanji 0.1.0", from the package.json next to the sources or the build. */
function software(): string {
  for (const rel of ['../../package.json', '../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'wanji' && typeof pkg.version === 'string') return `wanji ${pkg.version}`;
    } catch {
      // try the next location
    }
  }
  return 'wanji';
}

export async function runGatewayCommand(args: string[], io: CommandIo): Promise<number> {
  let options: GatewayArgs;
  try {
    options = parse(args);
    if (!options.help && options.config === undefined) throw new UsageError('-c FILE is required');
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr.write(`wanji gateway: ${err.message}\nRun \`wanji gateway --help\` for the options.\n`);
    return 2;
  }
  if (options.help || options.config === undefined) {
    io.stdout.write(USAGE);
    return 0;
  }
  let config: Awaited<ReturnType<typeof loadGatewayConfig>>;
  try {
    config = await loadGatewayConfig(options.config);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.stderr.write(`wanji gateway: ${err.message}\n`);
    return 2;
  }
  const summary = `${config.gateway.group}/${config.gateway.node}: ${config.machines.length} machines on ${config.connections.length} connections, MQTT ${config.mqtt.url}`;
  if (options.check) {
    io.stdout.write(`${options.config} is valid: ${summary}\n`);
    return 0;
  }
  if (config.connections.some((c) => c.type === 'opcua')) {
    // node-opcua warns on stdout; only load it (and this routing) when it is used.
    const { routeOpcuaLogs } = await import('./opcua-logs.js');
    routeOpcuaLogs(io.logger);
  }
  const gateway = new Gateway(config, {
    logger: io.logger,
    software: software(),
    ...(options.dataDir !== undefined ? { dataDir: options.dataDir } : {}),
  });
  try {
    await gateway.start();
    io.stdout.write(`wanji gateway ${summary}; running (Ctrl-C to stop)\n`);
    await untilAborted(io.signal);
  } catch (err) {
    io.logger.error({ err }, 'gateway failed');
    io.stderr.write(`wanji gateway: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  } finally {
    await gateway.close();
  }
  return 0;
}
