/**
 * The entry point of one child process of a multi-process simulated fleet
 * (simulators/fleet-processes.ts): serves the machines of the enterprises the parent gives it,
 * answers its requests (start, faults, close) over the IPC channel, and logs pino JSON lines on
 * stdout, which the parent forwards to its own log. Exits when the parent goes away.
 */
import { pino } from 'pino';
import type { SimChildReply, SimChildRequest, SimChildStart } from '../simulators/fleet-processes.js';
import type { SimFleet } from '../simulators/fleet-runtime.js';
import { routeOpcuaLogs } from './opcua-logs.js';

let fleet: SimFleet | undefined;
let logger = pino({ level: 'info' });

async function start(options: SimChildStart): Promise<unknown> {
  if (fleet !== undefined) throw new Error('this simulator process has started already');
  logger = pino({ level: options.logLevel });
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

async function handle(request: SimChildRequest): Promise<unknown> {
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

function reply(message: SimChildReply): void {
  process.send?.(message);
}

process.on('message', (request: SimChildRequest) => {
  handle(request).then(
    (result) => reply({ seq: request.seq, ok: true, result }),
    (err: unknown) =>
      reply({ seq: request.seq, ok: false, error: err instanceof Error ? err.message : String(err) }),
  );
});

// The parent went away (closed us, or died): close the servers and end.
process.on('disconnect', () => {
  const closing = fleet?.close() ?? Promise.resolve();
  closing.then(
    () => process.exit(0),
    (err: unknown) => {
      logger.error({ err }, 'simulated fleet did not close cleanly');
      process.exit(1);
    },
  );
});

// A Ctrl-C in a terminal (or a stop signal to the process group) reaches the children too: the
// parent closes them itself over the IPC channel, and a child whose parent is gone ends on
// 'disconnect', so a child outlives these signals until then (else the parent would report
// children dying during its own orderly stop).
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => undefined);

if (process.send === undefined) {
  process.stderr.write('wanji sim-child: run by `wanji sim` and `wanji demo`, not by hand\n');
  process.exit(2);
}
