/**
 * A simulated fleet served from several child processes (issue 13): one process cannot serve
 * 10,000 machines beside the demo's hub and gateways, and a node-opcua server is bound to one
 * core. The enterprises are dealt to `processes` children (cli/sim-child.ts) in contiguous
 * groups of about equal machine count; each child runs an in-process SimFleet for its group and
 * replies with where its machines answer. The children regenerate the same plan from the fleet
 * options (the plan is a pure function of them), so only the options and each group's
 * enterprise codes cross the pipe.
 *
 * A child's pino lines are forwarded to this process's logger (with `simProcess: <index>`); a
 * child that dies while the fleet runs is logged as an error and told to `onChildExit`, and its
 * enterprises' machines stop answering; it is not restarted (a fleet that heals itself would
 * hide the fault a tester is looking for).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { type ChildExit, childEntry, IpcChild } from '../protocol/child-ipc.js';
import type { ActiveFault, FaultRequest } from './faults.js';
import { type FleetOptions, type FleetPlan, generateFleet } from './fleet.js';
import type { FleetEndpoints, FleetService } from './fleet-runtime.js';
import { defaultPkiDir } from './opcua/server.js';

/** What the parent asks a child to serve. */
export interface SimChildStart {
  readonly fleet: Required<FleetOptions>;
  /** The enterprises this child serves. */
  readonly codes: readonly string[];
  readonly host: string;
  readonly tickMs: number;
  readonly pkiDir: string;
  readonly maxOpcuaServers: number;
  readonly logLevel: string;
}

/** What the parent asks of a child. */
export type SimChildCall =
  | { readonly op: 'start'; readonly start: SimChildStart }
  | { readonly op: 'fault'; readonly id: number; readonly request: FaultRequest }
  | { readonly op: 'clear'; readonly id?: number }
  | { readonly op: 'close' };

/** What a child's start replies: each of its enterprises' endpoints. */
export type SimChildEndpoints = Readonly<Record<string, FleetEndpoints>>;

export interface SimChildExit extends ChildExit {
  readonly enterprises: readonly string[];
}

export interface SimFleetProcessesOptions {
  readonly logger: Logger;
  /** Child processes; at most one per enterprise. */
  readonly processes: number;
  /** Interface for every server, and the host in the endpoints; default 127.0.0.1. */
  readonly host?: string;
  /** Tick period in the children; default 1000. */
  readonly tickMs?: number;
  readonly pkiDir?: string;
  /** OPC UA servers over the whole fleet (each child gets its share, at least one); default one per child. */
  readonly maxOpcuaServers?: number;
  /** Options for node in each child (e.g. `--cpu-prof` for bench:fleet's profile). */
  readonly execArgv?: readonly string[];
  /** Told when a child dies while the fleet runs (its machines no longer answer). */
  readonly onChildExit?: (exit: SimChildExit) => void;
  /** Serve only this part of the fleet's enterprises (a fleet spread over hosts); default all. */
  readonly part?: FleetPart;
}

/** Deals the enterprises to `count` contiguous groups of about equal machine count. */
export function dealEnterprises(plan: FleetPlan, count: number): string[][] {
  const perEnterprise = new Map<string, number>();
  for (const m of plan.machines)
    perEnterprise.set(m.enterpriseCode, (perEnterprise.get(m.enterpriseCode) ?? 0) + 1);
  const n = Math.max(1, Math.min(count, plan.enterprises.length));
  const groups: string[][] = Array.from({ length: n }, () => []);
  const total = plan.machines.length;
  let done = 0;
  let g = 0;
  for (const [i, e] of plan.enterprises.entries()) {
    // Move on once this group has its share, keeping an enterprise for every later group.
    const left = plan.enterprises.length - i;
    if (g < n - 1 && groups[g]!.length > 0 && (done >= (total * (g + 1)) / n || left <= n - 1 - g)) g++;
    groups[g]!.push(e.code);
    done += perEnterprise.get(e.code) ?? 0;
  }
  return groups;
}

/** Which share of a fleet's enterprises to serve: part `index` (1-based) of `of`. */
export interface FleetPart {
  readonly index: number;
  readonly of: number;
}

/**
 * The part of a plan one host serves when a fleet is spread over several (`wanji sim --part
 * K/N`): the K-th of N groups of enterprises (dealEnterprises), with their machines. The parts
 * of one plan are disjoint and cover it.
 */
export function partOfPlan(plan: FleetPlan, part: FleetPart): FleetPlan {
  if (!Number.isInteger(part.of) || part.of < 1 || part.of > plan.enterprises.length) {
    throw new RangeError(
      `a fleet of ${plan.enterprises.length} enterprises splits into 1..${plan.enterprises.length} parts; got ${part.of}`,
    );
  }
  if (!Number.isInteger(part.index) || part.index < 1 || part.index > part.of) {
    throw new RangeError(`part must be 1..${part.of}; got ${part.index}`);
  }
  const codes = new Set(dealEnterprises(plan, part.of)[part.index - 1]);
  return {
    seed: plan.seed,
    enterprises: plan.enterprises.filter((e) => codes.has(e.code)),
    machines: plan.machines.filter((m) => codes.has(m.enterpriseCode)),
  };
}

