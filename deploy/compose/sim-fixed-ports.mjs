#!/usr/bin/env node
/**
 * The fleet of `wanji sim` (the same plan, machines and servers for the same --machines, --seed
 * and --enterprises), on fixed ports, so that a gateway config written beforehand can name them:
 * `wanji sim` picks free ports. Per enterprise, in the plan's order: one OPC UA server on
 * --opcua-port + i, and its Modbus TCP servers on consecutive ports from --modbus-port (0: free
 * ports, as `wanji sim`).
 *
 *   node sim-fixed-ports.mjs --machines 12 --seed 1 --enterprises 1 --host sim
 *
 * Runs the compiled simulators of the Wanji installed in WANJI_HOME (default /opt/wanji, the
 * image's). Prints one JSON line per enterprise, as `wanji sim` does; stops on SIGINT/SIGTERM.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const home = process.env.WANJI_HOME ?? '/opt/wanji';
const load = (path) => import(pathToFileURL(join(home, 'dist', path)).href);
const { pino } = await import(pathToFileURL(join(home, 'node_modules', 'pino', 'pino.js')).href);
const logger = pino({ level: process.env.WANJI_LOG_LEVEL ?? 'info' }, pino.destination(2));
// node-opcua prints notices on stdout, which is for the JSON lines: to the log, as `wanji sim` does.
(await load('cli/opcua-logs.js')).routeOpcuaLogs(logger);
const [{ generateFleet }, { SimMachine }, { OpcuaSimServer }, { ModbusSimServer }] = await Promise.all([
  load('simulators/fleet.js'),
  load('simulators/machine.js'),
  load('simulators/opcua/server.js'),
  load('simulators/modbus/server.js'),
]);

const { values } = parseArgs({
  options: {
    machines: { type: 'string', default: '12' },
    seed: { type: 'string', default: '1' },
    enterprises: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    'opcua-port': { type: 'string', default: '4840' },
    'modbus-port': { type: 'string', default: '5020' },
    'tick-ms': { type: 'string', default: '1000' },
    'pki-dir': { type: 'string' },
  },
  strict: true,
});
const int = (name) => {
  const n = Number(values[name]);
  if (!Number.isSafeInteger(n) || n < 0) {
    process.stderr.write(`sim-fixed-ports: --${name} must be a whole number, got "${values[name]}"\n`);
    process.exit(2);
  }
  return n;
};

const plan = generateFleet({
  machines: int('machines'),
  seed: int('seed'),
  ...(values.enterprises === undefined ? {} : { enterprises: int('enterprises') }),
});
const machines = new Map(
  plan.machines.map((m) => [
    m.id,
    new SimMachine({ id: m.id, kind: m.kind, seed: m.seed, dataDepth: m.dataDepth }),
  ]),
);
const host = values.host;
const servers = [];
const lines = [];
let modbusPort = int('modbus-port');
for (const [i, enterprise] of plan.enterprises.entries()) {
  const own = plan.machines.filter((m) => m.enterpriseCode === enterprise.code);
  const endpoints = { modbus: [] };
  const opcua = own.filter((m) => m.protocol === 'opcua');
  if (opcua.length > 0) {
    const base = int('opcua-port');
    const port = base === 0 ? 0 : base + i;
    const server = new OpcuaSimServer({
      logger,
      host,
      port,
      name: `Wanji simulator ${enterprise.code}`,
      machines: opcua.map((m) => machines.get(m.id)),
      ...(values['pki-dir'] === undefined ? {} : { pkiDir: values['pki-dir'] }),
    });
    servers.push(server);
    endpoints.opcua = { server, machines: opcua.map((m) => m.id) };
  }
  const byServer = new Map();
  for (const m of own.filter((x) => x.protocol === 'modbus')) {
    const k = m.modbusServer ?? 0;
    byServer.set(k, [...(byServer.get(k) ?? []), m]);
  }
  for (const [, units] of [...byServer].sort((a, b) => a[0] - b[0])) {
    const server = new ModbusSimServer({
      logger,
      host,
      port: modbusPort,
      units: units.map((m) => ({ unitId: m.unitId ?? 0, machine: machines.get(m.id) })),
    });
    if (modbusPort !== 0) modbusPort++;
    servers.push(server);
    endpoints.modbus.push({ server, machines: units.map((m) => ({ id: m.id, unitId: m.unitId ?? 0 })) });
  }
  lines.push({
    enterprise,
    machines: own.map(({ id, kind, protocol }) => ({ id, kind, protocol })),
    endpoints,
  });
}

const tick = () => {
  for (const m of machines.values()) m.tick(Date.now());
};
tick();
const timer = setInterval(tick, Math.max(10, int('tick-ms')));
let stopping = false;
const stop = async () => {
  if (stopping) process.exit(130);
  stopping = true;
  clearInterval(timer);
  await Promise.allSettled(servers.map((s) => s.close()));
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
try {
  await Promise.all(servers.map((s) => s.start()));
} catch (err) {
  process.stderr.write(
    `sim-fixed-ports: could not start: ${err instanceof Error ? err.message : String(err)}\n`,
  );
  await Promise.allSettled(servers.map((s) => s.close()));
  process.exit(1);
}
// As `wanji sim` prints them, with the ports the servers listen on.
for (const { endpoints, ...line } of lines) {
  const { opcua, modbus } = endpoints;
  const where = {
    ...(opcua === undefined
      ? {}
      : { opcua: { endpointUrl: opcua.server.endpointUrl, machines: opcua.machines } }),
    modbus: modbus.map(({ server, machines }) => ({ host, port: server.port, machines })),
  };
  process.stdout.write(`${JSON.stringify({ ...line, endpoints: where })}\n`);
}
