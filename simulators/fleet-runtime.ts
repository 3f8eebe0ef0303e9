/**
 * Runs a FleetPlan: one SimMachine per planned machine, Modbus TCP servers per enterprise
 * (≤ 247 units each), OPC UA servers, and one tick timer for all machines.
 *
 * OPC UA: each enterprise gets its own server while there are at most `maxOpcuaServers`
 * enterprises with OPC UA machines; beyond that enterprises share servers round-robin (a
 * node-opcua server costs tens of MB, a city of 200 of them would not fit). A shared server is
 * like a cloud OPC UA aggregator: each enterprise's gateway still reads only its own machines.
 * Each server serves enough clients for its enterprises' gateways (issue 13: node-opcua's
 * default of 10 refused most of 25 gateways sharing a server).
 *
 * Faults on demand (faults.ts) apply on every tick. This is the in-process fleet; several of
 * them in child processes make the multi-process one (fleet-processes.ts).
 */
import type { Logger } from 'pino';
import { type ActiveFault, type FaultRequest, MachineFaults } from './faults.js';
import type { FleetMachine, FleetPlan } from './fleet.js';
import { SimMachine } from './machine.js';
import { ModbusSimServer } from './modbus/server.js';
import { DEFAULT_OPCUA_SIM_CLIENTS, OpcuaSimServer } from './opcua/server.js';

export interface SimFleetOptions {
  readonly logger: Logger;
  /** Interface for every server, and the host in the endpoints; default 127.0.0.1. */
  readonly host?: string;
  /** Tick period; default 1000. 0 starts no timer: call tick(now) yourself (fake time in tests). */
  readonly tickMs?: number;
  readonly pkiDir?: string;
  /** Default 8; see the file comment. */
  readonly maxOpcuaServers?: number;
  /** Clock for the timer's ticks; default Date.now. */
  readonly now?: () => number;
}

/**
 * A running simulated fleet as its users see it (the demo, `wanji sim`, the gateways' configs):
 * in this process (SimFleet) or in child processes (SimFleetProcesses).
 */
export interface FleetService {
  readonly plan: FleetPlan;
  start(): Promise<void>;
  close(): Promise<void>;
  /** Where an enterprise's gateway finds its machines (after start). */
  endpoints(enterpriseCode: string): FleetEndpoints;
  /** Starts a machine fault (not power-loss: that is the gateways'); rejects naming the problem. */
  addFault(request: FaultRequest): Promise<ActiveFault>;
  /** Ends one fault, or all when id is undefined; resolves how many ended. */
  clearFaults(id?: number): Promise<number>;
  faults(): Promise<ActiveFault[]>;
}

/** Connections, sessions and subscriptions an OPC UA server of the fleet serves per enterprise on it. */
const OPCUA_CLIENTS_PER_ENTERPRISE = 4;

export interface FleetEndpoints {
  readonly opcua?: { readonly endpointUrl: string; readonly machines: readonly string[] };
  readonly modbus: readonly {
    readonly host: string;
    readonly port: number;
    readonly machines: readonly { readonly id: string; readonly unitId: number }[];
  }[];
}

interface EnterpriseServers {
  opcua?: { server: OpcuaSimServer; machines: string[] };
  modbus: { server: ModbusSimServer; machines: { id: string; unitId: number }[] }[];
}

export class SimFleet implements FleetService {
  readonly plan: FleetPlan;
  private readonly logger: Logger;
  private readonly host: string;
  private readonly tickMs: number;
  private readonly now: () => number;
  private readonly byId: ReadonlyMap<string, SimMachine>;
  private readonly perEnterprise: ReadonlyMap<string, EnterpriseServers>;
  private readonly opcuaServers: readonly OpcuaSimServer[];
  private readonly modbusServers: readonly ModbusSimServer[];
  private readonly failing = new Set<string>();
  private readonly machineFaults: MachineFaults;
  private nextFaultId = 1;
  private timer: NodeJS.Timeout | undefined;
  private starting: Promise<void> | undefined;
  /** Set by close(): a start under way starts no further server (a stop need not wait for them all). */
  private closing = false;