/** One simulator child process and the enterprises it serves. */
class SimChild extends IpcChild<SimChildCall> {
  readonly codes: readonly string[];
  readonly exitedWith: Promise<SimChildExit>;

  constructor(index: number, codes: readonly string[], logger: Logger, execArgv?: readonly string[]) {
    super({
      ...(execArgv !== undefined ? { execArgv } : {}),
      entry: childEntry(import.meta.url, 'sim-child'),
      index,
      label: 'simulator process',
      logField: 'simProcess',
      logger,
    });
    this.codes = codes;
    this.exitedWith = this.exited.then((exit) => ({ ...exit, enterprises: codes }));
  }
}

/** How long a child may take to close its servers before it is killed. */
const CHILD_CLOSE_GRACE_MS = 10_000;

export class SimFleetProcesses implements FleetService {
  readonly plan: FleetPlan;
  readonly #fleet: Required<FleetOptions>;
  readonly #o: SimFleetProcessesOptions;
  readonly #log: Logger;
  readonly #groups: string[][];
  #children: SimChild[] = [];
  readonly #endpoints = new Map<string, FleetEndpoints>();
  readonly #faults = new Map<number, ActiveFault>();
  #nextFaultId = 1;
  #starting: Promise<void> | undefined;
  #closing = false;

