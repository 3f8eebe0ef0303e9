/**
 * Faults on demand for a simulated fleet (issue 13): what a tester switches on to see how
 * gateways and the hub behave when machines misbehave.
 *
 * - `offline`      the machines stop answering on the wire (cable pulled, device hung): Modbus
 *                  requests go unanswered, OPC UA reads return BadNotConnected.
 * - `flap`         the link goes down and up again every `periodSeconds` (half down, half up).
 * - `freeze`       the machines answer, but their values no longer change (a stuck PLC).
 * - `alarm-storm`  the machines enter and leave the alarm state on every tick.
 * - `power-loss`   a gateway loses power: its MQTT link drops without a goodbye (the broker
 *                  sends its NDEATH will), its drivers stop; power returns after `seconds`.
 *                  Only where gateways run (`wanji demo`); the simulators alone have none.
 *
 * A target is a machine id ("E001-CNC-003"), an enterprise code ("E001": all its machines, or
 * its gateway for power-loss), `all`, or a share of the fleet ("5%": machines picked by a hash
 * of their id, so the same share always picks the same machines wherever they run).
 * A fault lasts `seconds` (default: until cleared).
 */
import type { SimMachine } from './machine.js';
import { hashString } from './random.js';

export const FAULT_KINDS = ['offline', 'flap', 'freeze', 'alarm-storm', 'power-loss'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];
/** The kinds the simulators apply to machines (power-loss is the gateways'). */
export type MachineFaultKind = Exclude<FaultKind, 'power-loss'>;

export const DEFAULT_FLAP_PERIOD_S = 10;

export interface FaultRequest {
  readonly kind: FaultKind;
  readonly target: string;
  /** How long the fault lasts; undefined: until cleared. */
  readonly seconds?: number;
  /** flap only: one down-and-up cycle, default DEFAULT_FLAP_PERIOD_S. */
  readonly periodSeconds?: number;
}

export interface ActiveFault extends FaultRequest {
  readonly id: number;
  /** Machines (or gateways, for power-loss) the target matched. */
  readonly matched: number;
  readonly sinceMs: number;
  readonly untilMs?: number;
}

/** Machine ids and enterprise codes are Sparkplug ids: letters, digits, '-' and '_'. */
const TARGET = /^(all|\d{1,3}(\.\d+)?%|[A-Za-z0-9_-]{1,64})$/;

export const FAULT_SPEC_HELP =
  'KIND:TARGET[:SECONDS], KIND one of offline, flap, freeze, alarm-storm, power-loss; ' +
  'TARGET a machine id, an enterprise code, "all" or a share like "5%"';

/** What is wrong with a fault request (from JSON or the command line), or undefined. */
export function faultRequestProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return 'a fault is an object {"kind", "target", "seconds"?, "periodSeconds"?}';
  }
  const o = value as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!['kind', 'target', 'seconds', 'periodSeconds'].includes(key)) return `unknown field "${key}"`;
  }
  if (typeof o.kind !== 'string' || !(FAULT_KINDS as readonly string[]).includes(o.kind)) {
    return `kind must be one of ${FAULT_KINDS.join(', ')}; got ${JSON.stringify(o.kind)}`;
  }
  if (typeof o.target !== 'string' || !TARGET.test(o.target)) {
    return `target must be a machine id, an enterprise code, "all" or a share like "5%"; got ${JSON.stringify(o.target)}`;
  }
  if (o.target.endsWith('%') && Number(o.target.slice(0, -1)) > 100) {
    return `a share is at most 100%; got ${o.target}`;
  }
  for (const key of ['seconds', 'periodSeconds'] as const) {
    const v = o[key];
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > 86_400)) {
      return `${key} must be a number of seconds above 0 and at most 86400; got ${JSON.stringify(v)}`;
    }
  }
  if (o.periodSeconds !== undefined && o.kind !== 'flap') return 'periodSeconds is for flap faults only';
  return undefined;
}

/** Checks a request and gives it its type; throws naming the problem. */
export function checkFaultRequest(value: unknown): FaultRequest {
  const problem = faultRequestProblem(value);
  if (problem !== undefined) throw new Error(`bad fault: ${problem}`);
  return value as FaultRequest;
}

/** Parses a command line spec "KIND:TARGET[:SECONDS]"; throws naming the problem and the form. */
export function parseFaultSpec(text: string): FaultRequest {
  const parts = text.split(':');
  const [kind, target, seconds] = parts;
  if (parts.length < 2 || parts.length > 3 || kind === undefined || target === undefined) {
    throw new Error(`bad fault "${text}": write ${FAULT_SPEC_HELP}`);
  }
  const request: Record<string, unknown> = { kind, target };
  if (seconds !== undefined) request.seconds = /^\d+(\.\d+)?$/.test(seconds) ? Number(seconds) : seconds;
  const problem = faultRequestProblem(request);
  if (problem !== undefined) throw new Error(`bad fault "${text}": ${problem} (${FAULT_SPEC_HELP})`);
  return request as unknown as FaultRequest;
}

