/**
 * Loom (air-jet / rapier weaving; a knitting machine reads the same). Frequent short stops on
 * warp or weft breaks are the loom's alarms; an empty warp beam stops it until the beam is changed.
 * stopCause: 0 none (running), 1 warp break, 2 weft break, 3 manual stop, 4 beam out, 5 power off.
 */
import type { Random } from '../random.js';
import type { SimState } from '../state-code.js';
import {
  ALARM_SIGNALS,
  type Alarm,
  DEFAULT_TRANSITIONS,
  type Process,
  round,
  STATE_SIGNALS,
  stateMachineProfile,
  type TransitionTable,
} from './base.js';
import type { Profile, SignalSpec, SignalValue } from './types.js';

const SIGNALS: readonly SignalSpec[] = [
  ...STATE_SIGNALS,
  { name: 'picks', type: 'UInt32', unit: '', depth: 'state+count', description: 'weft insertions (counter)' },
  { name: 'rpm', type: 'Double', unit: 'rpm', depth: 'full', description: 'main shaft speed' },
  {
    name: 'stopCause',
    type: 'Int32',
    unit: '',
    depth: 'full',
    description: '0 none, 1 warp break, 2 weft break, 3 manual, 4 beam out, 5 power off',
  },
  {
    name: 'efficiency',
    type: 'Double',
    unit: '%',
    depth: 'full',
    description: 'running ÷ powered-on time, 1 h',
  },
  { name: 'beamRemaining', type: 'Double', unit: 'm', depth: 'full', description: 'warp left on the beam' },
  ...ALARM_SIGNALS,
];

const WARP = 1;
const WEFT = 2;
const MANUAL = 3;
const BEAM_OUT = 4;
const POWER_OFF = 5;

const ALARMS: readonly Alarm[] = [
  { number: 101, text: '经纱断头' },
  { number: 102, text: '纬纱断头' },
  { number: 103, text: '布边纱断头' },
  { number: 104, text: '储纬器故障' },
];

const MINUTE = 60_000;

/** Looms stop often and briefly: a weaver ties a broken end in about a minute. */
const TRANSITIONS: TransitionTable = {
  ...DEFAULT_TRANSITIONS,
  running: {
    meanMs: 6 * MINUTE,
    next: [
      ['alarm', 0.75],
      ['idle', 0.15],
      ['stopped', 0.1],
    ],
  },
  alarm: {
    meanMs: 1 * MINUTE,
    next: [
      ['running', 0.8],
      ['idle', 0.2],
    ],
  },
};

const EFFICIENCY_WINDOW_MS = 60 * MINUTE;
const BEAM_LENGTH_M = 3000;

class LoomProcess implements Process {
  private picks: number;
  private rpmSet: number;
  private picksPerMetre: number;
  private beamRemaining: number;
  private efficiency: number;
  private stopCause = 0;
  private rpm = 0;
  private pickFraction = 0;

  constructor(private readonly rng: Random) {
    this.picks = rng.int(0, 50_000_000);
    this.rpmSet = rng.int(45, 90) * 10;
    this.picksPerMetre = rng.int(20, 60) * 100;
    this.beamRemaining = rng.range(50, BEAM_LENGTH_M);
    this.efficiency = rng.range(70, 92);
  }

  onEnter(state: SimState, _prev: SimState | undefined, alarm: Alarm | undefined): void {
    // A new beam goes in before the loom runs again after running out.
    if (state !== 'stopped' && state !== 'powered_off' && this.beamRemaining <= 0) {
      this.beamRemaining = BEAM_LENGTH_M;
    }
    if (state === 'running') this.stopCause = 0;
    else if (state === 'alarm') this.stopCause = alarm?.number === 101 || alarm?.number === 103 ? WARP : WEFT;
    else if (state === 'powered_off') this.stopCause = POWER_OFF;
    else if (state === 'stopped' && this.beamRemaining <= 0) this.stopCause = BEAM_OUT;
    else this.stopCause = MANUAL;
  }

  evolve(state: SimState, dtMs: number): SimState | undefined {
    const r = this.rng;
    if (state !== 'powered_off') {
      const runningShare = state === 'running' ? 100 : 0;
      const w = Math.min(1, dtMs / EFFICIENCY_WINDOW_MS);
      this.efficiency += (runningShare - this.efficiency) * w;
    }
    if (state !== 'running') {
      this.rpm = 0;
      return undefined;
    }
    this.rpm = this.rpmSet * (1 + r.normal(0, 0.005));
    this.pickFraction += (this.rpmSet * dtMs) / MINUTE;
    const whole = Math.floor(this.pickFraction);
    this.pickFraction -= whole;
    this.picks += whole;
    this.beamRemaining -= whole / this.picksPerMetre;
    if (this.beamRemaining <= 0) {
      this.beamRemaining = 0;
      return 'stopped';
    }
    return undefined;
  }

  read(): Record<string, SignalValue> {
    return {
      picks: this.picks >>> 0,
      rpm: round(this.rpm, 0),
      stopCause: this.stopCause,
      efficiency: round(this.efficiency, 1),
      beamRemaining: round(this.beamRemaining, 1),
    };
  }
}

export const loomProfile: Profile = stateMachineProfile(
  'loom',
  SIGNALS,
  ALARMS,
  (rng) => new LoomProcess(rng),
  TRANSITIONS,
);
