/**
 * CNC machine tool (lathe or machining centre), FANUC FOCAS flavour.
 * runState follows FOCAS ODBST.run: 0 RESET, 1 STOP, 2 HOLD, 3 START.
 */
import type { Random } from '../random.js';
import type { SimState } from '../state-code.js';
import {
  ALARM_SIGNALS,
  type Alarm,
  type Process,
  round,
  STATE_SIGNALS,
  stateMachineProfile,
} from './base.js';
import type { Profile, SignalSpec, SignalValue } from './types.js';

const SIGNALS: readonly SignalSpec[] = [
  ...STATE_SIGNALS,
  { name: 'partCount', type: 'UInt32', unit: '', depth: 'state+count', description: 'parts made (counter)' },
  {
    name: 'runState',
    type: 'Int32',
    unit: '',
    depth: 'full',
    description: 'FOCAS run: 0 RESET 1 STOP 2 HOLD 3 START',
  },
  { name: 'mode', type: 'String', unit: '', depth: 'full', description: 'MEM, MDI, JOG, EDIT or HANDLE' },
  { name: 'spindleSpeed', type: 'Double', unit: 'rpm', depth: 'full', description: 'actual spindle speed' },
  { name: 'spindleLoad', type: 'Double', unit: '%', depth: 'full', description: 'spindle load' },
  { name: 'feedRate', type: 'Double', unit: 'mm/min', depth: 'full', description: 'actual feed rate' },
  { name: 'feedOverride', type: 'Int32', unit: '%', depth: 'full', description: 'feed override switch' },
  {
    name: 'programNumber',
    type: 'Int32',
    unit: '',
    depth: 'full',
    description: 'running program (O number)',
  },
  ...ALARM_SIGNALS,
  { name: 'powerOnTime', type: 'UInt32', unit: 's', depth: 'full', description: 'total powered-on time' },
  { name: 'cuttingTime', type: 'UInt32', unit: 's', depth: 'full', description: 'total cutting time' },
];

const ALARMS: readonly Alarm[] = [
  { number: 10, text: 'PS0010 IMPROPER G-CODE' },
  { number: 411, text: 'SV0411 EXCESS ERROR (MOVING)' },
  { number: 500, text: 'OT0500 + OVERTRAVEL (SOFT 1)' },
  { number: 1241, text: 'SP1241 SPINDLE OVERLOAD' },
  { number: 2001, text: 'EX2001 AIR PRESSURE LOW' },
  { number: 2002, text: 'EX2002 COOLANT LEVEL LOW' },
  { number: 2003, text: 'EX2003 TOOL LIFE EXPIRED' },
  { number: 2004, text: 'EX2004 DOOR INTERLOCK OPEN' },
];

const RUN_STATE: Readonly<Record<SimState, number>> = {
  powered_off: 0,
  stopped: 0,
  idle: 1,
  alarm: 2,
  running: 3,
};

const OVERRIDES = [100, 100, 100, 100, 90, 110, 120, 80] as const;

class CncProcess implements Process {
  private program: number;
  private cycleMs: number;
  private speedTarget: number;
  private feedTarget: number;
  private loadBase: number;
  private override = 100;
  private mode = 'MEM';
  private progressMs = 0;
  private partCount: number;
  private powerOnS: number;
  private cuttingS: number;
  private spindleSpeed = 0;
  private spindleLoad = 0;
  private feedRate = 0;

  constructor(private readonly rng: Random) {
    this.partCount = rng.int(0, 20_000);
    this.powerOnS = rng.int(1_000_000, 30_000_000);
    this.cuttingS = Math.round(this.powerOnS * rng.range(0.3, 0.6));
    [this.program, this.cycleMs, this.speedTarget, this.feedTarget, this.loadBase] = this.newJob();
  }

  private newJob(): [number, number, number, number, number] {
    const r = this.rng;
    return [
      r.int(1000, 9999),
      r.int(30, 240) * 1000,
      r.int(8, 120) * 100,
      r.int(2, 60) * 50,
      r.range(20, 70),
    ];
  }

  onEnter(state: SimState, prev: SimState | undefined): void {
    const r = this.rng;
    if (state === 'running') {
      if ((prev === 'stopped' || prev === 'powered_off') && r.chance(0.3)) {
        [this.program, this.cycleMs, this.speedTarget, this.feedTarget, this.loadBase] = this.newJob();
        this.progressMs = 0;
      }
      this.override = r.pick(OVERRIDES);
      this.mode = 'MEM';
    } else if (state === 'idle') {
      this.mode = r.pick(['MEM', 'MEM', 'MDI', 'JOG', 'EDIT']);
    } else if (state === 'stopped') {
      this.mode = r.pick(['JOG', 'EDIT', 'HANDLE', 'MEM']);
    }
  }

  evolve(state: SimState, dtMs: number): undefined {
    if (state !== 'powered_off') this.powerOnS += dtMs / 1000;
    if (state !== 'running') {
      this.spindleSpeed = 0;
      this.spindleLoad = 0;
      this.feedRate = 0;
      return undefined;
    }
    // Cutting is most, not all, of running time (rapid moves and tool changes are not cutting).
    this.cuttingS += (dtMs / 1000) * 0.85;
    this.progressMs += (dtMs * this.override) / 100;
    while (this.progressMs >= this.cycleMs) {
      this.progressMs -= this.cycleMs;
      this.partCount++;
    }
    const r = this.rng;
    this.spindleSpeed = this.speedTarget * (1 + r.normal(0, 0.003));
    this.spindleLoad = Math.min(150, Math.max(0, r.normal(this.loadBase, 4)));
    this.feedRate = ((this.feedTarget * this.override) / 100) * (1 + r.normal(0, 0.01));
    return undefined;
  }

  read(state: SimState): Record<string, SignalValue> {
    return {
      partCount: this.partCount,
      runState: RUN_STATE[state],
      mode: this.mode,
      spindleSpeed: round(this.spindleSpeed, 0),
      spindleLoad: round(this.spindleLoad, 1),
      feedRate: round(this.feedRate, 0),
      feedOverride: this.override,
      programNumber: this.program,
      powerOnTime: Math.floor(this.powerOnS),
      cuttingTime: Math.floor(this.cuttingS),
    };
  }
}

export const cncProfile: Profile = stateMachineProfile('cnc', SIGNALS, ALARMS, (rng) => new CncProcess(rng));
