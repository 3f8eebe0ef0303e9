/**
 * `wanji demo`: the hub, a simulated fleet and one gateway per enterprise, on the embedded
 * defaults (aedes broker, SQLite store). What a newcomer runs first. The hub runs in this
 * process; above MACHINES_PER_SIM_PROCESS machines the simulators and the gateways run in child
 * processes (simulators/fleet-processes.ts, cli/gateway-pool.ts).
 */
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Hub } from '../hub/hub.js';
import { FaultControlServer } from '../simulators/fault-control.js';
import { FAULT_SPEC_HELP, type FaultRequest, parseFaultSpec } from '../simulators/faults.js';
import { DEFAULT_FLEET_MACHINES, generateFleet } from '../simulators/fleet.js';
import {
  createFleetService,
  defaultSimProcesses,
  MACHINES_PER_SIM_PROCESS,
} from '../simulators/fleet-processes.js';
import {
  chooseDemoFleet,
  conflictingEnterprises,
  DEMO_FLEET_FILE,
  readDemoFleetRecord,
  writeDemoFleetRecord,
} from './demo-fleet.js';
import { DemoFaults, DemoGateways } from './demo-gateways.js';
import { gatewayConfigsForFleet } from './fleet-gateways.js';
import { defaultGatewayProcesses, MACHINES_PER_GATEWAY_PROCESS } from './gateway-pool.js';
import { type CommandIo, UsageError, untilAborted } from './io.js';
import { routeOpcuaLogs } from './opcua-logs.js';
import { STORE_FORMS, storeFromAddress } from './store-url.js';
import { ensureAdminTokenFile } from './token.js';
import { ensureDemoAdminUser } from './user.js';

/**
 * The most machines the demo runs: the programme's 10,000, networked within a minute on a
 * 2-core machine with the simulators and the gateways in child processes (docs/bench.md,
 * "wanji demo at scale"). Beyond it the machine's two cores, not the hub, fall behind.
 */
export const DEMO_MAX_MACHINES = 10_000;

/**
 * How often the demo's gateways fsync their journals: the sync blocks the one process holding
 * the hub and every gateway (100 syncs a second at 5,000 machines with the gateway default of
 * 1 s). The journal's data is written at once either way; only a power cut could take the rest.
 */
export const DEMO_JOURNAL_FSYNC_MS = 10_000;

/**
 * How often the demo's gateways poll each Modbus machine: every second up to
 * MACHINES_PER_SIM_PROCESS machines, every 2 s up to 5,000, every 5 s beyond (polling 10,000
 * machines' registers every second costs the simulators and the gateways more than the 2 cores
 * of a laptop have; docs/bench.md, "bench:fleet"). OPC UA machines report each change as it
 * happens whatever this is (cli/fleet-gateways.ts).
 */
export function demoPollIntervalMs(machines: number): number {
  if (machines <= MACHINES_PER_SIM_PROCESS) return 1000;
  return machines <= 5000 ? 2000 : 5000;
}

/**
 * How long the demo's gateways wait for a Modbus answer: the gateway default (1 s) up to
 * MACHINES_PER_SIM_PROCESS machines, 2 s beyond, where 200 gateways starting on the same two
 * cores as the simulators delay answers past a second and a machine that answered late would
 * wait a whole poll (5 s) as "degraded" before it is networked.
 */
export function demoModbusTimeoutMs(machines: number): number | undefined {
  return machines <= MACHINES_PER_SIM_PROCESS ? undefined : 2000;
}

/** Time between two gateways' starts: 100 gateways connect over a second, not in one burst. */
export const GATEWAY_START_SPACING_MS = 10;

