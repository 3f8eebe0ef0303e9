import type { DataDepth, MachineKind } from '../../protocol/machine.js';
import type { DataTypeName } from '../../protocol/sparkplug/datatype.js';
import type { Random } from '../random.js';
import type { SimState } from '../state-code.js';

/** The Sparkplug datatypes simulator signals use. */
export type SignalType = Extract<
  DataTypeName,
  'Boolean' | 'Int16' | 'Int32' | 'UInt16' | 'UInt32' | 'Float' | 'Double' | 'String'
>;

export type SignalValue = number | boolean | string;

export interface SignalSpec {
  /** lowerCamelCase; published by gateways as "Signals/<name>". */
  readonly name: string;
  readonly type: SignalType;
  /** Engineering unit (UCUM-ish: 'rpm', '%', 'mm/min', 's', 'Cel', 'bar', 't', 'm'); '' if none. */
  readonly unit: string;
  readonly description: string;
  /**
   * The smallest data depth at which a machine exposes this signal: 'state' signals (state code,
   * stack light) are on every machine, 'state+count' adds the production counter, 'full' the rest.
   */
  readonly depth: DataDepth;
}

/** A machine's process model: a state machine plus the signals it drives. */
export interface MachineModel {
  readonly state: SimState;
  /** Advances the model by dtMs milliseconds of machine time. */
  advance(dtMs: number): void;
  /** Forces a state now (as if an operator or a fault did it). */
  enter(state: SimState): void;
  /** Current signal values. Must not consume randomness: reads never change what comes next. */
  read(): Record<string, SignalValue>;
}

export interface Profile {
  readonly kind: MachineKind;
  /** Every signal, in a stable order (state and stack light first). */
  readonly signals: readonly SignalSpec[];
  create(rng: Random): MachineModel;
}

const DEPTH_RANK: Readonly<Record<DataDepth, number>> = { state: 0, 'state+count': 1, full: 2 };

/** True when a machine with `machineDepth` exposes a signal of `signalDepth`. */
export function depthIncludes(machineDepth: DataDepth, signalDepth: DataDepth): boolean {
  return DEPTH_RANK[signalDepth] <= DEPTH_RANK[machineDepth];
}

export function isIntegerType(type: SignalType): boolean {
  return type === 'Int16' || type === 'Int32' || type === 'UInt16' || type === 'UInt32';
}

/** Why a value does not fit a signal type, or undefined when it does. */
export function valueTypeProblem(type: SignalType, value: SignalValue): string | undefined {
  if (type === 'Boolean') return typeof value === 'boolean' ? undefined : 'expected a boolean';
  if (type === 'String') return typeof value === 'string' ? undefined : 'expected a string';
  if (typeof value !== 'number' || !Number.isFinite(value)) return 'expected a finite number';
  if (!isIntegerType(type)) return undefined;
  if (!Number.isInteger(value)) return 'expected an integer';
  const [min, max] = INTEGER_RANGE[type as 'Int16' | 'Int32' | 'UInt16' | 'UInt32'];
  return value < min || value > max ? `out of range ${min}..${max}` : undefined;
}

const INTEGER_RANGE = {
  Int16: [-32768, 32767],
  UInt16: [0, 65535],
  Int32: [-2147483648, 2147483647],
  UInt32: [0, 4294967295],
} as const;
