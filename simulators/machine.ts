/**
 * One simulated machine: a profile's model driven by the tick times passed in, with test hooks
 * (pinned values, pause, disconnect). The wire servers read it; it never does I/O itself.
 */
import type { DataDepth } from '../protocol/machine.js';
import { PROFILES, type SimKind } from './profiles/index.js';
import {
  depthIncludes,
  type MachineModel,
  type SignalSpec,
  type SignalValue,
  valueTypeProblem,
} from './profiles/types.js';
import { Random } from './random.js';
import type { SimState } from './state-code.js';

export interface SimMachineOptions {
  readonly id: string;
  readonly kind: SimKind;
  readonly seed: number;
  /** Which signals the machine exposes (default 'full'). */
  readonly dataDepth?: DataDepth;
}

/** The signals a machine of this kind exposes at this data depth, in profile order. */
export function machineSignals(kind: SimKind, dataDepth: DataDepth = 'full'): readonly SignalSpec[] {
  return PROFILES[kind].signals.filter((s) => depthIncludes(dataDepth, s.depth));
}

export class SimMachine {
  readonly id: string;
  readonly kind: SimKind;
  readonly seed: number;
  readonly dataDepth: DataDepth;
  /** The signals this machine exposes, in profile order. */
  readonly signals: readonly SignalSpec[];
  private readonly specs: ReadonlyMap<string, SignalSpec>;
  private readonly model: MachineModel;
  private readonly pinned = new Map<string, SignalValue>();
  /** The model's last read, dropped whenever the model moves (reads are frequent, ticks not). */
  private readCache: Record<string, SignalValue> | undefined;
  private lastTick: number | undefined;
  private isPaused = false;
  private isConnected = true;
  /** Told after anything a client could read changed (servers that push values, onChange). */
  private readonly listeners = new Set<() => void>();

  constructor(options: SimMachineOptions) {
    this.id = options.id;
    this.kind = options.kind;
    this.seed = options.seed >>> 0;
    this.dataDepth = options.dataDepth ?? 'full';
    const profile = PROFILES[options.kind];
    this.signals = machineSignals(options.kind, this.dataDepth);
    this.specs = new Map(this.signals.map((s) => [s.name, s]));
    this.model = profile.create(new Random(this.seed));
  }

  /**
   * Advances the machine to nowMs. The first tick only sets the time base; a tick earlier than
   * the last one is ignored. While paused, time passes without the machine evolving.
   */
  tick(nowMs: number): void {
    if (this.lastTick === undefined || nowMs <= this.lastTick) {
      this.lastTick ??= nowMs;
      return;
    }
    const dt = nowMs - this.lastTick;
    this.lastTick = nowMs;
    if (this.isPaused) return;
    this.model.advance(dt);
    this.readCache = undefined;
    this.changed();
  }

  /**
   * Calls `listener` after every change a client could read (a tick, a forced state, a pinned
   * signal, a disconnect or reconnect); returns what removes it. A server that pushes values
   * (OPC UA exception-based monitored items) reads the machine then.
   */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }

  /** Time of the last tick (ms), or undefined before the first. */
  get lastTickMs(): number | undefined {
    return this.lastTick;
  }

  /** The model's state (a pinned `state` signal does not change it; use setState). */
  get state(): SimState {
    return this.model.state;
  }

  /** Forces a state now, as an operator or a fault would. */
  setState(state: SimState): void {
    this.model.enter(state);
    this.readCache = undefined;
    this.changed();
  }

  private modelValues(): Record<string, SignalValue> {
    this.readCache ??= this.model.read();
    return this.readCache;
  }

  /** Every exposed signal's current value (pinned values win). */
  values(): Record<string, SignalValue> {
    const all = this.modelValues();
    const out: Record<string, SignalValue> = {};
    for (const s of this.signals) {
      const v = this.pinned.get(s.name) ?? all[s.name];
      if (v !== undefined) out[s.name] = v;
    }
    return out;
  }

  /** One signal's value, or undefined if the machine does not expose it. */
  value(signal: string): SignalValue | undefined {
    if (!this.specs.has(signal)) return undefined;
    return this.pinned.get(signal) ?? this.modelValues()[signal];
  }

  spec(signal: string): SignalSpec | undefined {
    return this.specs.get(signal);
  }

  /** Pins a signal to a value until clearSignal (tests: "the store holds what was served"). */
  setSignal(signal: string, value: SignalValue): void {
    const spec = this.specs.get(signal);
    if (spec === undefined) throw new Error(`machine ${this.id} has no signal "${signal}"`);
    const problem = valueTypeProblem(spec.type, value);
    if (problem !== undefined) {
      throw new Error(
        `machine ${this.id}: ${signal} is ${spec.type}, ${problem}; got ${JSON.stringify(value)}`,
      );
    }
    this.pinned.set(signal, value);
    this.changed();
  }

  clearSignal(signal: string): void {
    if (this.pinned.delete(signal)) this.changed();
  }

  clearSignals(): void {
    if (this.pinned.size === 0) return;
    this.pinned.clear();
    this.changed();
  }

  pause(): void {
    this.isPaused = true;
  }

  resume(): void {
    this.isPaused = false;
  }

  get paused(): boolean {
    return this.isPaused;
  }

  /** The machine keeps running but stops answering on the wire (cable pulled, device hung). */
  disconnect(): void {
    if (!this.isConnected) return;
    this.isConnected = false;
    this.changed();
  }

  reconnect(): void {
    if (this.isConnected) return;
    this.isConnected = true;
    this.changed();
  }

  get connected(): boolean {
    return this.isConnected;
  }
}
