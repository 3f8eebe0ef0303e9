/**
 * The demo's gateways (one per enterprise) and the faults of a running demo: the simulators'
 * machine faults, and `power-loss`, which only the demo can do since it runs the gateways.
 *
 * The gateways run in this process, or dealt to child processes (cli/gateway-child.ts) by
 * machine count: at 10,000 machines the gateways' start-up (OPC UA sessions, births, journal
 * replays) and reading would hold the core the hub needs (issue 13, docs/bench.md).
 *
 * A gateway losing power: the hub's broker drops its connection as a dead network would (so the
 * broker publishes its NDEATH will, not the gateway), then the gateway's drivers stop; when the
 * power returns (after the fault's seconds, or when it is cleared) a new gateway starts from the
 * same config and data directory, as a rebooted box does: next bdSeq, NBIRTH, journal replay.
 */
import type { Logger } from 'pino';
import type { GatewayConfig } from '../gateway/config/index.js';
import { Gateway } from '../gateway/gateway.js';
import { type ChildExit, childEntry, IpcChild } from '../protocol/child-ipc.js';
import type { FaultHandler } from '../simulators/fault-control.js';
import { type ActiveFault, type FaultRequest, targetMatches } from '../simulators/faults.js';
import type { FleetService } from '../simulators/fleet-runtime.js';

/** What the demo asks of a gateway child process. */
export type GatewayChildCall =
  | {
      readonly op: 'init';
      /** The validated configs of the child's gateways, by enterprise code. */
      readonly configs: Readonly<Record<string, GatewayConfig>>;
      readonly logLevel: string;
    }
  | { readonly op: 'on'; readonly codes: readonly string[]; readonly spacingMs: number }
  | { readonly op: 'off'; readonly codes: readonly string[] }
  | { readonly op: 'report' }
  /** Opens (making it when missing) an OPC UA client PKI folder, before gateways share it. */
  | { readonly op: 'pki'; readonly dir: string; readonly applicationUri: string }
  | { readonly op: 'close' };

/** What gateways have sent, summed over them (their samplers' and edge nodes' figures). */
export interface GatewaysReport {
  readonly gateways: number;
  /** Connected to the broker with the node born. */
  readonly born: number;
  /** Values sent in DDATA (heartbeats included). */
  readonly published: number;
  /** Values sent in DBIRTHs. */
  readonly birthValues: number;
  readonly births: number;
  /** Journal messages the hub has not acknowledged yet. */
  readonly backlog: number;
  /** Births sent again when the hub asked (their values are not counted again above). */
  readonly rebirths: number;
  /** Journal messages published again after a reconnect (not counted again above). */
  readonly replayed: number;
}

const NO_GATEWAYS: GatewaysReport = {
  gateways: 0,
  born: 0,
  published: 0,
  birthValues: 0,
  births: 0,
  backlog: 0,
  rebirths: 0,
  replayed: 0,
};

/** The report of these gateways (added to `to`). */
export function reportGateways(
  gateways: Iterable<Gateway>,
  to: GatewaysReport = NO_GATEWAYS,
): GatewaysReport {
  let r = to;
  for (const g of gateways) {
    const s = g.status();
    r = {
      gateways: r.gateways + 1,
      born: r.born + (s.edgeNode.connected && s.edgeNode.born ? 1 : 0),
      published: r.published + (s.sampler.published ?? 0),
      birthValues: r.birthValues + (s.sampler.birthValues ?? 0),
      births: r.births + (s.sampler.births ?? 0),
      backlog: r.backlog + (s.edgeNode.journal?.backlog ?? 0),
      rebirths: r.rebirths + (s.edgeNode.counters.rebirths ?? 0),
      replayed: r.replayed + (s.edgeNode.journal?.replayed ?? 0),
    };
  }
  return r;
}

/** Two reports summed. */
export function addReports(a: GatewaysReport, b: GatewaysReport): GatewaysReport {
  return {
    gateways: a.gateways + b.gateways,
    born: a.born + b.born,
    published: a.published + b.published,
    birthValues: a.birthValues + b.birthValues,
    births: a.births + b.births,
    backlog: a.backlog + b.backlog,
    rebirths: a.rebirths + b.rebirths,
    replayed: a.replayed + b.replayed,
  };
}

