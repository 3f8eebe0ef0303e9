/** Stamping or hydraulic press: stroke counter, stroke rate, peak tonnage of the last stroke, die. */
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
  { name: 'strokes', type: 'UInt32', unit: '', depth: 'state+count', description: 'strokes made (counter)' },
  { name: 'strokeRate', type: 'Double', unit: '1/min', depth: 'full', description: 'strokes per minute' },
  { name: 'tonnage', type: 'Double', unit: 't', depth: 'full', description: 'peak force of the last stroke' },
  { name: 'dieId', type: 'String', unit: '', depth: 'full', description: 'mounted die' },
  ...ALARM_SIGNALS,
];

const ALARMS: readonly Alarm[] = [
  { number: 11, text: '过载保护动作' },
  { number: 23, text: '双手按钮未同时按下' },
  { number: 37, text: '模具检测异常' },
  { number: 42, text: '润滑压力过低' },
  { number: 58, text: '光幕保护触发' },
];

class PressProcess implements Process {
  private strokes: number;
  private capacity: number;
  private dieId = '';
  private rateSet = 0;
  private loadFraction = 0;
  private progress = 0;
  private strokeRate = 0;
  private tonnage = 0;

  constructor(private readonly rng: Random) {
    this.strokes = rng.int(0, 2_000_000);
    this.capacity = rng.pick([63, 80, 110, 160, 200, 260, 315]);
    this.newDie();
  }

  private newDie(): void {
    const r = this.rng;
    this.dieId = `D-${r.int(100, 899)}`;
    this.rateSet = r.int(12, 60);
    this.loadFraction = r.range(0.45, 0.85);
  }

  onEnter(state: SimState, prev: SimState | undefined): void {
    if (state === 'running' && prev === 'stopped' && this.rng.chance(0.3)) this.newDie();
  }

  evolve(state: SimState, dtMs: number): undefined {
    if (state !== 'running') {
      this.strokeRate = 0;
      return undefined;
    }
    const r = this.rng;
    this.strokeRate = Math.max(0, this.rateSet * (1 + r.normal(0, 0.02)));
    // Strokes accumulate fractionally so that short ticks still add up to the right count.
    this.progress += (this.rateSet * dtMs) / 60_000;
    const whole = Math.floor(this.progress);
    if (whole > 0) {
      this.progress -= whole;
      this.strokes += whole;
      this.tonnage = this.capacity * this.loadFraction * (1 + r.normal(0, 0.03));
    }
    return undefined;
  }

  read(): Record<string, SignalValue> {
    return {
      strokes: this.strokes,
      strokeRate: round(this.strokeRate, 1),
      tonnage: round(this.tonnage, 1),
      dieId: this.dieId,
    };
  }
}

export const pressProfile: Profile = stateMachineProfile(
  'press',
  SIGNALS,
  ALARMS,
  (rng) => new PressProcess(rng),
);
