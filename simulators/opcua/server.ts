/**
 * An OPC UA server (node-opcua) hosting several simulated machines, like an aggregating server
 * (a SCADA or a vendor's OPC UA gateway) in front of a workshop:
 *
 *   Objects/Machines/<machineId>/<signal>     NodeId ns=<ns>;s=<machineId>.<signal>
 *
 * in namespace `urn:wanji:simulator` (index 1: the server's own namespace).
 * Values are read from the machine on every read or sample (variables are bound to getters). A
 * subscription asking for a sampling interval is sampled at that interval; one asking for 0 is
 * served exception-based, as a device that reports on change: the variables' MinimumSamplingInterval
 * is 0, and whenever a machine changes (its tick, a fault, a pinned value) the server pushes
 * the values that changed to the monitored items listening, with no sampling timer per item.
 * While a machine is disconnected its variables read with StatusCode BadNotConnected, as an
 * aggregating server reports a downstream device it cannot reach.
 */
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DataType,
  DataValue,
  OPCUACertificateManager,
  OPCUAServer,
  type StatusCode,
  StatusCodes,
  type UAVariable,
  Variant,
} from 'node-opcua';
import type { Logger } from 'pino';
import type { SimMachine } from '../machine.js';
import type { SignalSpec, SignalType } from '../profiles/types.js';
import { euRangeOf } from './eu-range.js';
import { type OpcuaSimSecurity, serverSecurityOptions } from './security.js';

export type { OpcuaSimSecurity } from './security.js';

export const SIM_NAMESPACE_URI = 'urn:wanji:simulator';
/**
 * The namespace index of SIM_NAMESPACE_URI on every simulator server: it is also the servers'
 * application URI, and node-opcua makes the application's own namespace index 1. One application
 * URI for every simulator server also lets them share one certificate.
 */
export const SIM_NAMESPACE_INDEX = 1;

/** The NodeId of a machine's signal, e.g. "ns=1;s=E001-CNC-003.spindleSpeed". */
export function opcuaNodeId(machineId: string, signal: string, namespaceIndex = SIM_NAMESPACE_INDEX): string {
  return `ns=${namespaceIndex};s=${machineId}.${signal}`;
}

/** The same NodeId with the namespace URI instead of its index ("nsu=urn:wanji:simulator;s=…"). */
export function opcuaExpandedNodeId(machineId: string, signal: string): string {
  return `nsu=${SIM_NAMESPACE_URI};s=${machineId}.${signal}`;
}

/** Where the simulator keeps its certificate and key, so start-up does not make a new RSA key. */
export function defaultPkiDir(): string {
  return join(tmpdir(), 'wanji-sim-pki');
}

const OPCUA_TYPE: Readonly<Record<SignalType, DataType>> = {
  Boolean: DataType.Boolean,
  Int16: DataType.Int16,
  Int32: DataType.Int32,
  UInt16: DataType.UInt16,
  UInt32: DataType.UInt32,
  Float: DataType.Float,
  Double: DataType.Double,
  String: DataType.String,
};

export interface OpcuaSimServerOptions {
  readonly logger: Logger;
  readonly machines: readonly SimMachine[];
  /** Interface to listen on and the host name in the endpoint URL; default 127.0.0.1. */
  readonly host?: string;
  /** Default 0: any free port (read `endpointUrl` after start). */
  readonly port?: number;
  /** PKI folder (certificate, key, trust lists); default defaultPkiDir(). */
  readonly pkiDir?: string;
  /** Shown as the application name; default "Wanji simulator". */
  readonly name?: string;
  /** Security modes, policies and identities offered; default every mode and policy, anonymous. */
  readonly security?: OpcuaSimSecurity;
  /**
   * Clients served at once: connections, sessions and subscriptions (each gateway holds one of
   * each, two while it reconnects). Default DEFAULT_OPCUA_SIM_CLIENTS; node-opcua's own default
   * of 10 refused the demo's gateways once 25 enterprises shared a server (issue 13).
   */
  readonly maxClients?: number;
}

/** Clients an OPC UA simulator serves at once unless told otherwise. */
export const DEFAULT_OPCUA_SIM_CLIENTS = 100;

/** What the server side counts: sessions (now and ever), subscriptions and monitored items. */
export interface OpcuaSimStats {
  readonly currentSessions: number;
  readonly cumulatedSessions: number;
  readonly currentSubscriptions: number;
  readonly monitoredItems: number;
}

export class OpcuaSimServer {
  readonly machines: readonly SimMachine[];
  private readonly logger: Logger;
  private readonly host: string;
  private readonly requestedPort: number;
  private readonly pkiDir: string;
  private readonly name: string;
  private readonly security: OpcuaSimSecurity;
  private readonly maxClients: number;
  /** Statuses served instead of the value, per NodeId string (tests: uncertain, bad quality). */
  private readonly statusOverrides = new Map<string, StatusCode>();
  /** Per machine, its variables and the value last pushed to exception-based monitored items. */
  private readonly pushed = new Map<string, PushedSignal[]>();
  /** Removes the machines' change listeners (while started). */
  private unlisten: (() => void)[] = [];
  private server: OPCUAServer | undefined;
  private url: string | undefined;
  private starting: Promise<void> | undefined;
  /** The port of the last start, reused by restart(). */
  private boundPort: number | undefined;

