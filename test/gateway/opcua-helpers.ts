/** Shared pieces of the OPC UA driver tests: configs, a recording run, quiet node-opcua. */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setErrorLogger, setWarningLogger } from 'node-opcua-debug';
import type { Logger } from 'pino';
import { pino } from 'pino';
import { type GatewayConfig, validateGatewayConfig } from '../../gateway/config/index.js';
import { type MetricUpdate, Sampler, type SamplerOutput } from '../../gateway/sampler.js';
import { createOpcuaDriver } from '../../gateway/southbound/opcua/driver.js';
import type { OpcuaConnectionConfig } from '../../gateway/southbound/opcua/schema.js';
import type { Driver, MachineHealth, MachineStatus, TagSample } from '../../gateway/southbound/types.js';
import { systemClock } from '../../protocol/clock.js';
import type { SimMachine } from '../../simulators/machine.js';
import { opcuaNodeId } from '../../simulators/opcua/server.js';

/** node-opcua prints warnings on stdout; send them to the test log instead. */
export function quietOpcua(): void {
  const log = testLog().child({ component: 'node-opcua' });
  setWarningLogger((...args: unknown[]) => log.debug(args.map(String).join(' ')));
  setErrorLogger((...args: unknown[]) => log.debug(args.map(String).join(' ')));
}

/** Silent unless WANJI_TEST_LOG is set (e.g. debug). Records what it logs for assertions. */
export function testLog(lines?: Array<Record<string, unknown>>): Logger {
  const level = process.env.WANJI_TEST_LOG ?? (lines === undefined ? 'silent' : 'info');
  if (lines === undefined) return pino({ level });
  return pino(
    { level },
    { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
  );
}

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export const STATE_MAP = { 1: 'stopped', 2: 'idle', 3: 'running', 4: 'alarm' } as const;

/** A tag per signal of each machine, by NodeId. */
export function simTags(m: SimMachine): Array<Record<string, unknown>> {
  return m.signals.map((s) => ({ name: s.name, nodeId: opcuaNodeId(m.id, s.name), datatype: s.type }));
}

export function opcuaConfig(
  connection: Partial<OpcuaConnectionConfig> & { endpoint: string },
  machines: ReadonlyArray<{
    id: string;
    kind?: string;
    tags: Array<Record<string, unknown>>;
    pollIntervalMs?: number;
  }>,
): GatewayConfig {
  return validateGatewayConfig({
    gateway: { group: 'E001', node: 'GW-1' },
    mqtt: { url: 'mqtt://127.0.0.1:1' },
    connections: [
      { id: 'opc', type: 'opcua', backoffMinMs: 200, backoffMaxMs: 1000, timeoutMs: 2000, ...connection },
    ],
    machines: machines.map((m) => ({
      id: m.id,
      connection: 'opc',
      kind: m.kind ?? 'cnc',
      dataDepth: 'full',
      pollIntervalMs: m.pollIntervalMs ?? 100,
      state: { tag: 'state', map: STATE_MAP },
      tags: m.tags,
    })),
  });
}

export type SamplerEvent =
  | { kind: 'birth' | 'data'; machine: string; metrics: readonly MetricUpdate[]; at: number }
  | { kind: 'death'; machine: string; reason: string; at: number };

export interface OpcuaRun {
  readonly driver: Driver;
  readonly samples: TagSample[];
  readonly statuses: Array<{ machineId: string; status: MachineStatus; reason: string; at: number }>;
  readonly healths: Array<{ machineId: string; health: MachineHealth; detail: string }>;
  /** What the sampler published, when the run has one. */
  readonly published: SamplerEvent[];
  readonly dataDir: string;
  latest(machineId: string, tag: string): TagSample | undefined;
  status(machineId: string): MachineStatus | undefined;
  counter(name: string): number;
  close(): Promise<void>;
}

export interface RunOptions {
  /** Put a Sampler between the driver and the recording (the path to Sparkplug). */
  readonly sampler?: boolean;
  readonly logger?: Logger;
  /** Reuse a data directory (its pki/); a fresh temp one otherwise, removed on close. */
  readonly dataDir?: string;
}

export async function runOpcua(config: GatewayConfig, options: RunOptions = {}): Promise<OpcuaRun> {
  const connection = config.connections[0] as OpcuaConnectionConfig;
  const samples: TagSample[] = [];
  const statuses: OpcuaRun['statuses'] = [];
  const published: SamplerEvent[] = [];
  const healths: OpcuaRun['healths'] = [];
  const ownDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'wanji-opcua-')));
  const logger = options.logger ?? testLog();
  const output: SamplerOutput = {
    machineBirth: (machine, metrics) => published.push({ kind: 'birth', machine, metrics, at: Date.now() }),
    machineData: (machine, metrics) => published.push({ kind: 'data', machine, metrics, at: Date.now() }),
    machineDeath: (machine, reason) => published.push({ kind: 'death', machine, reason, at: Date.now() }),
  };
  const sampler = options.sampler
    ? new Sampler({
        machines: config.machines,
        heartbeatMs: config.heartbeatMs,
        output,
        clock: systemClock,
        logger,
      })
    : undefined;
  const driver = createOpcuaDriver({
    connection,
    machines: config.machines,
    sink: {
      onSample: (s) => {
        samples.push(s);
        sampler?.onSample(s);
      },
      onMachineStatus: (machineId, status, reason) => {
        statuses.push({ machineId, status, reason, at: Date.now() });
        sampler?.onMachineStatus(machineId, status, reason);
      },
      onMachineHealth: (machineId, health, detail) => healths.push({ machineId, health, detail }),
    },
    logger,
    clock: systemClock,
    dataDir,
    gateway: config.gateway,
  });
  await driver.start();
  return {
    driver,
    samples,
    statuses,
    healths,
    published,
    dataDir,
    latest: (machineId, tag) => samples.findLast((s) => s.machineId === machineId && s.tag === tag),
    status: (machineId) => statuses.findLast((s) => s.machineId === machineId)?.status,
    counter: (name) => driver.counters()[name] ?? Number.NaN,
    async close() {
      await driver.close();
      sampler?.close();
      if (ownDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
