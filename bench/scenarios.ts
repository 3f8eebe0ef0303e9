/** The gateway benchmark's scenarios and the gateway configs they run. */

export type Protocol = 'modbus' | 'opcua';

/** The NodeId of a benchmark variable (bench/opcua-server.ts builds them). */
export function benchNodeId(machine: string, tag: number): string {
  return `ns=1;s=${machine}.t${tag}`;
}

export interface Scenario {
  readonly name: string;
  readonly protocol: Protocol;
  readonly machines: number;
  /** Tags per machine; every tag is read once a second. */
  readonly tags: number;
  /** Machines sharing one connection (Modbus: unit ids 1…n behind one TCP connection). */
  readonly perConnection: number;
}

export const SCENARIOS: readonly Scenario[] = [
  { name: 'modbus-10k', protocol: 'modbus', machines: 100, tags: 100, perConnection: 10 },
  { name: 'modbus-100k', protocol: 'modbus', machines: 1000, tags: 100, perConnection: 10 },
  { name: 'opcua-10k', protocol: 'opcua', machines: 100, tags: 100, perConnection: 100 },
  { name: 'opcua-100k', protocol: 'opcua', machines: 1000, tags: 100, perConnection: 100 },
];

export function points(s: Scenario): number {
  return s.machines * s.tags;
}

export function machineIds(s: Scenario): string[] {
  return Array.from({ length: s.machines }, (_, i) => `M${String(i + 1).padStart(5, '0')}`);
}

export interface Endpoints {
  readonly brokerUrl: string;
  readonly modbusPort?: number;
  readonly opcuaUrl?: string;
}

/** A plain config object (validated by the gateway child). */
export function gatewayConfig(s: Scenario, e: Endpoints): Record<string, unknown> {
  const ids = machineIds(s);
  const connections: Record<string, unknown>[] = [];
  for (let c = 0; c * s.perConnection < s.machines; c++) {
    connections.push(
      s.protocol === 'modbus'
        ? { id: `plc-${c}`, type: 'modbus-tcp', host: '127.0.0.1', port: e.modbusPort, timeoutMs: 1000 }
        : { id: `opc-${c}`, type: 'opcua', endpoint: e.opcuaUrl, acceptUnknownServerCertificate: true },
    );
  }
  const machines = ids.map((id, i) => {
    const connection = Math.floor(i / s.perConnection);
    const tags = Array.from({ length: s.tags }, (_, t) =>
      s.protocol === 'modbus'
        ? { name: `t${t}`, table: 'holding', address: t, type: 'uint16' }
        : { name: `t${t}`, nodeId: benchNodeId(id, t), datatype: 'Double' },
    );
    return {
      id,
      connection: connections[connection]!.id,
      kind: 'cnc',
      dataDepth: 'full',
      ...(s.protocol === 'modbus' ? { unitId: (i % s.perConnection) + 1 } : {}),
      pollIntervalMs: 1000,
      state: { tag: 't0', map: { 0: 'stopped' }, default: 'running' },
      tags,
    };
  });
  return {
    gateway: { group: 'BENCH', node: `GW-${s.name}` },
    mqtt: { url: e.brokerUrl },
    connections,
    machines,
  };
}

/** An idle gateway: connected to the broker, the protocol's driver loaded, nothing to read. */
export function idleConfig(protocol: Protocol, e: Endpoints): Record<string, unknown> {
  return {
    gateway: { group: 'BENCH', node: `GW-idle-${protocol}` },
    mqtt: { url: e.brokerUrl },
    connections: [],
    machines: [],
  };
}
