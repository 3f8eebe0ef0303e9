/**
 * Builds one gateway config per enterprise for a running simulated fleet: what a factory would
 * write by hand, generated from the simulators' OPC UA node ids and Modbus register map.
 * Used by `wanji demo` and the end-to-end tests.
 */
import { type GatewayConfig, validateGatewayConfig } from '../gateway/config/index.js';
import type { FleetMachine } from '../simulators/fleet.js';
import type { FleetService } from '../simulators/fleet-runtime.js';
import { machineSignals } from '../simulators/machine.js';
import { REGISTER_MAPS } from '../simulators/modbus/register-map.js';
import { opcuaNodeId } from '../simulators/opcua/server.js';
import { STATE_CODE, STATE_SIGNAL } from '../simulators/state-code.js';

export interface FleetGatewayOptions {
  readonly mqttUrl: string;
  /** The hub's Sparkplug host id; gateways wait for its STATE before their births. */
  readonly primaryHost?: string;
  readonly heartbeatMs?: number;
  readonly pollIntervalMs?: number;
  readonly modbusTimeoutMs?: number;
  /** Per-gateway data directories are made under this one. */
  readonly dataDir?: string;
  /**
   * One OPC UA client certificate for every gateway, kept here (application URI
   * DEMO_GATEWAY_APPLICATION_URI): 200 gateways would otherwise each make an RSA key at start.
   */
  readonly opcuaPkiDir?: string;
  /**
   * The journal's fsync period (gateway default 1000 ms). The journal syncs on the event loop:
   * 200 gateways in one process syncing every second stalled the demo's broker (issue 13).
   */
  readonly journalFsyncIntervalMs?: number;
}

/**
 * How often the fleet's OPC UA subscriptions send what changed: the most a change waits in the
 * simulator before it leaves for the gateway (its tags are exception-based).
 */
export const OPCUA_PUBLISHING_INTERVAL_MS = 250;

/** The OPC UA application URI of the demo's gateways when they share one certificate. */
export const DEMO_GATEWAY_APPLICATION_URI = 'urn:wanji:gateway:demo';

/** The Sparkplug edge node id of an enterprise's demo gateway. */
export function gatewayNodeId(enterpriseCode: string): string {
  return `GW-${enterpriseCode}`;
}

const STATE_MAP: Record<string, string> = Object.fromEntries(
  Object.entries(STATE_CODE).map(([state, code]) => [String(code), state]),
);

/** What the configs need of a running fleet: its plan and where its machines answer. */
export type FleetView = Pick<FleetService, 'plan' | 'endpoints'>;

function machineEntry(m: FleetMachine, connection: string, pollIntervalMs: number) {
  const signals = machineSignals(m.kind, m.dataDepth);
  const exposed = new Set(signals.map((s) => s.name));
  const tags =
    m.protocol === 'opcua'
      ? // Sampling interval 0: the simulator reports each change as it happens (exception-based),
        // with no sampling timer per item; the subscription's publishing interval bounds the wait.
        signals.map((s) => ({
          name: s.name,
          nodeId: opcuaNodeId(m.id, s.name),
          datatype: s.type,
          samplingIntervalMs: 0,
        }))
      : REGISTER_MAPS[m.kind]
          .filter((e) => exposed.has(e.signal))
          .map((e) => ({
            name: e.signal,
            table: e.table,
            address: e.address,
            type: e.type,
            ...(e.order !== undefined ? { order: e.order } : {}),
            ...(e.scale !== undefined ? { scale: e.scale } : {}),
          }));
  return {
    id: m.id,
    connection,
    kind: m.kind,
    nc: m.nc,
    robot: m.robot,
    dataDepth: m.dataDepth,
    ...(m.unitId !== undefined ? { unitId: m.unitId } : {}),
    pollIntervalMs,
    state: { tag: STATE_SIGNAL, map: STATE_MAP },
    tags,
  };
}

/** One validated gateway config per enterprise of the fleet's plan. */
export function gatewayConfigsForFleet(fleet: FleetView, options: FleetGatewayOptions): GatewayConfig[] {
  const pollIntervalMs = options.pollIntervalMs ?? 1000;
  return fleet.plan.enterprises.map((e) => {
    const endpoints = fleet.endpoints(e.code);
    const connections: Record<string, unknown>[] = [];
    const machines: unknown[] = [];
    const planned = new Map(
      fleet.plan.machines.filter((m) => m.enterpriseCode === e.code).map((m) => [m.id, m]),
    );
    if (endpoints.opcua !== undefined) {
      connections.push({
        id: 'opcua-1',
        type: 'opcua',
        endpoint: endpoints.opcua.endpointUrl,
        publishingIntervalMs: OPCUA_PUBLISHING_INTERVAL_MS,
        ...(options.opcuaPkiDir !== undefined
          ? { pkiDir: options.opcuaPkiDir, applicationUri: DEMO_GATEWAY_APPLICATION_URI }
          : {}),
      });
      for (const id of endpoints.opcua.machines) {
        machines.push(machineEntry(planned.get(id)!, 'opcua-1', pollIntervalMs));
      }
    }
    endpoints.modbus.forEach((server, i) => {
      const id = `modbus-${i + 1}`;
      connections.push({
        id,
        type: 'modbus-tcp',
        host: server.host,
        port: server.port,
        ...(options.modbusTimeoutMs !== undefined ? { timeoutMs: options.modbusTimeoutMs } : {}),
      });
      for (const unit of server.machines) {
        machines.push(machineEntry(planned.get(unit.id)!, id, pollIntervalMs));
      }
    });
    const config = {
      gateway: { group: e.code, node: gatewayNodeId(e.code) },
      mqtt: {
        url: options.mqttUrl,
        ...(options.primaryHost !== undefined ? { primaryHost: options.primaryHost } : {}),
      },
      ...(options.heartbeatMs !== undefined ? { heartbeatMs: options.heartbeatMs } : {}),
      ...(options.dataDir !== undefined ? { dataDir: `${options.dataDir}/${gatewayNodeId(e.code)}` } : {}),
      ...(options.journalFsyncIntervalMs !== undefined
        ? { journal: { fsyncIntervalMs: options.journalFsyncIntervalMs } }
        : {}),
      connections,
      machines,
    };
    return validateGatewayConfig(config, `<generated config of ${gatewayNodeId(e.code)}>`);
  });
}
