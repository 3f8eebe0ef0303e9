/**
 * Injection moulding machine, EUROMAP 77 (OPC 40077) flavour. machineStatus borrows the
 * EUROMAP 77 MachineModeEnumeration: 0 OTHER, 1 AUTOMATIC, 2 SEMI_AUTOMATIC, 3 MANUAL,
 * 4 SETUP, 5 SLEEP. Alarm texts are in Chinese, as on the HMI of a domestic machine.
 */
import type { Random } from '../random.js';
import type { SimState } from '../state-code.js';
import {
  ALARM_SIGNALS,
  type Alarm,
  approach,
  type Process,
  round,
  STATE_SIGNALS,
  stateMachineProfile,
} from './base.js';
import type { Profile, SignalSpec, SignalValue } from './types.js';

const SIGNALS: readonly SignalSpec[] = [
  ...STATE_SIGNALS,
  { name: 'shotCount', type: 'UInt32', unit: '', depth: 'state+count', description: 'shots (cycles) made' },
  {
    name: 'machineStatus',
    type: 'Int32',
    unit: '',
    depth: 'full',
    description: 'EUROMAP 77 machine mode: 0 OTHER 1 AUTOMATIC 2 SEMI_AUTOMATIC 3 MANUAL 4 SETUP 5 SLEEP',
  },
  { name: 'cycleTime', type: 'Double', unit: 's', depth: 'full', description: 'last cycle time' },
  { name: 'barrelTemp1', type: 'Double', unit: 'Cel', depth: 'full', description: 'barrel zone 1 (feed)' },
  { name: 'barrelTemp2', type: 'Double', unit: 'Cel', depth: 'full', description: 'barrel zone 2' },
  { name: 'barrelTemp3', type: 'Double', unit: 'Cel', depth: 'full', description: 'barrel zone 3 (nozzle)' },
  {
    name: 'injectionPressure',
    type: 'Double',
    unit: 'bar',
    depth: 'full',
    description: 'peak pressure, last shot',
  },
  { name: 'mouldId', type: 'String', unit: '', depth: 'full', description: 'mounted mould' },
  ...ALARM_SIGNALS,
];

const ALARMS: readonly Alarm[] = [
  { number: 101, text: '安全门未关闭' },
  { number: 205, text: '料筒温度过低' },
  { number: 310, text: '模具温度异常' },
  { number: 412, text: '顶针未退回' },
  { number: 520, text: '润滑油位过低' },
  { number: 631, text: '射胶压力超限' },
];

const MODE: Readonly<Record<SimState, number>> = {
  running: 1,
  idle: 3,
  stopped: 4,
  alarm: 0,
  powered_off: 5,
};
const AMBIENT = 25;
const HEAT_TAU_MS = 5 * 60_000;
const COOL_TAU_MS = 25 * 60_000;

class InjectionProcess implements Process {
  private shotCount: number;
  private mouldId = '';
  private setpoints: [number, number, number] = [0, 0, 0];
  private temps: [number, number, number];
  private cycleSetMs = 0;
  private pressureSet = 0;
  private progressMs = 0;
  private cycleTime = 0;
  private pressure = 0;

  constructor(private readonly rng: Random) {
    this.shotCount = rng.int(0, 500_000);
    this.newMould();
    this.temps = [...this.setpoints];
  }

  private newMould(): void {
    const r = this.rng;
    this.mouldId = `M-${r.int(1000, 4999)}`;
    const base = r.int(18, 26) * 10;
    this.setpoints = [base - 20, base, base + 10];
    this.cycleSetMs = r.int(150, 600) * 100;
    this.pressureSet = r.int(60, 140) * 10;
  }

  onEnter(state: SimState, prev: SimState | undefined): void {
    // Mould changes happen during set-up.
    if (state === 'running' && prev === 'stopped' && this.rng.chance(0.25)) this.newMould();
    if (prev === undefined && state === 'powered_off') this.temps = [AMBIENT, AMBIENT, AMBIENT];
  }

  evolve(state: SimState, dtMs: number): undefined {
    const r = this.rng;
    const heating = state !== 'powered_off' && state !== 'stopped';
    for (let i = 0; i < 3; i++) {
      const target = heating ? (this.setpoints[i] ?? AMBIENT) : AMBIENT;
      const next = approach(this.temps[i] ?? AMBIENT, target, dtMs, heating ? HEAT_TAU_MS : COOL_TAU_MS);
      this.temps[i] = next + r.normal(0, 0.3);
    }
    if (state !== 'running') {
      this.pressure = 0;
      return undefined;
    }
    this.progressMs += dtMs;
    while (this.progressMs >= this.cycleSetMs) {
      this.progressMs -= this.cycleSetMs;
      this.shotCount++;
      this.cycleTime = (this.cycleSetMs / 1000) * (1 + r.normal(0, 0.01));
      this.pressure = this.pressureSet * (1 + r.normal(0, 0.02));
    }
    return undefined;
  }

  read(state: SimState): Record<string, SignalValue> {
    return {
      shotCount: this.shotCount,
      machineStatus: MODE[state],
      cycleTime: round(this.cycleTime, 2),
      barrelTemp1: round(this.temps[0], 1),
      barrelTemp2: round(this.temps[1], 1),
      barrelTemp3: round(this.temps[2], 1),
      injectionPressure: round(this.pressure, 1),
      mouldId: this.mouldId,
    };
  }
}

export const injectionProfile: Profile = stateMachineProfile(
  'injection',
  SIGNALS,
  ALARMS,
  (rng) => new InjectionProcess(rng),
);
