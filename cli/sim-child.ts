/**
 * The entry point of one child process of a multi-process simulated fleet
 * (simulators/fleet-processes.ts): serves the machines of the enterprises the parent gives it,
 * answers its requests (start, faults, close) over the IPC channel, and logs pino JSON lines on
 * stdout, which the parent forwards to its own log. Exits when the parent goes away.
 */
import { pino } from 'pino';
import { childLogDestination, serveParent } from '../protocol/child-ipc.js';
import type { SimChildCall, SimChildStart } from '../simulators/fleet-processes.js';
import type { SimFleet } from '../simulators/fleet-runtime.js';
import { routeOpcuaLogs } from './opcua-logs.js';

let fleet: SimFleet | undefined;
let logger = pino({ level: 'info' }, childLogDestination());

async function start(options: SimChildStart): Promise<unknown> {
  if (fleet !== undefined) throw new Error('this simulator process has started already');
  logger = pino({ level: options.logLevel }, childLogDestination());
  // Before node-opcua is loaded: its notices go to the log, not to stdout as text.
  routeOpcuaLogs(logger);
  const { generateFleet } = await import('../simulators/fleet.js');
  const { SimFleet } = await import('../simulators/fleet-runtime.js');
  const whole = generateFleet(options.fleet);
  const codes = new Set(options.codes);
  const plan = {
    seed: whole.seed,
    enterprises: whole.enterprises.filter((e) => codes.has(e.code)),
    machines: whole.machines.filter((m) => codes.has(m.enterpriseCode)),
  };
  if (plan.enterprises.length !== codes.size) {
    throw new Error(
      `the fleet has no enterprise ${options.codes.find((c) => !whole.enterprises.some((e) => e.code === c))}`,
    );
  }
  fleet = new SimFleet(plan, {
    logger,
    host: options.host,
    tickMs: options.tickMs,
    pkiDir: options.pkiDir,
    maxOpcuaServers: options.maxOpcuaServers,
  });
  await fleet.start();
  return Object.fromEntries(plan.enterprises.map((e) => [e.code, fleet!.endpoints(e.code)]));
}

function running(): SimFleet {
  if (fleet === undefined) throw new Error('this simulator process has not started');
  return fleet;
}

async function handle(request: SimChildCall): Promise<unknown> {
  switch (request.op) {
    case 'start':
      return await start(request.start);
    case 'fault':
      return running().addFaultNow(request.request, request.id);
    case 'clear':
      return running().clearFaultsNow(request.id);
    case 'close':
      await fleet?.close();
      fleet = undefined;
      setImmediate(() => process.disconnect?.());
      return null;
  }
}

serveParent<SimChildCall>({
  handle,
  onDisconnect: async () => {
    try {
      await fleet?.close();
      return 0;
    } catch (err) {
      logger.error({ err }, 'simulated fleet did not close cleanly');
      return 1;
    }
  },
  name: 'wanji sim-child',
  runBy: '`wanji sim` and `wanji demo`',
});