  constructor(plan: FleetPlan, options: SimFleetOptions) {
    this.plan = plan;
    this.logger = options.logger.child({ component: 'sim-fleet' });
    this.host = options.host ?? '127.0.0.1';
    this.tickMs = options.tickMs ?? 1000;
    this.now = options.now ?? Date.now;
    const byId = new Map<string, SimMachine>();
    for (const m of plan.machines) {
      if (byId.has(m.id)) throw new Error(`fleet plan has machine id ${m.id} twice`);
      byId.set(m.id, new SimMachine({ id: m.id, kind: m.kind, seed: m.seed, dataDepth: m.dataDepth }));
    }
    this.byId = byId;
    this.machineFaults = new MachineFaults(
      plan.machines.map((m) => ({ machine: this.machine(m.id), enterpriseCode: m.enterpriseCode })),
    );

    const grouped = groupBy(plan.machines, (m) => m.enterpriseCode);
    const perEnterprise = new Map<string, EnterpriseServers>();
    const modbusServers: ModbusSimServer[] = [];
    const serverOptions = { logger: options.logger, host: this.host };
    for (const e of plan.enterprises) perEnterprise.set(e.code, { modbus: [] });
    for (const [code, machines] of grouped) {
      const entry = perEnterprise.get(code);
      if (entry === undefined)
        throw new Error(`machine ${machines[0]?.id} belongs to unknown enterprise ${code}`);
      const modbus = groupBy(
        machines.filter((m) => m.protocol === 'modbus'),
        (m) => m.modbusServer ?? 0,
      );
      for (const [, units] of [...modbus].sort((a, b) => a[0] - b[0])) {
        const server = new ModbusSimServer({
          ...serverOptions,
          units: units.map((m) => ({ unitId: m.unitId ?? 0, machine: this.machine(m.id) })),
        });
        modbusServers.push(server);
        entry.modbus.push({ server, machines: units.map((m) => ({ id: m.id, unitId: m.unitId ?? 0 })) });
      }
    }

    // OPC UA: enterprises with OPC UA machines, dealt round-robin over at most maxOpcuaServers.
    const opcuaEnterprises = [...grouped].filter(([, ms]) => ms.some((m) => m.protocol === 'opcua'));
    const serverCount = Math.min(opcuaEnterprises.length, Math.max(1, options.maxOpcuaServers ?? 8));
    const buckets = Array.from({ length: serverCount }, () => [] as [string, FleetMachine[]][]);
    for (const [i, e] of opcuaEnterprises.entries()) buckets[i % serverCount]?.push(e);
    this.opcuaServers = buckets.map((bucket) => {
      const server = new OpcuaSimServer({
        ...serverOptions,
        pkiDir: options.pkiDir,
        name: `Wanji simulator ${bucket.map(([code]) => code).join(' ')}`.slice(0, 120),
        maxClients: Math.max(DEFAULT_OPCUA_SIM_CLIENTS, bucket.length * OPCUA_CLIENTS_PER_ENTERPRISE),
        machines: bucket.flatMap(([, ms]) =>
          ms.filter((m) => m.protocol === 'opcua').map((m) => this.machine(m.id)),
        ),
      });
      for (const [code, ms] of bucket) {
        const entry = perEnterprise.get(code);
        if (entry !== undefined) {
          entry.opcua = { server, machines: ms.filter((m) => m.protocol === 'opcua').map((m) => m.id) };
        }
      }
      return server;
    });
    this.modbusServers = modbusServers;
    this.perEnterprise = perEnterprise;
  }

  start(): Promise<void> {
    this.closing = false;
    this.starting ??= this.run();
    return this.starting;
  }

  private async run(): Promise<void> {
    const began = Date.now();
    this.tick(this.now());
    try {
      await Promise.all(this.modbusServers.map((s) => s.start()));
      // The first OPC UA server creates the PKI (key, certificate) if missing; the rest reuse it.
      const [first, ...rest] = this.opcuaServers;
      if (!this.closing) await first?.start();
      // Hundreds of machines take a node-opcua server seconds to start: a close() meanwhile
      // starts no more of them (issue 10: a Ctrl-C during start-up waited for the whole fleet).
      if (!this.closing) await Promise.all(rest.map((s) => s.start()));
      if (this.closing) return;
    } catch (err) {
      await this.closeServers();
      this.starting = undefined;
      throw err;
    }
    if (this.tickMs > 0) {
      this.timer = setInterval(() => this.tick(this.now()), this.tickMs);
      this.timer.unref();
    }
    this.logger.info(
      {
        machines: this.byId.size,
        enterprises: this.plan.enterprises.length,
        opcuaServers: this.opcuaServers.length,
        modbusServers: this.modbusServers.length,
        ms: Date.now() - began,
      },
      'simulated fleet up',
    );
  }

