import type { MachineKind } from '../../protocol/machine.js';
import { cncProfile } from './cnc.js';
import { injectionProfile } from './injection.js';
import { loomProfile } from './loom.js';
import { pressProfile } from './press.js';
import { robotProfile } from './robot.js';
import type { Profile } from './types.js';

export type { MachineModel, Profile, SignalSpec, SignalType, SignalValue } from './types.js';

/** The kinds the simulator can play ('other' has no profile). */
export type SimKind = Exclude<MachineKind, 'other'>;
export const SIM_KINDS: readonly SimKind[] = ['cnc', 'injection', 'press', 'loom', 'robot'];

export const PROFILES: Readonly<Record<SimKind, Profile>> = {
  cnc: cncProfile,
  injection: injectionProfile,
  press: pressProfile,
  loom: loomProfile,
  robot: robotProfile,
};

export function isSimKind(value: unknown): value is SimKind {
  return typeof value === 'string' && (SIM_KINDS as readonly string[]).includes(value);
}