  constructor(fleet: FleetOptions, options: SimFleetProcessesOptions) {
    const whole = generateFleet(fleet);
    this.plan = options.part === undefined ? whole : partOfPlan(whole, options.part);
    this.#fleet = {
      machines: whole.machines.length,
      seed: whole.seed,
      enterprises: whole.enterprises.length,
    };
    this.#o = options;
    this.#log = options.logger.child({ component: 'sim-processes' });
    if (!Number.isInteger(options.processes) || options.processes < 1) {
      throw new RangeError(`processes must be a positive integer; got ${options.processes}`);
    }
    this.#groups = dealEnterprises(this.plan, options.processes);
  }

  /** The child processes' ids (after start), by index. */
  get pids(): (number | undefined)[] {
    return this.#children.map((c) => c.pid);
  }

  /** Which child (index) serves an enterprise. */
  processOf(enterpriseCode: string): number {
    return this.#groups.findIndex((g) => g.includes(enterpriseCode));
  }

  start(): Promise<void> {
    this.#closing = false;
    this.#starting ??= this.#run().catch(async (err: unknown) => {
      const closing = this.#closing;
      this.#closing = true; // the children closed here did not die
      await this.#closeChildren();
      this.#closing = closing;
      this.#starting = undefined;
      throw err;
    });
    return this.#starting;
  }

  async #run(): Promise<void> {
    const began = Date.now();
    const pkiDir = this.#o.pkiDir ?? defaultPkiDir();
    // One OPC UA server per child unless told: each costs ~2 s of CPU to load its nodeset.
    const perChildOpcua = Math.max(
      1,
      Math.round((this.#o.maxOpcuaServers ?? this.#groups.length) / this.#groups.length),
    );
    this.#children = this.#groups.map((codes, i) => {
      const child = new SimChild(i, codes, this.#o.logger, this.#o.execArgv);
      void child.exitedWith.then((exit) => this.#childExited(exit));
      return child;
    });
    const startChild = async (child: SimChild): Promise<void> => {
      const start: SimChildStart = {
        fleet: this.#fleet,
        codes: child.codes,
        host: this.#o.host ?? '127.0.0.1',
        tickMs: this.#o.tickMs ?? 1000,
        pkiDir,
        maxOpcuaServers: perChildOpcua,
        logLevel: this.#o.logger.level,
      };
      const endpoints = (await child.request({ op: 'start', start })) as SimChildEndpoints;
      for (const [code, ep] of Object.entries(endpoints)) this.#endpoints.set(code, ep);
    };
    // The first OPC UA server makes the PKI (key, certificate) when there is none: one child
    // makes it before the others read it.
    const [first, ...rest] = this.#children;
    const hasPki = existsSync(join(pkiDir, 'own', 'certs', 'certificate.pem'));
    if (!hasPki && first !== undefined) await startChild(first);
    if (this.#closing) return;
    await Promise.all((hasPki ? this.#children : rest).map(startChild));
    if (this.#closing) return;
    this.#log.info(
      {
        machines: this.plan.machines.length,
        enterprises: this.plan.enterprises.length,
        processes: this.#children.length,
        pids: this.pids,
        ms: Date.now() - began,
      },
      'simulated fleet up in child processes',
    );
  }

  #childExited(exit: SimChildExit): void {
    if (this.#closing) return;
    this.#log.error(
      {
        simProcess: exit.index,
        pid: exit.pid,
        code: exit.code,
        signal: exit.signal,
        enterprises: exit.enterprises.length,
      },
      `simulator process ${exit.index} died: the machines of ${exit.enterprises.length} enterprise(s) (${exit.enterprises.slice(0, 3).join(', ')}${exit.enterprises.length > 3 ? ', …' : ''}) no longer answer`,
    );
    this.#o.onChildExit?.(exit);
  }

  endpoints(enterpriseCode: string): FleetEndpoints {
    const ep = this.#endpoints.get(enterpriseCode);
    if (ep === undefined) {
      throw new Error(
        this.plan.enterprises.some((e) => e.code === enterpriseCode)
          ? `enterprise ${enterpriseCode} has no endpoints yet (start the fleet first)`
          : `no enterprise ${enterpriseCode} in the fleet`,
      );
    }
    return ep;
  }

  async addFault(request: FaultRequest): Promise<ActiveFault> {
    if (request.kind === 'power-loss')
      throw new Error('power-loss is a gateway fault: the simulators have none');
    const id = this.#nextFaultId++;
    const results = await Promise.all(
      this.#children.map((c) => c.request({ op: 'fault', id, request }) as Promise<ActiveFault>),
    );
    const matched = results.reduce((n, f) => n + f.matched, 0);
    if (matched === 0) {
      await Promise.all(this.#children.map((c) => c.request({ op: 'clear', id })));
      throw new Error(`no machine of the fleet matches target "${request.target}"`);
    }
    const fault: ActiveFault = { ...results[0]!, matched };
    this.#faults.set(id, fault);
    this.#log.info({ fault }, 'simulated fault on');
    return fault;
  }

  async clearFaults(id?: number): Promise<number> {
    await Promise.all(
      this.#children.map((c) => c.request(id === undefined ? { op: 'clear' } : { op: 'clear', id })),
    );
    const ids = id === undefined ? [...this.#faults.keys()] : this.#faults.has(id) ? [id] : [];
    for (const i of ids) this.#faults.delete(i);
    if (ids.length > 0) this.#log.info({ id: id ?? 'all', cleared: ids.length }, 'simulated fault off');
    return ids.length;
  }

  async faults(): Promise<ActiveFault[]> {
    const now = Date.now();
    for (const [id, f] of this.#faults)
      if (f.untilMs !== undefined && now >= f.untilMs) this.#faults.delete(id);
    return [...this.#faults.values()];
  }

  /** Test hook: kills one child as a crash would (SIGKILL). */
  killProcess(index: number): void {
    this.#children[index]?.kill();
  }

  async close(): Promise<void> {
    this.#closing = true;
    const starting = this.#starting;
    this.#starting = undefined;
    await this.#closeChildren();
    await starting?.catch(() => undefined);
    this.#endpoints.clear();
  }

  async #closeChildren(): Promise<void> {
    const children = this.#children;
    await Promise.all(children.map((c) => c.close(CHILD_CLOSE_GRACE_MS)));
  }
}

/**
 * Machines one simulator child process serves by default (issue 13). Each child pays ~4 s of
 * CPU to load node-opcua and its nodeset before serving anything, and then ~0.35 core per
 * 2,500 machines sampled every second; on a 2-core machine more children than cores only add
 * that start-up cost.
 */
export const MACHINES_PER_SIM_PROCESS = 2500;

/** Child processes for a fleet of `machines` by default: none up to MACHINES_PER_SIM_PROCESS. */
export function defaultSimProcesses(machines: number): number {
  return machines <= MACHINES_PER_SIM_PROCESS ? 0 : Math.ceil(machines / MACHINES_PER_SIM_PROCESS);
}

export interface FleetServiceOptions extends Omit<SimFleetProcessesOptions, 'processes'> {
  /** Child processes; 0 serves the fleet in this process. */
  readonly processes: number;
}

/** The fleet in this process (processes 0) or in child processes. */
export async function createFleetService(
  fleet: FleetOptions,
  options: FleetServiceOptions,
): Promise<FleetService> {
  if (options.processes > 0) return new SimFleetProcesses(fleet, options);
  const { SimFleet } = await import('./fleet-runtime.js');
  const { logger, host, tickMs, pkiDir, maxOpcuaServers, part } = options;
  const whole = generateFleet(fleet);
  return new SimFleet(part === undefined ? whole : partOfPlan(whole, part), {
    logger,
    ...(host !== undefined ? { host } : {}),
    ...(tickMs !== undefined ? { tickMs } : {}),
    ...(pkiDir !== undefined ? { pkiDir } : {}),
    ...(maxOpcuaServers !== undefined ? { maxOpcuaServers } : {}),
  });
}