const USAGE = `Usage: wanji demo [options]

Starts a hub, a simulated fleet of OPC UA and Modbus machines in several enterprises, and
one gateway per enterprise, registers the enterprises' ledgers, and prints the dashboard.

Options:
  --machines N     machines to simulate (default ${DEFAULT_FLEET_MACHINES}, at most ${DEMO_MAX_MACHINES})
  --http-port P    dashboard and API port (default 8080; 0 picks a free one)
  --mqtt-port Q    embedded MQTT broker port (default 1883; 0 picks a free one)
  --data-dir D     where the hub and gateways keep their files (default ./wanji-data)
  --host H         interface to listen on (default 127.0.0.1)
  --store ADDRESS  the hub's sample store: ${STORE_FORMS}
                   (default sqlite, in the data directory; docs/store.md)
  --seed S         fleet seed: the same machines and seed give the same fleet (default 1)
  --sim-processes P
                   child processes serving the simulated machines; 0 serves them in this
                   process (default: 0 up to ${MACHINES_PER_SIM_PROCESS} machines, else one per ${MACHINES_PER_SIM_PROCESS})
  --gateway-processes G
                   child processes running the gateways; 0 runs them in this process
                   (default: 0 up to ${MACHINES_PER_SIM_PROCESS} machines, else one per ${MACHINES_PER_GATEWAY_PROCESS})
  --fault SPEC     a fault from the start, repeatable: ${FAULT_SPEC_HELP}
  --faults-port F  HTTP control of faults while the demo runs (GET/POST/DELETE /faults)
  --help           this text

Faults: offline (machines stop answering), flap (link down/up every 10 s), freeze (values
stop changing), alarm-storm (alarm on and off every second), power-loss (a gateway drops off
without a goodbye; power returns after SECONDS). E.g.
  wanji demo --faults-port 8090 &
  curl -d '{"kind":"power-loss","target":"E002","seconds":60}' http://127.0.0.1:8090/faults
See docs/simulators.md.

A data directory keeps its fleet (${DEMO_FLEET_FILE}): a rerun on it without --machines and
--seed runs the same enterprises and machines; other values there are refused, so use another
--data-dir for another fleet. Ctrl-C stops the demo; a second Ctrl-C exits at once.
`;

interface DemoOptions {
  /** --machines, when given (else the data directory's fleet, else the default). */
  machines: number | undefined;
  httpPort: number;
  mqttPort: number;
  dataDir: string;
  host: string;
  /** --seed, when given (else the data directory's fleet, else 1). */
  seed: number | undefined;
  simProcesses: number | undefined;
  gatewayProcesses: number | undefined;
  faults: FaultRequest[];
  faultsPort: number | undefined;
  /** --store: the sample store's settings (default the embedded SQLite store). */
  store: ReturnType<typeof storeFromAddress>;
}

/**
 * The refusal of a fleet above DEMO_MAX_MACHINES, with the reason and what to do instead;
 * undefined when the demo runs it.
 */
export function demoFleetTooLarge(machines: number): string | undefined {
  if (machines <= DEMO_MAX_MACHINES) return undefined;
  return [
    `--machines ${machines} is more than the demo runs: at most ${DEMO_MAX_MACHINES}. The demo runs the hub, every`,
    `simulated machine and every gateway on this one computer (docs/bench.md); beyond ${DEMO_MAX_MACHINES} machines its cores fall behind.`,
    'For a bigger fleet, spread it over machines: run `wanji hub` on one, `wanji sim --machines N --seed S',
    '--part K/M --host <address>` on others (each serving its share of the enterprises), and `wanji gateway -c',
    '<config>` per enterprise (docs/simulators.md, "A fleet on several machines").',
  ].join('\n');
}