/** A gateway child that died while the demo ran: its gateways' machines are no longer read. */
export interface GatewayChildExit extends ChildExit {
  readonly enterprises: readonly string[];
}

export interface DemoGatewaysOptions {
  readonly logger: Logger;
  /** Drops a client at the broker, will published (Hub.disconnectMqttClient). */
  readonly disconnectMqttClient: (clientId: string) => Promise<boolean>;
  /** Time between two gateways' starts, so they do not all connect at once; default 0. */
  readonly startSpacingMs?: number;
  /** Child processes running the gateways; 0 (default) runs them in this process. */
  readonly processes?: number;
  /** Options for node in each child (e.g. `--cpu-prof` for bench:fleet's profile). */
  readonly execArgv?: readonly string[];
  /** Told when a gateway child dies while the demo runs. */
  readonly onChildExit?: (exit: GatewayChildExit) => void;
}

interface PowerCut {
  readonly fault: ActiveFault;
  readonly codes: readonly string[];
  readonly timer: NodeJS.Timeout | undefined;
}

/** The enterprise code a demo gateway serves (its Sparkplug group). */
const codeOf = (config: GatewayConfig): string => config.gateway.group;

/** Where the demo's gateways run: in this process, or in child processes. */
interface GatewayPower {
  /** Starts these gateways, `spacingMs` apart; rejects when one did not start. */
  on(codes: readonly string[], spacingMs: number): Promise<void>;
  /** Closes these gateways (their drivers stop, their sessions end); what they had sent. */
  off(codes: readonly string[]): Promise<GatewaysReport>;
  /** What the running gateways have sent so far. */
  report(): Promise<GatewaysReport>;
  close(): Promise<void>;
}

class GatewaysHere implements GatewayPower {
  readonly running = new Map<string, Gateway>();
  readonly #configs: ReadonlyMap<string, GatewayConfig>;
  readonly #logger: Logger;
  #closed = false;

  constructor(configs: ReadonlyMap<string, GatewayConfig>, logger: Logger) {
    this.#configs = configs;
    this.#logger = logger;
  }

