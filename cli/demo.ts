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
import {
  chooseDemoFleet,
  conflictingEnterprises,
  DEMO_FLEET_FILE,
  readDemoFleetRecord,
  writeDemoFleetRecord,
} from './demo-fleet.js';
import { gatewayConfigsForFleet } from './fleet-gateways.js';
import { type CommandIo, UsageError, untilAborted } from './io.js';
import { routeOpcuaLogs } from './opcua-logs.js';
import { ensureAdminTokenFile } from './token.js';
import { ensureDemoAdminUser } from './user.js';

const USAGE = `Usage: wanji demo [options]

Starts a hub, a simulated fleet of OPC UA and Modbus machines in several enterprises, and
one gateway per enterprise, registers the enterprises' ledgers, and prints the dashboard.

Options:
  --machines N     machines to simulate (default ${DEFAULT_FLEET_MACHINES}, at most ${MAX_FLEET_MACHINES})
  --http-port P    dashboard and API port (default 8080; 0 picks a free one)
  --mqtt-port Q    embedded MQTT broker port (default 1883; 0 picks a free one)
  --data-dir D     where the hub and gateways keep their files (default ./wanji-data)
  --host H         interface to listen on (default 127.0.0.1)
  --seed S         fleet seed: the same machines and seed give the same fleet (default 1)
  --help           this text

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
      help: { type: 'boolean' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return 'help';
  return {
    machines: integer('machines', values.machines, undefined, 1, MAX_FLEET_MACHINES),
    httpPort: integer('http-port', values['http-port'], 8080, 0, 65535),
    mqttPort: integer('mqtt-port', values['mqtt-port'], 1883, 0, 65535),
    dataDir: resolve(values['data-dir'] ?? 'wanji-data'),
    host: values.host ?? '127.0.0.1',
    seed: integer('seed', values.seed, undefined, 0, 2 ** 31 - 1),
  };
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
    const plan = generateFleet(choice.fleet);

    const hub = new Hub({
      dataDir: options.dataDir,
      // The demo's gateways connect without credentials; the hub logs that anonymous access is on.
      mqtt: { host: options.host, port: options.mqttPort, allowAnonymous: true },
      http: { host: options.host, port: options.httpPort },
      logger,
    });
    stages.push([hub]);
    if (!(await unlessAborted(hub.start(), io.signal))) return stopping();
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

    const fleet = new SimFleet(plan, { logger, host: options.host });
    stages.push([fleet]);
    if (!(await unlessAborted(fleet.start(), io.signal))) return stopping();

    const configs = gatewayConfigsForFleet(fleet, {
      mqttUrl: hub.mqttUrl,
      primaryHost: hub.config.hostId,
      dataDir: resolve(options.dataDir, 'gateways'),
    });
    const gateways = configs.map((c) => new Gateway(c, { logger }));
    stages.push(gateways);
    if (!(await unlessAborted(Promise.all(gateways.map((g) => g.start())), io.signal))) return stopping();

    const dashboard = `http://${options.host}:${hub.httpPort}/`;
    const regions = new Set(plan.enterprises.map((e) => e.regionCode)).size;
    stdout.write(
      [
        `Wanji demo: ${plan.machines.length} simulated machines in ${plan.enterprises.length} enterprises across ${regions} regions, ${gateways.length} gateways.`,
        ...(choice.resumed
          ? [`  fleet      the one ${options.dataDir} holds (seed ${plan.seed}; see ${DEMO_FLEET_FILE})`]
          : []),
        `  web        ${dashboard}  user ${webUser.name}  password ${webUser.password} (kept in ${webUser.path})`,
        `  plain page ${dashboard}plain#token=${admin.token}`,
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
