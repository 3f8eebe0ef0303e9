/**
 * `wanji sim`: runs a simulated fleet of OPC UA and Modbus machines until stopped, printing where
 * each enterprise's machines answer (one JSON line per enterprise on stdout).
 */
import { parseArgs } from 'node:util';
import { DEFAULT_FLEET_MACHINES, generateFleet, MAX_FLEET_MACHINES } from '../simulators/fleet.js';
import { SimFleet } from '../simulators/fleet-runtime.js';
import { type CommandIo, UsageError, untilAborted } from './io.js';
import { routeOpcuaLogs } from './opcua-logs.js';

const USAGE = `Usage: wanji sim [options]

Runs a simulated fleet: per-enterprise OPC UA and Modbus TCP servers on free ports, machines that
run, idle, alarm and stop. Prints one JSON line per enterprise: its declaration (ledger), its
machines and their endpoints. Runs until interrupted (Ctrl-C).

Options:
  --machines N     machines to simulate, 1..${MAX_FLEET_MACHINES} (default ${DEFAULT_FLEET_MACHINES})
  --seed S         seed; the same seed gives the same fleet and values (default 1)
  --enterprises E  enterprises to spread the machines over (default: one per ~50 machines, ≥ 3)
  --host H         address to listen on, also the host in the endpoints (default 127.0.0.1)
  --tick-ms T      how often machines advance, in ms (default 1000)
  --pki-dir DIR    OPC UA certificate folder, reused between runs (default: OS temp dir)
  --help           this text

OPC UA NodeIds are ns=1;s=<machineId>.<signal> (namespace urn:wanji:simulator); the Modbus
register map is in docs/modbus-register-map.md.
`;

function integer(name: string, raw: string | undefined, min: number, max: number): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`--${name} must be an integer ${min}..${max}; got "${raw}"`);
  }
  return n;
}

interface SimArgs {
  help: boolean;
  machines: number;
  seed: number;
  enterprises: number | undefined;
  host: string;
  tickMs: number;
  pkiDir: string | undefined;
}

function parse(args: string[]): SimArgs {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        machines: { type: 'string' },
        seed: { type: 'string' },
        enterprises: { type: 'string' },
        host: { type: 'string' },
        'tick-ms': { type: 'string' },
        'pki-dir': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  const str = (k: string): string | undefined =>
    typeof values[k] === 'string' ? (values[k] as string) : undefined;
  const machines = integer('machines', str('machines'), 1, MAX_FLEET_MACHINES) ?? DEFAULT_FLEET_MACHINES;
  const enterprises = integer('enterprises', str('enterprises'), 1, machines);
  const host = str('host') ?? '127.0.0.1';
  if (host.trim() === '') throw new UsageError('--host must not be empty');
  return {
    help: values.help === true,
    machines,
    seed: integer('seed', str('seed'), 0, 0xffffffff) ?? 1,
    enterprises,
    host,
    tickMs: integer('tick-ms', str('tick-ms'), 10, 3_600_000) ?? 1000,
    pkiDir: str('pki-dir'),
  };
}

export async function runSimCommand(args: string[], io: CommandIo): Promise<number> {
  let options: SimArgs;
  try {
    options = parse(args);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr.write(`wanji sim: ${err.message}\nRun \`wanji sim --help\` for the options.\n`);
    return 2;
  }
  if (options.help) {
    io.stdout.write(USAGE);
    return 0;
  }
  routeOpcuaLogs(io.logger);
  const plan = generateFleet({
    machines: options.machines,
    seed: options.seed,
    enterprises: options.enterprises,
  });
  const fleet = new SimFleet(plan, {
    logger: io.logger,
    host: options.host,
    tickMs: options.tickMs,
    pkiDir: options.pkiDir,
  });
  // A stop during a long start-up closes the fleet at once: it starts no more servers.
  const stopStarting = (): void => void fleet.close();
  io.signal.addEventListener('abort', stopStarting, { once: true });
  try {
    await fleet.start();
    if (io.signal.aborted) {
      await fleet.close();
      return 0;
    }
  } catch (err) {
    io.logger.error({ err }, 'simulated fleet did not start');
    io.stderr.write(
      `wanji sim: could not start the fleet: ${err instanceof Error ? err.message : String(err)}\n`,
    );
    await fleet.close();
    return 1;
  } finally {
    io.signal.removeEventListener('abort', stopStarting);
  }
  try {
    for (const enterprise of plan.enterprises) {
      const machines = plan.machines
        .filter((m) => m.enterpriseCode === enterprise.code)
        .map(({ id, kind, protocol, nc, robot, dataDepth }) => ({
          id,
          kind,
          protocol,
          nc,
          robot,
          dataDepth,
        }));
      const line = { enterprise, machines, endpoints: fleet.endpoints(enterprise.code) };
      io.stdout.write(`${JSON.stringify(line)}\n`);
    }
    await untilAborted(io.signal);
  } finally {
    await fleet.close();
  }
  return 0;
}
