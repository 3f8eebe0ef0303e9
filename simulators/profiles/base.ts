/**
 * The state machine every profile shares: dwell times, transitions, alarms, the stack light and
 * the state code. A profile supplies a Process (its own signals) and a transition table.
 */
import type { MachineKind } from '../../protocol/machine.js';
import type { Random } from '../random.js';
import { type SimState, STATE_CODE, STATE_SIGNAL } from '../state-code.js';
import type { MachineModel, Profile, SignalSpec, SignalValue } from './types.js';

export interface Alarm {
  readonly number: number;
  readonly text: string;
}

export interface Transition {
  /** Mean time spent in the state (exponentially distributed, at least MIN_DWELL_MS). */
  readonly meanMs: number;
  /** Where the machine goes next, with weights. */
  readonly next: readonly (readonly [SimState, number])[];
}

export type TransitionTable = Readonly<Record<SimState, Transition>>;

const MINUTE = 60_000;

/** Demo-friendly dwell times: a fleet of 100 machines changes state every few seconds. */
export const DEFAULT_TRANSITIONS: TransitionTable = {
  powered_off: { meanMs: 20 * MINUTE, next: [['stopped', 1]] },
  stopped: {
    meanMs: 4 * MINUTE,
    next: [
      ['idle', 0.6],
      ['running', 0.3],
      ['powered_off', 0.1],
    ],
  },
  idle: {
    meanMs: 3 * MINUTE,
    next: [
      ['running', 0.85],
      ['stopped', 0.15],
    ],
  },
  running: {
    meanMs: 12 * MINUTE,
    next: [
      ['idle', 0.6],
      ['alarm', 0.3],
      ['stopped', 0.1],
    ],
  },
  alarm: {
    meanMs: 2 * MINUTE,
    next: [
      ['idle', 0.7],
      ['stopped', 0.3],
    ],
  },
};

/** Where a freshly created machine starts: mostly running, as a factory at 10:00 would be. */
const INITIAL_STATE: readonly (readonly [SimState, number])[] = [
  ['running', 0.55],
  ['idle', 0.15],
  ['stopped', 0.1],
  ['alarm', 0.05],
  ['powered_off', 0.15],
];

export const MIN_DWELL_MS = 5_000;
/** A single advance covers at most this much machine time; a longer gap is skipped, not replayed. */
export const MAX_ADVANCE_MS = 6 * 60 * MINUTE;

/** Signals every machine has, whatever its data depth. */
export const STATE_SIGNALS: readonly SignalSpec[] = [
  {
    name: STATE_SIGNAL,
    type: 'Int32',
    unit: '',
    depth: 'state',
    description: 'state code: 0 powered_off, 1 stopped, 2 idle, 3 running, 4 alarm',
  },
  { name: 'lampRed', type: 'Boolean', unit: '', depth: 'state', description: 'stack light red (alarm)' },
  { name: 'lampYellow', type: 'Boolean', unit: '', depth: 'state', description: 'stack light yellow (idle)' },
  {
    name: 'lampGreen',
    type: 'Boolean',
    unit: '',
    depth: 'state',
    description: 'stack light green (running)',
  },
];

/** Alarm signals; 0 and '' when no alarm is active. */
export const ALARM_SIGNALS: readonly SignalSpec[] = [
  {
    name: 'alarmNumber',
    type: 'Int32',
    unit: '',
    depth: 'full',
    description: 'active alarm number, 0 if none',
  },
  {
    name: 'alarmText',
    type: 'String',
    unit: '',
    depth: 'full',
    description: "active alarm text, '' if none",
  },
];

/** What a profile adds to the shared state machine. */
export interface Process {
  /** Called on every state change, and once at creation with prev = undefined. */
  onEnter(state: SimState, prev: SimState | undefined, alarm: Alarm | undefined): void;
  /** Evolves the process for dtMs in `state`; may ask for a state change (e.g. beam empty). */
  evolve(state: SimState, dtMs: number): SimState | undefined;
  /** The profile's own signal values. Must not use randomness. */
  read(state: SimState): Record<string, SignalValue>;
}

export class StateMachineModel implements MachineModel {
  private current: SimState;
  private timeLeftMs: number;
  private alarm: Alarm | undefined;

  constructor(
    private readonly rng: Random,
    private readonly transitions: TransitionTable,
    private readonly alarms: readonly Alarm[],
    private readonly process: Process,
  ) {
    this.current = rng.weighted(INITIAL_STATE);
    this.timeLeftMs = this.dwell(this.current);
    this.alarm = this.current === 'alarm' ? rng.pick(alarms) : undefined;
    process.onEnter(this.current, undefined, this.alarm);
  }

  get state(): SimState {
    return this.current;
  }

  advance(dtMs: number): void {
    let left = Math.min(Math.max(0, dtMs), MAX_ADVANCE_MS);
    while (left > 0) {
      const segment = Math.min(left, this.timeLeftMs);
      const requested = this.process.evolve(this.current, segment);
      left -= segment;
      this.timeLeftMs -= segment;
      if (requested !== undefined && requested !== this.current) this.enter(requested);
      else if (this.timeLeftMs <= 0) this.enter(this.rng.weighted(this.transitions[this.current].next));
    }
  }

  enter(state: SimState): void {
    const prev = this.current;
    this.current = state;
    this.timeLeftMs = this.dwell(state);
    this.alarm = state === 'alarm' ? this.rng.pick(this.alarms) : undefined;
    this.process.onEnter(state, prev, this.alarm);
  }

  read(): Record<string, SignalValue> {
    const s = this.current;
    return {
      [STATE_SIGNAL]: STATE_CODE[s],
      lampRed: s === 'alarm',
      lampYellow: s === 'idle',
      lampGreen: s === 'running',
      alarmNumber: this.alarm?.number ?? 0,
      alarmText: this.alarm?.text ?? '',
      ...this.process.read(s),
    };
  }

  private dwell(state: SimState): number {
    return Math.max(MIN_DWELL_MS, Math.round(this.rng.exponential(this.transitions[state].meanMs)));
  }
}

/**
 * A profile played by the shared state machine: each machine it creates gets its own process,
 * built on a fork of the machine's random stream.
 */
export function stateMachineProfile(
  kind: MachineKind,
  signals: readonly SignalSpec[],
  alarms: readonly Alarm[],
  newProcess: (rng: Random) => Process,
  transitions: TransitionTable = DEFAULT_TRANSITIONS,
): Profile {
  return {
    kind,
    signals,
    create: (rng: Random): MachineModel =>
      new StateMachineModel(rng, transitions, alarms, newProcess(rng.fork())),
  };
}

/** Rounds to a number of decimals (displayed values look like a controller's, not like noise). */
export function round(value: number, decimals: number): number {
  const f = 10 ** decimals;
  return Math.round(value * f) / f;
}

/** First-order approach of `value` towards `target` over dtMs with time constant tauMs. */
export function approach(value: number, target: number, dtMs: number, tauMs: number): number {
  return target + (value - target) * Math.exp(-dtMs / tauMs);
}

/** Adds noise to a process value that is off (0) when the machine is not running. */
export function noisy(rng: Random, value: number, relativeSd: number): number {
  return value === 0 ? 0 : value * (1 + rng.normal(0, relativeSd));
}