  constructor(options: OpcuaSimServerOptions) {
    this.machines = options.machines;
    this.host = options.host ?? '127.0.0.1';
    this.requestedPort = options.port ?? 0;
    this.pkiDir = options.pkiDir ?? defaultPkiDir();
    this.name = options.name ?? 'Wanji simulator';
    this.security = options.security ?? {};
    this.maxClients = options.maxClients ?? DEFAULT_OPCUA_SIM_CLIENTS;
    if (!Number.isInteger(this.maxClients) || this.maxClients < 1) {
      throw new RangeError(`maxClients must be a positive integer; got ${this.maxClients}`);
    }
    this.logger = options.logger.child({ component: 'sim-opcua' });
    const ids = new Set<string>();
    for (const m of options.machines) {
      if (ids.has(m.id)) throw new Error(`machine id ${m.id} appears twice on one OPC UA server`);
      ids.add(m.id);
    }
  }

  /** opc.tcp://host:port — with the real port once started; throws before. */
  get endpointUrl(): string {
    if (this.url === undefined) throw new Error('OPC UA simulator is not started');
    return this.url;
  }

  get port(): number {
    return Number(new URL(this.endpointUrl).port);
  }

  start(): Promise<void> {
    this.starting ??= this.run();
    return this.starting;
  }

  /** Stops and starts again on the same port, as a restarted device does; clients see it vanish. */
  async restart(): Promise<void> {
    await this.close();
    await this.start();
  }

  /**
   * Serves `status` instead of the signal's value (Uncertain statuses keep the value, Bad ones
   * drop it); undefined serves the value again.
   */
  setStatus(machineId: string, signal: string, status: StatusCode | undefined): void {
    const key = opcuaNodeId(machineId, signal);
    if (status === undefined) this.statusOverrides.delete(key);
    else this.statusOverrides.set(key, status);
    const machine = this.machines.find((m) => m.id === machineId);
    if (machine !== undefined) this.push(machine);
  }

  /**
   * Pushes a machine's changed values to the monitored items listening exception-based (they
   * listen for 'value_changed'); a variable nobody monitors that way costs a listener count.
   */
  private push(machine: SimMachine): void {
    for (const p of this.pushed.get(machine.id) ?? []) {
      if (p.variable.listenerCount('value_changed') === 0) {
        p.last = undefined;
        continue;
      }
      const dv = readSignal(machine, p.spec, this.statusOverrides.get(p.key));
      if (p.last !== undefined && sameValue(p.last, dv)) continue;
      p.last = dv;
      p.variable.emit('value_changed', dv);
    }
  }

  /** Session and subscription counts of the running server (zeros when stopped). */
  stats(): OpcuaSimStats {
    const engine = this.server?.engine;
    if (engine === undefined)
      return { currentSessions: 0, cumulatedSessions: 0, currentSubscriptions: 0, monitoredItems: 0 };
    const subscriptions = engine.getSessions().flatMap((s) => s.publishEngine.subscriptions);
    return {
      currentSessions: engine.currentSessionCount,
      cumulatedSessions: engine.cumulatedSessionCount,
      currentSubscriptions: engine.currentSubscriptionCount,
      monitoredItems: subscriptions.reduce((n, s) => n + s.monitoredItemCount, 0),
    };
  }

  private async run(): Promise<void> {
    const began = Date.now();
    mkdirSync(this.pkiDir, { recursive: true });
    const certificateManager = new OPCUACertificateManager({
      rootFolder: this.pkiDir,
      automaticallyAcceptUnknownCertificate: this.security.acceptUnknownClients ?? true,
      disableFileWatchers: true,
    });
    const server = new OPCUAServer({
      port: this.boundPort ?? this.requestedPort,
      host: this.host,
      hostname: this.host,
      serverCertificateManager: certificateManager,
      ...serverSecurityOptions(this.security, this.pkiDir),
      // A locked-down server (no None endpoint) still answers GetEndpoints on a restricted
      // None channel, as OPC UA requires: clients learn its certificate there.
      disableDiscovery: false,
      serverInfo: {
        applicationUri: SIM_NAMESPACE_URI,
        productUri: SIM_NAMESPACE_URI,
        applicationName: { text: this.name, locale: 'en' },
      },
      buildInfo: { productName: 'wanji-simulator', manufacturerName: 'Wanji' },
      maxConnectionsPerEndpoint: this.maxClients,
      serverCapabilities: {
        maxSessions: this.maxClients,
        maxSubscriptions: this.maxClients * 4,
        maxSubscriptionsPerSession: 10,
      },
    });
    this.server = server;
    await server.initialize();
    this.populate(server);
    await server.start();
    this.url = this.resolveEndpointUrl(server);
    this.boundPort = this.port;
    this.logger.info(
      { endpointUrl: this.url, machines: this.machines.length, ms: Date.now() - began },
      'OPC UA simulator up',
    );
  }

