/**
 * The demo's gateways (one per enterprise) and the faults of a running demo: the simulators'
 * machine faults, and `power-loss`, which only the demo can do since it runs the gateways.
 *
 * A gateway losing power: the hub's broker drops its connection as a dead network would (so the
 * broker publishes its NDEATH will, not the gateway), then the gateway's drivers stop; when the
 * power returns (after the fault's seconds, or when it is cleared) a new gateway starts from the
 * same config and data directory, as a rebooted box does: next bdSeq, NBIRTH, journal replay.
 */
import type { Logger } from 'pino';
import type { GatewayConfig } from '../gateway/config/index.js';
import { Gateway } from '../gateway/gateway.js';
import type { FaultHandler } from '../simulators/fault-control.js';
import { type ActiveFault, type FaultRequest, targetMatches } from '../simulators/faults.js';
import type { FleetService } from '../simulators/fleet-runtime.js';

export interface DemoGatewaysOptions {
  readonly logger: Logger;
  /** Drops a client at the broker, will published (Hub.disconnectMqttClient). */
  readonly disconnectMqttClient: (clientId: string) => Promise<boolean>;
  /** Time between two gateways' starts, so they do not all connect at once; default 0. */
  readonly startSpacingMs?: number;
}

interface PowerCut {
  readonly fault: ActiveFault;
  readonly codes: readonly string[];
  readonly timer: NodeJS.Timeout | undefined;
}

/** The enterprise code a demo gateway serves (its Sparkplug group). */
const codeOf = (config: GatewayConfig): string => config.gateway.group;

export class DemoGateways {
  readonly #configs: ReadonlyMap<string, GatewayConfig>;
  readonly #o: DemoGatewaysOptions;
  readonly #log: Logger;
  readonly #running = new Map<string, Gateway>();
  readonly #cuts = new Map<number, PowerCut>();
  #nextId = 1;
  #closed = false;

  constructor(configs: readonly GatewayConfig[], options: DemoGatewaysOptions) {
    this.#configs = new Map(configs.map((c) => [codeOf(c), c]));
    this.#o = options;
    this.#log = options.logger.child({ component: 'demo-gateways' });
  }

  get count(): number {
    return this.#configs.size;
  }

  /** The running gateway of an enterprise; undefined while its power is cut. */
  gateway(enterpriseCode: string): Gateway | undefined {
    return this.#running.get(enterpriseCode);
  }

  /** Starts every gateway, `startSpacingMs` apart; resolves when all have started. */
  async start(): Promise<void> {
    const spacing = this.#o.startSpacingMs ?? 0;
    const starts: Promise<void>[] = [];
    for (const code of this.#configs.keys()) {
      if (this.#closed) break;
      starts.push(this.#powerOn(code));
      if (spacing > 0) await new Promise((resolve) => setTimeout(resolve, spacing));
    }
    await Promise.all(starts);
  }

  async #powerOn(code: string): Promise<void> {
    const config = this.#configs.get(code);
    if (config === undefined || this.#running.has(code) || this.#closed) return;
    const gateway = new Gateway(config, { logger: this.#o.logger });
    this.#running.set(code, gateway);
    await gateway.start();
  }

  async #powerOff(code: string): Promise<void> {
    const gateway = this.#running.get(code);
    const config = this.#configs.get(code);
    if (gateway === undefined || config === undefined) return;
    this.#running.delete(code);
    const clientId = config.mqtt.clientId ?? `wanji-${config.gateway.group}-${config.gateway.node}`;
    const dropped = await this.#o.disconnectMqttClient(clientId);
    await gateway.close();
    this.#log.info({ gateway: config.gateway.node, willPublished: dropped }, 'gateway lost power');
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
    await Promise.all(codes.map((c) => this.#powerOff(c)));
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
    const started = await Promise.allSettled([...codes].map((c) => this.#powerOn(c)));
    for (const r of started) {
      if (r.status === 'rejected')
        this.#log.error({ err: r.reason }, 'gateway did not start after power returned');
    }
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
    const gateways = [...this.#running.values()];
    this.#running.clear();
    const results = await Promise.allSettled(gateways.map((g) => g.close()));
    for (const r of results) {
      if (r.status === 'rejected') this.#log.warn({ err: r.reason }, 'demo: a gateway did not close cleanly');
    }
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
