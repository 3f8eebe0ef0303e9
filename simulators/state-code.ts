/**
 * The numeric state code every simulated machine serves as its `state` signal (Int32), on
 * OPC UA and at holding register 0 on Modbus. One mapping for all profiles, so a gateway can
 * turn it into a MachineState with a single lookup table:
 *
 * | code | state        |
 * | ---- | ------------ |
 * | 0    | powered_off  |
 * | 1    | stopped      |
 * | 2    | idle         |
 * | 3    | running      |
 * | 4    | alarm        |
 *
 * `offline` has no code: it is what the transport says when the machine does not answer.
 */
import type { MachineState } from '../protocol/machine.js';

/** The states a simulated machine can be in (offline is the wire's business, not the machine's). */
export type SimState = Exclude<MachineState, 'offline'>;

export const SIM_STATES: readonly SimState[] = ['powered_off', 'stopped', 'idle', 'running', 'alarm'];

export const STATE_CODE: Readonly<Record<SimState, number>> = {
  powered_off: 0,
  stopped: 1,
  idle: 2,
  running: 3,
  alarm: 4,
};

/** The name of the state-code signal in every profile. */
export const STATE_SIGNAL = 'state';

export function stateCode(state: SimState): number {
  return STATE_CODE[state];
}

/** The state for a code, or undefined for a code outside 0..4. */
export function stateFromCode(code: number): SimState | undefined {
  return SIM_STATES[code];
}
