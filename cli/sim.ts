/**
 * `wanji sim`: runs a simulated fleet of OPC UA and Modbus machines until stopped, printing where
 * each enterprise's machines answer (one JSON line per enterprise on stdout). A big fleet is
 * served from child processes; faults are switched on from the command line or over HTTP.
 */
import { parseArgs } from 'node:util';
import { FaultControlServer } from '../simulators/fault-control.js';
import { FAULT_SPEC_HELP, type FaultRequest, parseFaultSpec } from '../simulators/faults.js';
import { DEFAULT_FLEET_MACHINES, MAX_FLEET_MACHINES } from '../simulators/fleet.js';
import {
  createFleetService,
  defaultSimProcesses,
  type FleetPart,
  MACHINES_PER_SIM_PROCESS,
} from '../simulators/fleet-processes.js';
import type { FleetService } from '../simulators/fleet-runtime.js';
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
  --part K/N       serve only the K-th of N shares of the enterprises (a fleet spread over
                   hosts: the same --machines and --seed on each, --part 1/3, 2/3, 3/3)
  --processes P    child processes serving the fleet; 0 serves it in this process (default:
                   0 up to ${MACHINES_PER_SIM_PROCESS} machines, else one per ${MACHINES_PER_SIM_PROCESS})
  --fault SPEC     a fault from the start, repeatable: ${FAULT_SPEC_HELP}
                   (power-loss is for wanji demo); e.g. --fault offline:E001-CNC-001:30
  --faults-port F  HTTP control of the faults while running (GET/POST/DELETE /faults; 0 picks a port)
  --help           this text

Faults: offline (stops answering), flap (link down/up every 10 s), freeze (values stop
changing), alarm-storm (alarm on and off every tick). See docs/simulators.md.

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

function parsePart(raw: string | undefined): FleetPart | undefined {
  if (raw === undefined) return undefined;
  const m = /^(\d+)\/(\d+)$/.exec(raw.trim());
  const index = Number(m?.[1]);
  const of = Number(m?.[2]);
  if (m === null || index < 1 || of < 1 || index > of) {
    throw new UsageError(`--part must be K/N with 1 ≤ K ≤ N, e.g. 2/3; got "${raw}"`);
  }
  return { index, of };
}

interface SimArgs {
  help: boolean;
  machines: number;
  seed: number;
  enterprises: number | undefined;
  host: string;
  tickMs: number;
  pkiDir: string | undefined;
  processes: number;
  part: FleetPart | undefined;
  faults: FaultRequest[];
  faultsPort: number | undefined;
}

function parse(args: string[]): SimArgs {
  let values: Record<string, string | boolean | string[] | undefined>;
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
        processes: { type: 'string' },
        part: { type: 'string' },
        fault: { type: 'string', multiple: true },
        'faults-port': { type: 'string' },
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
  const faults = (Array.isArray(values.fault) ? values.fault : []).map((spec) => {
    let fault: FaultRequest;
    try {
      fault = parseFaultSpec(spec);
    } catch (err) {
      throw new UsageError(`--fault: ${(err as Error).message}`);
    }
    if (fault.kind === 'power-loss') {
      throw new UsageError('--fault power-loss needs gateways: use it with wanji demo');
    }
    return fault;
  });
  return {
    help: values.help === true,
    machines,
    seed: integer('seed', str('seed'), 0, 0xffffffff) ?? 1,
    enterprises,
    host,
    tickMs: integer('tick-ms', str('tick-ms'), 10, 3_600_000) ?? 1000,
    pkiDir: str('pki-dir'),
    processes: integer('processes', str('processes'), 0, 64) ?? defaultSimProcesses(machines),
    part: parsePart(str('part')),
    faults,
    faultsPort: integer('faults-port', str('faults-port'), 0, 65535),
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
  let fleet: FleetService;
  try {
    fleet = await createFleetService(
      { machines: options.machines, seed: options.seed, enterprises: options.enterprises },
      {
        logger: io.logger,
        host: options.host,
        tickMs: options.tickMs,
        pkiDir: options.pkiDir,
        processes: options.processes,
        part: options.part,
        onChildExit: (exit) =>
          io.stderr.write(
            `wanji sim: simulator process ${exit.index} died (${exit.signal ?? `exit code ${exit.code}`}); the machines of ${exit.enterprises.join(', ')} no longer answer\n`,
          ),
      },
    );
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    io.stderr.write(`wanji sim: ${err.message}\nRun \`wanji sim --help\` for the options.\n`);
    return 2;
  }
  const plan = fleet.plan;
  const control =
    options.faultsPort === undefined
      ? undefined
      : new FaultControlServer({
          handler: fleet,
          logger: io.logger,
          host: options.host,
          port: options.faultsPort,
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
    for (const fault of options.faults) await fleet.addFault(fault);
    await control?.start();
  } catch (err) {
    io.logger.error({ err }, 'simulated fleet did not start');
    io.stderr.write(
      `wanji sim: could not start the fleet: ${err instanceof Error ? err.message : String(err)}\n`,
    );
    await control?.close();
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
    if (control !== undefined) io.stderr.write(`wanji sim: faults at ${control.url}/faults\n`);
    await untilAborted(io.signal);
  } finally {
    await control?.close();
    await fleet.close();
  }
  return 0;
}
