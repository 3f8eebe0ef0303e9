/** Runs a southbound driver with a recording sink. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GatewayConfig } from '../../gateway/config/index.js';
import { createDriver } from '../../gateway/southbound/registry.js';
import type { Driver, MachineStatus, TagSample } from '../../gateway/southbound/types.js';
import { systemClock } from '../../protocol/clock.js';
import { testLogger } from './helpers.js';

export interface Recorded {
  readonly driver: Driver;
  readonly samples: TagSample[];
  readonly statuses: Array<{ machineId: string; status: MachineStatus; reason: string; at: number }>;
  latest(machineId: string, tag: string): TagSample | undefined;
  status(machineId: string): MachineStatus | undefined;
  close(): Promise<void>;
}

export async function runDriver(config: GatewayConfig, connectionId: string): Promise<Recorded> {
  const connection = config.connections.find((c) => c.id === connectionId)!;
  const samples: TagSample[] = [];
  const statuses: Recorded['statuses'] = [];
  const dataDir = await mkdtemp(join(tmpdir(), 'wanji-driver-'));
  const driver = await createDriver({
    connection,
    machines: config.machines.filter((m) => m.connection === connectionId),
    sink: {
      onSample: (s) => samples.push(s),
      onMachineStatus: (machineId, status, reason) =>
        statuses.push({ machineId, status, reason, at: Date.now() }),
    },
    logger: testLogger(),
    clock: systemClock,
    dataDir,
  });
  await driver.start();
  return {
    driver,
    samples,
    statuses,
    latest: (machineId, tag) => samples.findLast((s) => s.machineId === machineId && s.tag === tag),
    status: (machineId) => statuses.findLast((s) => s.machineId === machineId)?.status,
    async close() {
      await driver.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
