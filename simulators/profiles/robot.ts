/** Industrial robot in a welding cell: program, cycle counter, welding current and voltage. */
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
  { name: 'cycleCount', type: 'UInt32', unit: '', depth: 'state+count', description: 'cycles completed' },
  { name: 'program', type: 'String', unit: '', depth: 'full', description: 'selected job / program' },
  { name: 'weldCurrent', type: 'Double', unit: 'A', depth: 'full', description: 'welding current' },
  { name: 'weldVoltage', type: 'Double', unit: 'V', depth: 'full', description: 'arc voltage' },
  ...ALARM_SIGNALS,
];

const ALARMS: readonly Alarm[] = [
  { number: 1001, text: 'SRVO-001 Operator panel E-stop' },
  { number: 1050, text: 'SRVO-050 Collision Detect alarm' },
  { number: 3020, text: 'ARC-020 Arc start failed' },
  { number: 3034, text: 'ARC-034 Wire stick detected' },
  { number: 4001, text: 'INTP-001 Cannot lock the motion grp' },
];

/** The arc burns for part of each cycle; the robot moves between welds the rest of the time. */
const ARC_SHARE = 0.6;

class RobotProcess implements Process {
  private cycleCount: number;
  private program = '';
  private cycleMs = 0;
  private currentSet = 0;
  private voltageSet = 0;
  private progressMs = 0;
  private current = 0;
  private voltage = 0;

  constructor(private readonly rng: Random) {
    this.cycleCount = rng.int(0, 300_000);
    this.newJob();
  }

  private newJob(): void {
    const r = this.rng;
    this.program = `WELD_${String(r.int(1, 40)).padStart(3, '0')}`;
    this.cycleMs = r.int(20, 120) * 1000;
    this.currentSet = r.int(12, 30) * 10;
    this.voltageSet = 14 + this.currentSet * 0.05;
  }

  onEnter(state: SimState, prev: SimState | undefined): void {
    if (state === 'running' && prev === 'stopped' && this.rng.chance(0.3)) this.newJob();
  }

  evolve(state: SimState, dtMs: number): undefined {
    if (state !== 'running') {
      this.current = 0;
      this.voltage = 0;
      return undefined;
    }
    this.progressMs += dtMs;
    while (this.progressMs >= this.cycleMs) {
      this.progressMs -= this.cycleMs;
      this.cycleCount++;
    }
    const r = this.rng;
    const arcOn = this.progressMs / this.cycleMs < ARC_SHARE;
    this.current = arcOn ? this.currentSet * (1 + r.normal(0, 0.03)) : 0;
    this.voltage = arcOn ? this.voltageSet * (1 + r.normal(0, 0.02)) : 0;
    return undefined;
  }

  read(): Record<string, SignalValue> {
    return {
      cycleCount: this.cycleCount,
      program: this.program,
      weldCurrent: round(this.current, 0),
      weldVoltage: round(this.voltage, 1),
    };
  }
}

export const robotProfile: Profile = stateMachineProfile(
  'robot',
  SIGNALS,
  ALARMS,
  (rng) => new RobotProcess(rng),
);
