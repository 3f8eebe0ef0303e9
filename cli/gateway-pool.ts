/**
 * Where the demo's gateways run (cli/demo-gateways.ts powers them on and off): in this process
 * (GatewaysInProcess), or dealt by machine count to child processes (GatewayProcesses), each of
 * which runs a GatewaysInProcess of its own (cli/gateway-child.ts). At 10,000 machines the
 * gateways' start-up (OPC UA sessions, births, journal replays) and reading would hold the core
 * the hub needs (issue 13, docs/bench.md).
 */
import type { Logger } from 'pino';
import type { GatewayConfig } from '../gateway/config/index.js';
import { Gateway } from '../gateway/gateway.js';
import { type ChildExit, childEntry, IpcChild } from '../protocol/child-ipc.js';

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

/** Two reports summed. */
function addReports(a: GatewaysReport, b: GatewaysReport): GatewaysReport {
  const sum: Record<keyof GatewaysReport, number> = { ...a };
  for (const k of Object.keys(NO_GATEWAYS) as (keyof GatewaysReport)[]) sum[k] = a[k] + b[k];
  return sum;
}

/** One gateway's report. */
function gatewayReport(g: Gateway): GatewaysReport {
  const s = g.status();
  return {
    gateways: 1,
    born: s.edgeNode.connected && s.edgeNode.born ? 1 : 0,
    published: s.sampler.published ?? 0,
    birthValues: s.sampler.birthValues ?? 0,
    births: s.sampler.births ?? 0,
    backlog: s.edgeNode.journal?.backlog ?? 0,
    rebirths: s.edgeNode.counters.rebirths ?? 0,
    replayed: s.edgeNode.journal?.replayed ?? 0,
  };
}

function sumReports(reports: Iterable<GatewaysReport>): GatewaysReport {
  return [...reports].reduce(addReports, NO_GATEWAYS);
}

/** The enterprise code a demo gateway serves (its Sparkplug group). */
export const codeOf = (config: GatewayConfig): string => config.gateway.group;

/** Where the demo's gateways run: in this process, or in child processes. */
export interface GatewayPool {
  /** Starts these gateways, `spacingMs` apart; rejects when one did not start. */
  on(codes: readonly string[], spacingMs: number): Promise<void>;
  /** Closes these gateways (their drivers stop, their sessions end); what they had sent. */
  off(codes: readonly string[]): Promise<GatewaysReport>;
  /** What the running gateways have sent so far. */
  report(): Promise<GatewaysReport>;
  close(): Promise<void>;
}

/** The gateways in this process: the demo's up to 2,500 machines, and each gateway child's. */
export class GatewaysInProcess implements GatewayPool {
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
    const failed = (await Promise.allSettled(starts)).flatMap((r, i) =>
      r.status === 'rejected' ? [{ enterprise: codes[i], err: r.reason as unknown }] : [],
    );
    for (const f of failed) this.#logger.error(f, 'demo: a gateway did not start');
    if (failed.length === 1) throw failed[0]!.err;
    if (failed.length > 1) throw new Error(`${failed.length} gateways did not start (see the log)`);
  }

  async #on(code: string): Promise<void> {
    const config = this.#configs.get(code);
    if (config === undefined) throw new Error(`no gateway here for enterprise ${code}`);
    if (this.running.has(code) || this.#closed) return;
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
    return sumReports(closed.filter((g) => g !== undefined).map(gatewayReport));
  }

  async report(): Promise<GatewaysReport> {
    return sumReports([...this.running.values()].map(gatewayReport));
  }

  /** Closes every gateway together, each once (a second close finds none). */
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

/** What the demo asks of a gateway child process (cli/gateway-child.ts). */
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

/** A gateway child that died while the demo ran: its gateways' machines are no longer read. */
export interface GatewayChildExit extends ChildExit {
  readonly enterprises: readonly string[];
}

export interface GatewayProcessesOptions {
  readonly logger: Logger;
  /** Options for node in each child (e.g. `--cpu-prof` for bench:fleet's profile). */
  readonly execArgv?: readonly string[];
  /** Told when a gateway child dies while the demo runs. */
  readonly onChildExit?: (exit: GatewayChildExit) => void;
}

/**
 * Machines whose gateways one gateway child process runs by default (issue 13). Up to
 * `inProcessUpTo` (the demo's MACHINES_PER_SIM_PROCESS) the gateways run beside the hub.
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

/** The gateways dealt to child processes, each running a GatewaysInProcess. */
export class GatewayProcesses implements GatewayPool {
  readonly #children: IpcChild<GatewayChildCall>[];
  readonly #groups: readonly GatewayConfig[][];
  readonly #childOf = new Map<string, IpcChild<GatewayChildCall>>();
  readonly #logger: Logger;
  #closing = false;

  constructor(configs: readonly GatewayConfig[], processes: number, o: GatewayProcessesOptions) {
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
    return sumReports(reports as GatewaysReport[]);
  }

  async report(): Promise<GatewaysReport> {
    const reports = await Promise.all(this.#children.map((c) => c.request({ op: 'report' })));
    return sumReports(reports as GatewaysReport[]);
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