  /** Advances every machine to nowMs; a machine that throws is logged once and skipped. */
  tick(nowMs: number): void {
    for (const m of this.byId.values()) {
      try {
        m.tick(nowMs);
        if (this.failing.delete(m.id)) this.logger.info({ machine: m.id }, 'simulated machine recovered');
      } catch (err) {
        if (!this.failing.has(m.id)) this.logger.error({ err, machine: m.id }, 'simulated machine failed');
        this.failing.add(m.id);
      }
    }
    this.machineFaults.apply(nowMs);
  }

  /**
   * Starts a fault under `id` (a multi-process fleet gives one id in all its children) or the
   * next free one. Throws for power-loss and a bad request.
   */
  addFaultNow(request: FaultRequest, id?: number): ActiveFault {
    const faultId = id ?? this.nextFaultId;
    this.nextFaultId = Math.max(this.nextFaultId, faultId + 1);
    return this.machineFaults.add(faultId, request, this.now());
  }

  addFault(request: FaultRequest): Promise<ActiveFault> {
    try {
      const fault = this.addFaultNow(request);
      if (fault.matched === 0) {
        this.machineFaults.clear(fault.id, this.now());
        throw new Error(`no machine of the fleet matches target "${request.target}"`);
      }
      this.logger.info({ fault }, 'simulated fault on');
      return Promise.resolve(fault);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  clearFaultsNow(id?: number): number {
    return this.machineFaults.clear(id, this.now());
  }

  clearFaults(id?: number): Promise<number> {
    const n = this.clearFaultsNow(id);
    if (n > 0) this.logger.info({ id: id ?? 'all', cleared: n }, 'simulated fault off');
    return Promise.resolve(n);
  }

  faults(): Promise<ActiveFault[]> {
    return Promise.resolve(this.machineFaults.list());
  }

  /** Where an enterprise's gateway finds its machines (after start). */
  endpoints(enterpriseCode: string): FleetEndpoints {
    const entry = this.perEnterprise.get(enterpriseCode);
    if (entry === undefined) throw new Error(`no enterprise ${enterpriseCode} in the fleet`);
    const modbus = entry.modbus.map(({ server, machines }) => ({
      host: this.host,
      port: server.port,
      machines,
    }));
    if (entry.opcua === undefined) return { modbus };
    return { opcua: { endpointUrl: entry.opcua.server.endpointUrl, machines: entry.opcua.machines }, modbus };
  }

  machine(id: string): SimMachine {
    const m = this.byId.get(id);
    if (m === undefined) throw new Error(`no machine ${id} in the fleet`);
    return m;
  }

  machines(): SimMachine[] {
    return [...this.byId.values()];
  }

  disconnectMachine(id: string): void {
    this.machine(id).disconnect();
  }

  reconnectMachine(id: string): void {
    this.machine(id).reconnect();
  }

  async close(): Promise<void> {
    this.closing = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    const starting = this.starting;
    this.starting = undefined;
    await starting?.catch(() => undefined);
    await this.closeServers();
  }

  private async closeServers(): Promise<void> {
    // Reverse of start: OPC UA, then Modbus. A failing close is logged, not allowed to stop the rest.
    const all = [...this.opcuaServers, ...this.modbusServers];
    const results = await Promise.allSettled(all.map((s) => s.close()));
    for (const r of results) if (r.status === 'rejected') this.logger.warn({ err: r.reason }, 'close failed');
  }
}

function groupBy<T, K>(items: readonly T[], key: (item: T) => K): Map<K, T[]> {
  const out = new Map<K, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = out.get(k);
    if (list === undefined) out.set(k, [item]);
    else list.push(item);
  }
  return out;
}
