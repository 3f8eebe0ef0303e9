/**
 * The demo's gateways (one per enterprise) and the faults of a running demo: the simulators'
 * machine faults, and `power-loss`, which only the demo can do since it runs the gateways.
 *
 * The gateways run in this process or in child processes (cli/gateway-pool.ts).
 *
 * A gateway losing power: the hub's broker drops its connection as a dead network would (so the
 * broker publishes its NDEATH will, not the gateway), then the gateway's drivers stop; when the
 * power returns (after the fault's seconds, or when it is cleared) a new gateway starts from the
 * same config and data directory, as a rebooted box does: next bdSeq, NBIRTH, journal replay.
 */
import type { Logger } from 'pino';
import type { GatewayConfig } from '../gateway/config/index.js';
import type { Gateway } from '../gateway/gateway.js';
import type { FaultHandler } from '../simulators/fault-control.js';
import { type ActiveFault, type FaultRequest, targetMatches } from '../simulators/faults.js';
import type { FleetService } from '../simulators/fleet-runtime.js';
import {
  codeOf,
  type GatewayPool,
  GatewayProcesses,
  type GatewayProcessesOptions,
  GatewaysInProcess,
  type GatewaysReport,
} from './gateway-pool.js';

export interface DemoGatewaysOptions extends GatewayProcessesOptions {
  /** Drops a client at the broker, will published (Hub.disconnectMqttClient). */
  readonly disconnectMqttClient: (clientId: string) => Promise<boolean>;
  /** Time between two gateways' starts, so they do not all connect at once; default 0. */
  readonly startSpacingMs?: number;
  /** Child processes running the gateways; 0 (default) runs them in this process. */
  readonly processes?: number;
}

interface PowerCut {
  readonly fault: ActiveFault;
  readonly codes: readonly string[];
  readonly timer: NodeJS.Timeout | undefined;
}

export class DemoGateways {
  readonly #configs: ReadonlyMap<string, GatewayConfig>;
  readonly #o: DemoGatewaysOptions;
  readonly #log: Logger;
  readonly #power: GatewayPool;
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
        : new GatewaysInProcess(this.#configs, options.logger);
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
    return this.#power instanceof GatewaysInProcess ? this.#power.running.get(enterpriseCode) : undefined;
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
