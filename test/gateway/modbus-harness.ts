/** Runs a Modbus driver with a recording sink (samples, statuses and health changes). */

import { type GatewayConfig, validateGatewayConfig } from '../../gateway/config/index.js';
import { ModbusDriver } from '../../gateway/southbound/modbus/driver.js';
import type { ModbusConnectionConfig } from '../../gateway/southbound/modbus/schema.js';
import type { LinkOpener } from '../../gateway/southbound/modbus/transport.js';
import type { MachineHealth, MachineStatus, TagSample } from '../../gateway/southbound/types.js';
import { type Clock, systemClock } from '../../protocol/clock.js';
import { testLogger } from './helpers.js';

export interface ModbusRun {
  readonly driver: ModbusDriver;
  readonly samples: TagSample[];
  readonly statuses: Array<{ machineId: string; status: MachineStatus; reason: string; at: number }>;
  readonly health: Array<{ machineId: string; health: MachineHealth; detail: string; at: number }>;
  latest(machineId: string, tag: string): TagSample | undefined;
  status(machineId: string): MachineStatus | undefined;
  healthOf(machineId: string): MachineHealth | undefined;
  /** Times (clock ms) at which a machine's polls delivered `tag`. */
  pollTimes(machineId: string, tag: string): number[];
  close(): Promise<void>;
}

export async function runModbus(
  config: GatewayConfig,
  connectionId: string,
  options: { clock?: Clock; open?: LinkOpener } = {},
): Promise<ModbusRun> {
  const clock = options.clock ?? systemClock;
  const connection = config.connections.find((c) => c.id === connectionId) as ModbusConnectionConfig;
  const samples: TagSample[] = [];
  const statuses: ModbusRun['statuses'] = [];
  const health: ModbusRun['health'] = [];
  const driver = new ModbusDriver(
    {
      connection,
      machines: config.machines.filter((m) => m.connection === connectionId),
      sink: {
        onSample: (s) => samples.push(s),
        onMachineStatus: (machineId, status, reason) =>
          statuses.push({ machineId, status, reason, at: clock.now() }),
        onMachineHealth: (machineId, h, detail) =>
          health.push({ machineId, health: h, detail, at: clock.now() }),
      },
      logger: testLogger(),
      clock,
      dataDir: '/nonexistent',
    },
    options.open ? { open: options.open } : {},
  );
  await driver.start();
  return {
    driver,
    samples,
    statuses,
    health,
    latest: (machineId, tag) => samples.findLast((s) => s.machineId === machineId && s.tag === tag),
    status: (machineId) => statuses.findLast((s) => s.machineId === machineId)?.status,
    healthOf: (machineId) => health.findLast((h) => h.machineId === machineId)?.health,
    pollTimes: (machineId, tag) =>
      samples.filter((s) => s.machineId === machineId && s.tag === tag).map((s) => s.sourceTime),
    close: () => driver.close(),
  };
}

export interface MachineSpec {
  readonly id: string;
  readonly unitId?: number;
  readonly pollIntervalMs?: number;
  readonly tags: readonly Record<string, unknown>[];
  readonly modbus?: Record<string, unknown>;
}

/** A validated gateway config with one Modbus connection `plc` and the given machines. */
export function modbusConfig(
  connection: Record<string, unknown>,
  machines: readonly MachineSpec[],
): GatewayConfig {
  const tagNames = (m: MachineSpec) => m.tags.map((t) => String(t.name));
  return validateGatewayConfig({
    gateway: { group: 'E001', node: 'GW-1' },
    mqtt: { url: 'mqtt://127.0.0.1:1' },
    connections: [{ id: 'plc', ...connection }],
    machines: machines.map((m) => ({
      id: m.id,
      connection: 'plc',
      kind: 'other',
      dataDepth: 'full',
      unitId: m.unitId ?? 1,
      pollIntervalMs: m.pollIntervalMs ?? 100,
      ...(m.modbus ? { modbus: m.modbus } : {}),
      state: { tag: tagNames(m)[0], map: { 1: 'running' }, default: 'idle' },
      tags: m.tags,
    })),
  });
}

/** Median of numbers (0 for none). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : s[Math.floor(s.length / 2)]!;
}

/** Gaps between consecutive times. */
export function gaps(times: readonly number[]): number[] {
  return times.slice(1).map((t, i) => t - times[i]!);
}
