/** How a machine's state follows from its tags (docs/domain.md "Machine states"). */
import { dominantState, type MachineState, type MetricValue } from '../protocol/index.js';
import type { Quality } from '../protocol/quality.js';
import type { StateConfig } from './config/schema.js';

export interface TagReading {
  readonly value: MetricValue;
  readonly quality: Quality;
}

/** The readings of a machine's tags by tag name (a Map fits). */
export interface TagReadings {
  get(tag: string): TagReading | undefined;
}

/** The key a tag value is looked up under in a state map: 3, 3.0 and "3" are all "3". */
export function stateKey(value: MetricValue): string | undefined {
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean')
    return String(value);
  if (typeof value === 'string') return value.trim();
  return undefined;
}

function lit(r: TagReading | undefined): boolean | undefined {
  if (r === undefined || r.quality === 'bad' || r.value === null) return undefined;
  if (typeof r.value === 'boolean') return r.value;
  if (typeof r.value === 'number') return r.value !== 0;
  if (typeof r.value === 'bigint') return r.value !== 0n;
  return undefined;
}

const LAMP_STATE = { red: 'alarm', green: 'running', yellow: 'idle' } as const satisfies Record<
  string,
  MachineState
>;

/**
 * The state the readings say, or undefined when they say nothing (no good reading yet, or a
 * value the map does not list and no `default`). Never `offline`: that comes from transport.
 */
export function deriveState(config: StateConfig, readings: TagReadings): MachineState | undefined {
  if ('tag' in config) {
    const r = readings.get(config.tag);
    if (r === undefined || r.quality === 'bad' || r.value === null) return undefined;
    const key = stateKey(r.value);
    const mapped = key === undefined ? undefined : config.map[key];
    return mapped ?? config.default;
  }
  let known = false;
  const states: MachineState[] = [];
  for (const colour of ['red', 'yellow', 'green'] as const) {
    const tag = config.stackLight[colour];
    if (tag === undefined) continue;
    const on = lit(readings.get(tag));
    if (on === undefined) continue;
    known = true;
    if (on) states.push(LAMP_STATE[colour]);
  }
  if (!known) return undefined;
  return dominantState(states) ?? 'stopped';
}
