/**
 * `wanji gateway -c FILE`: runs one edge gateway until stopped, reloading FILE on SIGHUP.
 * Config errors are printed for people (file, path, fix) with exit code 2; on a reload they
 * are printed and the gateway runs on with its previous config.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError, loadGatewayConfig } from '../gateway/config/index.js';
import { Gateway, type ReloadResult } from '../gateway/gateway.js';
import { ReloadError } from '../gateway/reload.js';
import { redactUrl } from '../protocol/index.js';
import { type CommandIo, UsageError, untilAborted } from './io.js';

const USAGE = `Usage: wanji gateway -c FILE [options]

Runs an edge gateway: reads the machines in FILE over OPC UA and Modbus TCP and publishes
them as Sparkplug B to the MQTT broker of a Wanji hub. Runs until interrupted (Ctrl-C).
SIGHUP reloads FILE and applies only what changed (kill -HUP <pid>, systemctl reload).

Options:
  -c, --config FILE  the gateway config (YAML); see deploy/examples/gateway.yaml and docs/gateway.md
  --data-dir DIR     where the gateway keeps its state (overrides dataDir in FILE;
                     default ./wanji-gateway-data)
  --check            validate FILE, print a summary and exit
  -h, --help         this text

Exit codes: 0 stopped cleanly, 1 failed, 2 bad arguments or config.
`;

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

function list(what: string, ids: readonly string[]): string[] {
  return ids.length === 0 ? [] : [`${what} ${ids.join(', ')}`];
}

/** "connections: restarted B, added C; machines: added c1, removed b2" or "nothing changed". */
export function describeReload(r: ReloadResult): string {
  const c = [
    ...list('restarted', r.connections.restarted),
    ...list('added', r.connections.added),
    ...list('removed', r.connections.removed),
  ];
  const m = [
    ...list('added', r.machines.added),
    ...list('removed', r.machines.removed),
    ...list('changed', r.machines.changed),
  ];
  const parts = [
    ...(c.length > 0 ? [`connections: ${c.join(', ')}`] : []),
    ...(m.length > 0 ? [`machines: ${m.join(', ')}`] : []),
    ...(r.timing ? ['timing changed'] : []),
  ];
  return parts.length === 0 ? 'nothing changed' : parts.join('; ');
}

/** Reloads FILE into the gateway; every failure is reported and the gateway runs on. */
async function reloadFrom(file: string, gateway: Gateway, io: CommandIo): Promise<void> {
  try {
    const result = await gateway.reload(await loadGatewayConfig(file));
    io.stdout.write(`wanji gateway: reloaded ${file}: ${describeReload(result)}\n`);
  } catch (err) {
    const why =
      err instanceof ConfigError || err instanceof ReloadError
        ? err.message
        : `reload failed: ${err instanceof Error ? err.message : String(err)}`;
    if (!(err instanceof ConfigError || err instanceof ReloadError))
      io.logger.error({ err }, 'reload failed');
    io.stderr.write(`wanji gateway: ${why}\nwanji gateway: still running with the previous config\n`);
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
  const summary = `${config.gateway.group}/${config.gateway.node}: ${config.machines.length} machines on ${config.connections.length} connections, MQTT ${redactUrl(config.mqtt.url)}`;
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
  // One reload at a time, in the order the signals came.
  const file = options.config;
  let reloads = Promise.resolve();
  const onReload = (): void => {
    reloads = reloads.then(() => reloadFrom(file, gateway, io));
  };
  try {
    await gateway.start();
    io.reload?.addEventListener('reload', onReload);
    io.stdout.write(`wanji gateway ${summary}; running (Ctrl-C to stop)\n`);
    await untilAborted(io.signal);
  } catch (err) {
    io.logger.error({ err }, 'gateway failed');
    io.stderr.write(`wanji gateway: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  } finally {
    io.reload?.removeEventListener('reload', onReload);
    await reloads;
    await gateway.close();
  }
  return 0;
}