function integer(name: string, text: string | undefined, fallback: number, min: number, max: number): number;
function integer(
  name: string,
  text: string | undefined,
  fallback: undefined,
  min: number,
  max: number,
): number | undefined;
function integer(
  name: string,
  text: string | undefined,
  fallback: number | undefined,
  min: number,
  max: number,
): number | undefined {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}; got "${text}"`);
  }
  return n;
}

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
      'sim-processes': { type: 'string' },
      'gateway-processes': { type: 'string' },
      fault: { type: 'string', multiple: true },
      'faults-port': { type: 'string' },
      store: { type: 'string' },
      help: { type: 'boolean' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return 'help';
  return {
    // The demo's ceiling is checked with its reason once the fleet is chosen (demoFleetTooLarge).
    machines: integer('machines', values.machines, undefined, 1, 1_000_000_000),
    httpPort: integer('http-port', values['http-port'], 8080, 0, 65535),
    mqttPort: integer('mqtt-port', values['mqtt-port'], 1883, 0, 65535),
    dataDir: resolve(values['data-dir'] ?? 'wanji-data'),
    host: values.host ?? '127.0.0.1',
    seed: integer('seed', values.seed, undefined, 0, 2 ** 31 - 1),
    simProcesses: integer('sim-processes', values['sim-processes'], undefined, 0, 64),
    gatewayProcesses: integer('gateway-processes', values['gateway-processes'], undefined, 0, 64),
    faults: (values.fault ?? []).map((spec) => {
      try {
        return parseFaultSpec(spec);
      } catch (err) {
        throw new UsageError(`--fault: ${(err as Error).message}`);
      }
    }),
    faultsPort: integer('faults-port', values['faults-port'], undefined, 0, 65535),
    store: storeFromAddress(values.store ?? 'sqlite'),
  };
}

/** The --store kind in words, for the banner. */
function storeKind(store: ReturnType<typeof storeFromAddress>): string {
  if (store.api === 'v1') return `InfluxDB 1.x, database ${String(store.database)}`;
  return `VictoriaMetrics, bucket ${String(store.bucket)}`;
}

interface Closable {
  close(): Promise<void>;
}

/**
 * Waits for `work` unless the signal aborts first (false then): a Ctrl-C during a long start-up
 * stops at once rather than after every gateway is up. The work left running is closed by its
 * owner's close(), which waits for a start under way.
 */
async function unlessAborted(work: Promise<unknown>, signal: AbortSignal): Promise<boolean> {
  // A start that fails after the stop was asked for is closed anyway: nothing to report.
  work.catch(() => undefined);
  if (signal.aborted) return false;
  let onAbort = (): void => undefined;
  const aborted = new Promise<false>((resolve) => {
    onAbort = () => resolve(false);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([work.then(() => true as const), aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
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
  // Started parts in stages (hub, fleet, gateways), closed last stage first; the parts of one
  // stage close together, so twenty gateways take as long to stop as one.
  const stages: Closable[][] = [];
  const closeAll = async (): Promise<void> => {
    for (const stage of stages.reverse()) {
      const results = await Promise.allSettled(stage.map((part) => part.close()));
      for (const r of results) {
        if (r.status === 'rejected') logger.warn({ err: r.reason }, 'demo: a part did not close cleanly');
      }
    }
  };
  const stopping = (): number => {
    stdout.write('Stopping…\n');
    return 0;
  };
  try {
    // Private like the hub's own (it holds the admin token): 0700, whatever the umask.
    await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
    const choice = chooseDemoFleet(
      options.dataDir,
      { machines: options.machines, seed: options.seed },
      await readDemoFleetRecord(options.dataDir),
      { machines: DEFAULT_FLEET_MACHINES, seed: 1 },
    );
    if (!choice.ok) {
      io.stderr.write(`wanji demo: ${choice.message}\n`);
      return 2;
    }
    const tooLarge = demoFleetTooLarge(choice.fleet.machines);
    if (tooLarge !== undefined) {
      io.stderr.write(`wanji demo: ${tooLarge}\n`);
      return 2;
    }
    const plan = generateFleet(choice.fleet);

    const hub = new Hub({
      dataDir: options.dataDir,
      // The demo's gateways connect without credentials; the hub logs that anonymous access is on.
      mqtt: { host: options.host, port: options.mqttPort, allowAnonymous: true },
      http: { host: options.host, port: options.httpPort },
      store: options.store,
      logger,
    });
    // The simulators start beside the hub (they need nothing of it): at 10,000 machines their
    // address spaces take longer to build than the hub takes to open.
    const fleet = await createFleetService(choice.fleet, {
      logger,
      host: options.host,
      processes: options.simProcesses ?? defaultSimProcesses(plan.machines.length),
      onChildExit: (exit) =>
        io.stderr.write(
          `wanji demo: simulator process ${exit.index} died (${exit.signal ?? `exit code ${exit.code}`}); the machines of ${exit.enterprises.length} enterprise(s) no longer answer\n`,
        ),
    });
    stages.push([fleet]);
    const fleetStarted = fleet.start();
    stages.push([hub]);
    if (!(await unlessAborted(Promise.all([hub.start(), fleetStarted]), io.signal))) return stopping();
    const conflicts = conflictingEnterprises(plan.enterprises, (code) => hub.registry.enterprise(code));
    if (conflicts.length > 0) {
      const shown = conflicts
        .slice(0, 3)
        .map(
          ({ planned, held }) =>
            `  ${planned.code}: holds ${held.name} (${held.regionCode}), the fleet has ${planned.name} (${planned.regionCode})`,
        );
      io.stderr.write(
        [
          `wanji demo: ${options.dataDir} holds ${conflicts.length} enterprise(s) that this fleet (${plan.machines.length} machines, seed ${plan.seed}) would declare differently:`,
          ...shown,
          ...(conflicts.length > 3 ? [`  … and ${conflicts.length - 3} more`] : []),
          `Give a new --data-dir for the demo, or delete ${options.dataDir} first.`,
          '',
        ].join('\n'),
      );
      return 2;
    }
    // What the directory holds is kept: only enterprises it does not have yet are declared.
    for (const e of plan.enterprises) {
      if (hub.registry.enterprise(e.code) === undefined) hub.registry.upsertEnterprise(e, 'wanji demo');
    }
    await writeDemoFleetRecord(options.dataDir, choice.fleet);
    const admin = await ensureAdminTokenFile(hub.registry, options.dataDir);
    const webUser = await ensureDemoAdminUser(hub.registry, options.dataDir);

    const configs = gatewayConfigsForFleet(fleet, {
      mqttUrl: hub.mqttUrl,
      primaryHost: hub.config.hostId,
      dataDir: resolve(options.dataDir, 'gateways'),
      opcuaPkiDir: resolve(options.dataDir, 'gateways', 'pki'),
      journalFsyncIntervalMs: DEMO_JOURNAL_FSYNC_MS,
      pollIntervalMs: demoPollIntervalMs(plan.machines.length),
      modbusTimeoutMs: demoModbusTimeoutMs(plan.machines.length),
    });
    const gateways = new DemoGateways(configs, {
      logger,
      disconnectMqttClient: (clientId) => hub.disconnectMqttClient(clientId),
      startSpacingMs: GATEWAY_START_SPACING_MS,
      processes:
        options.gatewayProcesses ?? defaultGatewayProcesses(plan.machines.length, MACHINES_PER_SIM_PROCESS),
      onChildExit: (exit) =>
        io.stderr.write(
          `wanji demo: gateway process ${exit.index} died (${exit.signal ?? `exit code ${exit.code}`}); the machines of ${exit.enterprises.length} enterprise(s) are no longer read\n`,
        ),
    });
    stages.push([gateways]);
    if (!(await unlessAborted(gateways.start(), io.signal))) return stopping();
    const faults = new DemoFaults(fleet, gateways);
    for (const fault of options.faults) await faults.addFault(fault);
    const control =
      options.faultsPort === undefined
        ? undefined
        : new FaultControlServer({ handler: faults, logger, host: options.host, port: options.faultsPort });
    if (control !== undefined) {
      stages.push([control]);
      await control.start();
    }

    const dashboard = `http://${options.host}:${hub.httpPort}/`;
    const regions = new Set(plan.enterprises.map((e) => e.regionCode)).size;
    stdout.write(
      [
        `Wanji demo: ${plan.machines.length} simulated machines in ${plan.enterprises.length} enterprises across ${regions} regions, ${gateways.count} gateways.`,
        ...(choice.resumed
          ? [`  fleet      the one ${options.dataDir} holds (seed ${plan.seed}; see ${DEMO_FLEET_FILE})`]
          : []),
        `  web        ${dashboard}  user ${webUser.name}  password ${webUser.password} (kept in ${webUser.path})`,
        `  plain page ${dashboard}plain#token=${admin.token}`,
        `  API token  ${admin.path} (admin; curl -H "Authorization: Bearer $(cat ${admin.path})" ${dashboard}api/v1/stats)`,
        `  API docs   ${dashboard}docs`,
        `  MQTT       ${hub.mqttUrl} (Sparkplug B, host id ${hub.config.hostId})`,
        `  data       ${options.dataDir}`,
        ...(options.store.type === 'sqlite'
          ? []
          : [`  store      ${String(options.store.url)} (${storeKind(options.store)})`]),
        ...(control !== undefined ? [`  faults     ${control.url}/faults (docs/simulators.md)`] : []),
        'Press Ctrl-C to stop.',
        '',
      ].join('\n'),
    );
    await reportProgress(hub, plan.machines.length, started, io);
    await untilAborted(io.signal);
    return stopping();
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