/** Whether a fault's target covers a machine of an enterprise. */
export function targetMatches(target: string, machineId: string, enterpriseCode: string): boolean {
  if (target === 'all' || target === machineId || target === enterpriseCode) return true;
  if (!target.endsWith('%')) return false;
  const share = Number(target.slice(0, -1));
  return hashString(`fault-share:${machineId}`) % 10_000 < share * 100;
}

interface Held {
  readonly fault: ActiveFault;
  readonly machines: readonly SimMachine[];
}

/**
 * The machine faults in force on one set of simulated machines. apply(now) (every tick) sets
 * each faulted machine's link and pause from all faults covering it; a machine no fault covers
 * any more is given back its link and its motion.
 */
export class MachineFaults {
  readonly #machines: readonly { readonly machine: SimMachine; readonly enterpriseCode: string }[];
  readonly #held = new Map<number, Held>();
  #alarmPhase = false;

  constructor(machines: readonly { readonly machine: SimMachine; readonly enterpriseCode: string }[]) {
    this.#machines = machines;
  }

  /** Adds a fault under `id` (the caller's; one id across processes); returns the machines it matched. */
  add(id: number, request: FaultRequest, nowMs: number): ActiveFault {
    if (request.kind === 'power-loss')
      throw new Error('power-loss is a gateway fault: the simulators have none');
    if (this.#held.has(id)) throw new Error(`fault ${id} exists already`);
    const machines = this.#machines
      .filter((m) => targetMatches(request.target, m.machine.id, m.enterpriseCode))
      .map((m) => m.machine);
    const fault: ActiveFault = {
      ...request,
      id,
      matched: machines.length,
      sinceMs: nowMs,
      ...(request.seconds !== undefined ? { untilMs: nowMs + request.seconds * 1000 } : {}),
    };
    this.#held.set(id, { fault, machines });
    this.apply(nowMs);
    return fault;
  }

  /** Clears one fault, or all when id is undefined; returns how many were cleared. */
  clear(id: number | undefined, nowMs: number): number {
    const ids = id === undefined ? [...this.#held.keys()] : this.#held.has(id) ? [id] : [];
    const released = new Set<SimMachine>();
    for (const i of ids) {
      for (const m of this.#held.get(i)?.machines ?? []) released.add(m);
      this.#held.delete(i);
    }
    this.#settle(released, nowMs);
    return ids.length;
  }

  list(): ActiveFault[] {
    return [...this.#held.values()].map((h) => h.fault);
  }

  /** Ends expired faults and sets every faulted machine's link, motion and alarm for `nowMs`. */
  apply(nowMs: number): void {
    const released = new Set<SimMachine>();
    for (const [id, held] of this.#held) {
      if (held.fault.untilMs !== undefined && nowMs >= held.fault.untilMs) {
        for (const m of held.machines) released.add(m);
        this.#held.delete(id);
      }
    }
    this.#alarmPhase = !this.#alarmPhase;
    const affected = new Set(released);
    for (const held of this.#held.values()) for (const m of held.machines) affected.add(m);
    this.#settle(affected, nowMs);
  }

  #settle(machines: ReadonlySet<SimMachine>, nowMs: number): void {
    if (machines.size === 0) return;
    const down = new Set<SimMachine>();
    const frozen = new Set<SimMachine>();
    const storming = new Set<SimMachine>();
    for (const { fault, machines: covered } of this.#held.values()) {
      const set =
        fault.kind === 'offline' || (fault.kind === 'flap' && flapDown(fault, nowMs))
          ? down
          : fault.kind === 'freeze'
            ? frozen
            : fault.kind === 'alarm-storm'
              ? storming
              : undefined;
      if (set !== undefined) for (const m of covered) set.add(m);
    }
    for (const m of machines) {
      if (down.has(m)) m.disconnect();
      else m.reconnect();
      if (frozen.has(m)) m.pause();
      else m.resume();
      if (storming.has(m) && !frozen.has(m)) m.setState(this.#alarmPhase ? 'alarm' : 'running');
    }
  }
}

/** A flapping link is down in the first half of each period, counted from the fault's start. */
function flapDown(fault: ActiveFault, nowMs: number): boolean {
  const periodMs = (fault.periodSeconds ?? DEFAULT_FLAP_PERIOD_S) * 1000;
  return (nowMs - fault.sinceMs) % periodMs < periodMs / 2;
}