  async on(codes: readonly string[], spacingMs: number): Promise<void> {
    const starts: Promise<void>[] = [];
    for (const code of codes) {
      if (this.#closed) break;
      starts.push(this.#on(code));
      if (spacingMs > 0) await new Promise((resolve) => setTimeout(resolve, spacingMs));
    }
    await Promise.all(starts);
  }

  async #on(code: string): Promise<void> {
    const config = this.#configs.get(code);
    if (config === undefined || this.running.has(code) || this.#closed) return;
    const gateway = new Gateway(config, { logger: this.#logger });
    this.running.set(code, gateway);
    await gateway.start();
  }

  async off(codes: readonly string[]): Promise<GatewaysReport> {
    const closed = await Promise.all(
      codes.map(async (code) => {
        const gateway = this.running.get(code);
        this.running.delete(code);
        await gateway?.close();
        return gateway;
      }),
    );
    return reportGateways(closed.filter((g) => g !== undefined));
  }

  async report(): Promise<GatewaysReport> {
    return reportGateways(this.running.values());
  }

  async close(): Promise<void> {
    this.#closed = true;
    const gateways = [...this.running.values()];
    this.running.clear();
    const results = await Promise.allSettled(gateways.map((g) => g.close()));
    for (const r of results) {
      if (r.status === 'rejected')
        this.#logger.warn({ err: r.reason }, 'demo: a gateway did not close cleanly');
    }
  }
}

/**
 * Machines whose gateways one gateway child process runs by default (issue 13). Up to
 * MACHINES_PER_SIM_PROCESS the demo runs its gateways in its own process, beside the hub.
 */
export const MACHINES_PER_GATEWAY_PROCESS = 5000;

/** Gateway child processes for a demo of `machines` by default: none up to `inProcessUpTo`. */
export function defaultGatewayProcesses(machines: number, inProcessUpTo: number): number {
  return machines <= inProcessUpTo ? 0 : Math.ceil(machines / MACHINES_PER_GATEWAY_PROCESS);
}

/** How long a gateway child may take to close its gateways (NDEATH, journal) before it is killed. */
const GATEWAY_CHILD_CLOSE_GRACE_MS = 15_000;

/**
 * Deals gateways to `count` groups of about equal machine count (the largest first, each to the
 * group with the fewest machines so far).
 */
export function dealGateways(configs: readonly GatewayConfig[], count: number): GatewayConfig[][] {
  const n = Math.max(1, Math.min(count, configs.length));
  const groups = Array.from({ length: n }, () => ({ machines: 0, configs: [] as GatewayConfig[] }));
  const bySize = [...configs].sort((a, b) => b.machines.length - a.machines.length);
  for (const c of bySize) {
    const least = groups.reduce((m, g) => (g.machines < m.machines ? g : m));
    least.configs.push(c);
    least.machines += c.machines.length;
  }
  // Each group in the configs' own order, so the starts go through the enterprises in order.
  const order = new Map(configs.map((c, i) => [c, i]));
  return groups.map((g) => g.configs.sort((a, b) => order.get(a)! - order.get(b)!));
}

class GatewayProcesses implements GatewayPower {
  readonly #children: IpcChild<GatewayChildCall>[];
  readonly #groups: readonly GatewayConfig[][];
  readonly #childOf = new Map<string, IpcChild<GatewayChildCall>>();
  readonly #logger: Logger;
  #closing = false;

  constructor(configs: readonly GatewayConfig[], processes: number, o: DemoGatewaysOptions) {
    this.#logger = o.logger;
    this.#groups = dealGateways(configs, processes);
    const entry = childEntry(import.meta.url, 'gateway-child');
    this.#children = this.#groups.map((group, index) => {
      const child = new IpcChild<GatewayChildCall>({
        entry,
        index,
        label: 'gateway process',
        logField: 'gatewayProcess',
        logger: o.logger,
        ...(o.execArgv !== undefined ? { execArgv: o.execArgv } : {}),
      });
      for (const c of group) this.#childOf.set(codeOf(c), child);
      void child.exited.then((exit) => {
        if (this.#closing) return;
        const enterprises = group.map(codeOf);
        o.logger.error(
          { gatewayProcess: index, pid: exit.pid, code: exit.code, signal: exit.signal },
          `gateway process ${index} died: the machines of ${enterprises.length} enterprise(s) (${enterprises.slice(0, 3).join(', ')}${enterprises.length > 3 ? ', …' : ''}) are no longer read`,
        );
        o.onChildExit?.({ ...exit, enterprises });
      });
      return child;
    });
  }

  get pids(): (number | undefined)[] {
    return this.#children.map((c) => c.pid);
  }

  /**
   * Gives each child its gateways' configs. A PKI folder the gateways share is made by the
   * first child before any gateway starts: two processes making it at once would each read the
   * other's half-written key or certificate.
   */
  async init(): Promise<void> {
    await Promise.all(
      this.#children.map((child, i) =>
        child.request({
          op: 'init',
          configs: Object.fromEntries(this.#groups[i]!.map((c) => [codeOf(c), c])),
          logLevel: this.#logger.level,
        }),
      ),
    );
    const folders = new Map<string, string>();
    for (const c of this.#groups.flat())
      for (const conn of c.connections)
        if (conn.type === 'opcua' && conn.pkiDir !== undefined && conn.applicationUri !== undefined)
          folders.set(conn.pkiDir, conn.applicationUri);
    for (const [dir, applicationUri] of folders)
      await this.#children[0]?.request({ op: 'pki', dir, applicationUri });
  }

  #byChild(codes: readonly string[]): Map<IpcChild<GatewayChildCall>, string[]> {
    const by = new Map<IpcChild<GatewayChildCall>, string[]>();
    for (const code of codes) {
      const child = this.#childOf.get(code);
      if (child === undefined) continue;
      const list = by.get(child) ?? [];
      list.push(code);
      by.set(child, list);
    }
    return by;
  }

  async on(codes: readonly string[], spacingMs: number): Promise<void> {
    // The children start theirs together: each spaces its own so the whole keeps the pace.
    const spacing = spacingMs * this.#children.length;
    await Promise.all(
      [...this.#byChild(codes)].map(([child, list]) =>
        child.request({ op: 'on', codes: list, spacingMs: spacing }),
      ),
    );
  }

  async off(codes: readonly string[]): Promise<GatewaysReport> {
    const reports = await Promise.all(
      [...this.#byChild(codes)].map(([child, list]) => child.request({ op: 'off', codes: list })),
    );
    return (reports as GatewaysReport[]).reduce(addReports, NO_GATEWAYS);
  }

  async report(): Promise<GatewaysReport> {
    const reports = await Promise.all(this.#children.map((c) => c.request({ op: 'report' })));
    return (reports as GatewaysReport[]).reduce(addReports, NO_GATEWAYS);
  }

  async close(): Promise<void> {
    this.#closing = true;
    await Promise.all(this.#children.map((c) => c.close(GATEWAY_CHILD_CLOSE_GRACE_MS)));
  }

  /** Test hook: kills one child as a crash would (SIGKILL). */
  kill(index: number): void {
    this.#children[index]?.kill();
  }
}

export class DemoGateways {
  readonly #configs: ReadonlyMap<string, GatewayConfig>;
  readonly #o: DemoGatewaysOptions;
  readonly #log: Logger;
  readonly #power: GatewayPower;
  /** The enterprises whose gateway has power. */
  readonly #powered = new Set<string>();
  readonly #cuts = new Map<number, PowerCut>();
  #nextId = 1;
  #closed = false;

  constructor(configs: readonly GatewayConfig[], options: DemoGatewaysOptions) {
    this.#configs = new Map(configs.map((c) => [codeOf(c), c]));
    this.#o = options;
    this.#log = options.logger.child({ component: 'demo-gateways' });
    const processes = options.processes ?? 0;
    this.#power =
      processes > 0
        ? new GatewayProcesses(configs, processes, options)
        : new GatewaysHere(this.#configs, options.logger);
  }

  get count(): number {
    return this.#configs.size;
  }

  /** The gateway child processes' ids; empty when the gateways run in this process. */
  get pids(): (number | undefined)[] {
    return this.#power instanceof GatewayProcesses ? this.#power.pids : [];
  }

  /**
   * The running gateway of an enterprise when the gateways run in this process; undefined while
   * its power is cut, or when the gateways run in child processes.
   */
  gateway(enterpriseCode: string): Gateway | undefined {
    return this.#power instanceof GatewaysHere ? this.#power.running.get(enterpriseCode) : undefined;
  }

  /** Test hook: kills gateway child process `index` as a crash would. */
  killProcess(index: number): void {
    if (this.#power instanceof GatewayProcesses) this.#power.kill(index);
  }

  /** Starts every gateway, `startSpacingMs` apart; resolves when all have started. */
  async start(): Promise<void> {
    if (this.#power instanceof GatewayProcesses) await this.#power.init();
    await this.#powerOn([...this.#configs.keys()], this.#o.startSpacingMs ?? 0);
  }

  async #powerOn(codes: readonly string[], spacingMs = 0): Promise<void> {
    const off = codes.filter((c) => this.#configs.has(c) && !this.#powered.has(c));
    if (off.length === 0 || this.#closed) return;
    for (const c of off) this.#powered.add(c);
    await this.#power.on(off, spacingMs);
  }

  async #powerOff(codes: readonly string[]): Promise<void> {
    const on = codes.filter((c) => this.#powered.has(c));
    for (const c of on) this.#powered.delete(c);
    await Promise.all(
      on.map(async (code) => {
        const config = this.#configs.get(code)!;
        const clientId = config.mqtt.clientId ?? `wanji-${config.gateway.group}-${config.gateway.node}`;
        const dropped = await this.#o.disconnectMqttClient(clientId);
        this.#log.info({ gateway: config.gateway.node, willPublished: dropped }, 'gateway lost power');
      }),
    );
    await this.#power.off(on);
  }

  /** What the running gateways have sent so far, summed. */
  report(): Promise<GatewaysReport> {
    return this.#power.report();
  }

  /**
   * Stops every gateway as an orderly shutdown (drivers stop, what was read is journalled and
   * published, NDEATH) and reports what they had sent in all.
   */
  async stopAll(): Promise<GatewaysReport> {
    const codes = [...this.#powered];
    this.#powered.clear();
    return await this.#power.off(codes);
  }

  /** Cuts the power of the gateways the target covers (enterprise code, machine id, all, N%). */
  async cut(request: FaultRequest): Promise<ActiveFault> {
    const codes = [...this.#configs.values()]
      .filter((c) => {
        if (request.target === c.gateway.node) return true;
        if (targetMatches(request.target, `${codeOf(c)}-gateway`, codeOf(c))) return true;
        return c.machines.some((m) => m.id === request.target);
      })
      .map(codeOf);
    if (codes.length === 0) {
      throw new Error(
        `no gateway matches target "${request.target}" (an enterprise code, a machine id, a gateway node id, all or N%)`,
      );
    }
    const id = this.#nextId++;
    const now = Date.now();
    const fault: ActiveFault = {
      ...request,
      id,
      matched: codes.length,
      sinceMs: now,
      ...(request.seconds !== undefined ? { untilMs: now + request.seconds * 1000 } : {}),
    };
    const timer =
      request.seconds === undefined
        ? undefined
        : setTimeout(() => void this.restore(id), request.seconds * 1000).unref();
    this.#cuts.set(id, { fault, codes, timer });
    await this.#powerOff(codes);
    return fault;
  }

  /** Power back for one cut, or all when id is undefined; how many cuts ended. */
  async restore(id?: number): Promise<number> {
    const ids = id === undefined ? [...this.#cuts.keys()] : this.#cuts.has(id) ? [id] : [];
    const codes = new Set<string>();
    for (const i of ids) {
      const cut = this.#cuts.get(i)!;
      clearTimeout(cut.timer);
      for (const c of cut.codes) codes.add(c);
      this.#cuts.delete(i);
    }
    // A gateway another cut still covers stays dark.
    for (const cut of this.#cuts.values()) for (const c of cut.codes) codes.delete(c);
    await this.#powerOn([...codes]).catch((err: unknown) =>
      this.#log.error({ err }, 'gateway did not start after power returned'),
    );
    if (codes.size > 0) this.#log.info({ gateways: codes.size }, 'gateway power back');
    return ids.length;
  }

  cuts(): ActiveFault[] {
    return [...this.#cuts.values()].map((c) => c.fault);
  }

  /** Closes every running gateway together (NDEATH, disconnect); a cut gateway stays off. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const cut of this.#cuts.values()) clearTimeout(cut.timer);
    await this.#power.close();
  }
}

/**
 * The running demo's faults: machine faults go to the simulated fleet, power-loss to the
 * gateways. One id space: the fleet's ids as they are, power cuts' offset by POWER_ID_BASE.
 */
export class DemoFaults implements FaultHandler {
  static readonly POWER_ID_BASE = 1_000_000;
  readonly #fleet: FleetService;
  readonly #gateways: DemoGateways;

  constructor(fleet: FleetService, gateways: DemoGateways) {
    this.#fleet = fleet;
    this.#gateways = gateways;
  }

  async addFault(request: FaultRequest): Promise<ActiveFault> {
    if (request.kind !== 'power-loss') return await this.#fleet.addFault(request);
    const fault = await this.#gateways.cut(request);
    return { ...fault, id: fault.id + DemoFaults.POWER_ID_BASE };
  }

  async clearFaults(id?: number): Promise<number> {
    if (id === undefined) return (await this.#fleet.clearFaults()) + (await this.#gateways.restore());
    if (id >= DemoFaults.POWER_ID_BASE) return await this.#gateways.restore(id - DemoFaults.POWER_ID_BASE);
    return await this.#fleet.clearFaults(id);
  }

  async faults(): Promise<ActiveFault[]> {
    const power = this.#gateways.cuts().map((f) => ({ ...f, id: f.id + DemoFaults.POWER_ID_BASE }));
    return [...(await this.#fleet.faults()), ...power];
  }
}