  private resolveEndpointUrl(server: OPCUAServer): string {
    const endpoint = server.endpoints[0];
    const port = endpoint?.port;
    if (port === undefined || port === 0) throw new Error('OPC UA simulator did not report its port');
    return `opc.tcp://${this.host.includes(':') ? `[${this.host}]` : this.host}:${port}`;
  }

  private populate(server: OPCUAServer): void {
    const addressSpace = server.engine.addressSpace;
    if (addressSpace === null) throw new Error('OPC UA address space missing after initialize');
    const ns = addressSpace.getOwnNamespace();
    if (ns.index !== SIM_NAMESPACE_INDEX || ns.namespaceUri !== SIM_NAMESPACE_URI) {
      throw new Error(
        `namespace ${SIM_NAMESPACE_URI} got index ${ns.index}, expected ${SIM_NAMESPACE_INDEX}`,
      );
    }
    const folder = ns.addFolder(addressSpace.rootFolder.objects, {
      browseName: 'Machines',
      nodeId: 's=Machines',
    });
    for (const machine of this.machines) {
      const object = ns.addObject({
        organizedBy: folder,
        browseName: machine.id,
        nodeId: `s=${machine.id}`,
        description: `${machine.kind} (${machine.dataDepth})`,
      });
      const signals: PushedSignal[] = [];
      for (const spec of machine.signals) {
        const nodeId = `s=${machine.id}.${spec.name}`;
        const key = opcuaNodeId(machine.id, spec.name);
        const common = {
          componentOf: object,
          browseName: spec.name,
          nodeId,
          description: spec.unit === '' ? spec.description : `${spec.description} [${spec.unit}]`,
          // Not 0 here: node-opcua warns, per variable, that a getter with 0 cannot report
          // changes by itself. It is set to 0 below: this server pushes the changes (push()).
          minimumSamplingInterval: 1,
          accessLevel: 'CurrentRead',
          userAccessLevel: 'CurrentRead',
          value: { timestamped_get: () => readSignal(machine, spec, this.statusOverrides.get(key)) },
        } as const;
        const range = euRangeOf(spec);
        // Analog signals are AnalogItems with an EURange, so clients can use percent deadbands.
        const variable =
          range !== undefined
            ? ns.addAnalogDataItem({ ...common, dataType: spec.type, engineeringUnitsRange: range })
            : ns.addVariable({ ...common, dataType: OPCUA_TYPE[spec.type] });
        variable.minimumSamplingInterval = 0;
        signals.push({ spec, key, variable, last: undefined });
      }
      this.pushed.set(machine.id, signals);
      this.unlisten.push(machine.onChange(() => this.push(machine)));
    }
  }

  async close(): Promise<void> {
    const server = this.server;
    const starting = this.starting;
    this.server = undefined;
    this.starting = undefined;
    this.url = undefined;
    if (server === undefined) return;
    await starting?.catch(() => undefined);
    for (const stop of this.unlisten) stop();
    this.unlisten = [];
    this.pushed.clear();
    await server.shutdown(0);
    this.url = undefined; // a start that was under way when close was called has set it again
  }
}

/** A variable of a machine's signal and what was last pushed to its exception-based items. */
interface PushedSignal {
  readonly spec: SignalSpec;
  readonly key: string;
  readonly variable: UAVariable;
  last: DataValue | undefined;
}

/** Same value and status (timestamps aside): nothing to push. */
function sameValue(a: DataValue, b: DataValue): boolean {
  return (
    a.statusCode.equals(b.statusCode) &&
    a.value.dataType === b.value.dataType &&
    a.value.value === b.value.value
  );
}

/**
 * A signal's value as the server serves it: BadNotConnected while the machine is disconnected,
 * an overriding status when a test set one.
 */
function readSignal(machine: SimMachine, spec: SignalSpec, override: StatusCode | undefined): DataValue {
  const serverTimestamp = new Date();
  if (!machine.connected) return new DataValue({ statusCode: StatusCodes.BadNotConnected, serverTimestamp });
  if (override?.isBad()) return new DataValue({ statusCode: override, serverTimestamp });
  const value = machine.value(spec.name);
  const sourceTimestamp = new Date(machine.lastTickMs ?? serverTimestamp.getTime());
  return new DataValue({
    value: new Variant({ dataType: OPCUA_TYPE[spec.type], value }),
    statusCode: override ?? StatusCodes.Good,
    sourceTimestamp,
    serverTimestamp,
  });
}
