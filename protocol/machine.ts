/**
 * Machine vocabulary shared by gateway, hub and simulators (docs/domain.md).
 */

/** A machine's state. `offline` comes from the transport, the rest from machine signals. */
export const MACHINE_STATES = ['offline', 'alarm', 'running', 'idle', 'stopped', 'powered_off'] as const;
export type MachineState = (typeof MACHINE_STATES)[number];

/** Chinese labels used by the bureau's reports. */
export const MACHINE_STATE_ZH: Readonly<Record<MachineState, string>> = {
  offline: '离线',
  alarm: '报警',
  running: '运行',
  idle: '待机',
  stopped: '停机',
  powered_off: '关机',
};

/**
 * Priority when signals disagree: offline > alarm > running > idle > stopped.
 * `powered_off` ranks below `stopped`: a machine known to be off is the quietest state.
 */
const PRIORITY: Readonly<Record<MachineState, number>> = {
  offline: 5,
  alarm: 4,
  running: 3,
  idle: 2,
  stopped: 1,
  powered_off: 0,
};

/** The state that wins when several signals each suggest one (empty input → undefined). */
export function dominantState(states: Iterable<MachineState>): MachineState | undefined {
  let best: MachineState | undefined;
  for (const s of states) {
    if (best === undefined || PRIORITY[s] > PRIORITY[best]) best = s;
  }
  return best;
}

export function isMachineState(value: unknown): value is MachineState {
  return typeof value === 'string' && (MACHINE_STATES as readonly string[]).includes(value);
}

/** Kinds of machine the programme counts (docs/domain.md). */
export const MACHINE_KINDS = ['cnc', 'injection', 'press', 'loom', 'robot', 'other'] as const;
export type MachineKind = (typeof MACHINE_KINDS)[number];

export function isMachineKind(value: unknown): value is MachineKind {
  return typeof value === 'string' && (MACHINE_KINDS as readonly string[]).includes(value);
}

/**
 * How much a machine tells us: older machines only expose a stack light ("state"),
 * or a stack light and a part counter ("state+count"); "full" means process signals too.
 */
export const DATA_DEPTHS = ['state', 'state+count', 'full'] as const;
export type DataDepth = (typeof DATA_DEPTHS)[number];

export function isDataDepth(value: unknown): value is DataDepth {
  return typeof value === 'string' && (DATA_DEPTHS as readonly string[]).includes(value);
}
