/**
 * The sampler sits between the drivers and the edge node: report by exception (per-tag
 * absolute deadband, any change for non-numbers, any change of quality), a heartbeat that
 * republishes each machine's state, the machine state derived from its tags, and the
 * machine's birth and death.
 *
 * A machine is born once its driver says it is online and every tag has reported (or after
 * `birthWaitMs`, with the missing tags null), so its birth carries real values. Samples of
 * one turn of the event loop are published together (one DDATA per machine).
 */
import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../protocol/clock.js';
import { MACHINE_METRIC, type MachineState, type MetricUpdate } from '../protocol/index.js';
import type { MachineConfig } from './config/schema.js';
import { signalName } from './northbound/device-model.js';
import { NameIndexes, Readings, Update } from './readings.js';
import { deepEqual } from './reload.js';
import type { MachineStatus, TagSample } from './southbound/types.js';
import { deriveState, type TagReadings } from './state.js';

/** Defined with the protocol (the journal keeps it too); re-exported as the sampler's output. */
export type { MetricUpdate };

/** What the sampler tells the northbound side. */
export interface SamplerOutput {
  /** A full snapshot: State and every signal (null when unknown). */
  machineBirth(machineId: string, metrics: readonly MetricUpdate[]): void;
  /** Only what changed. */
  machineData(machineId: string, metrics: readonly MetricUpdate[]): void;
  machineDeath(machineId: string, reason: string): void;
}

export interface SamplerOptions {
  readonly machines: readonly MachineConfig[];
  readonly heartbeatMs: number;
  readonly output: SamplerOutput;
  readonly clock: Clock;
  readonly logger: Logger;
  /** How long a machine that came online waits for all its tags before its birth. */
  readonly birthWaitMs?: (machine: MachineConfig) => number;
}

/**
 * A machine's tags by index, in config order: everything per tag is kept in columns (arrays
 * and typed arrays indexed by the tag's position), not in an object or map entry per tag.
 */
interface MachineRuntime {
  readonly config: MachineConfig;
  /** Tag name → index; shared by the machines with the same tag names. */
  readonly index: ReadonlyMap<string, number>;
  /** The name each tag is published under (Signals/<tag>), by index. */
  readonly metrics: readonly string[];
  readonly deadbands: Float64Array;
  /** The tags the state is derived from (indexes): only their samples can change it. */
  readonly stateTags: readonly number[];
  online: boolean;
  born: boolean;
  /** Latest readings of this online period. */
  readonly current: Readings;
  /** The current readings by tag name, for deriveState. */
  readonly currentByName: TagReadings;
  /** What the northbound side last got (filled for every tag at each birth). */
  readonly published: Readings;
  publishedState: MachineState | undefined;
  /**
   * Changes waiting for the end of this turn (the first `pendingCount`), in the order their
   * metric first changed; a later value of the same metric in the turn takes its place. One
   * list per machine, sized for every tag and the State, reused turn after turn.
   */
  readonly pending: (MetricUpdate | undefined)[];
  pendingCount: number;
  /** Per tag (and the State at index metrics.length): its position in `pending` + 1, or 0. */
  readonly pendingSlot: Int32Array;
  birthTimer: TimerHandle | undefined;
  heartbeatTimer: TimerHandle | undefined;
}

export interface MachineStatusView {
  readonly online: boolean;
  readonly born: boolean;
  readonly state: MachineState | 'offline' | undefined;
}

const defaultBirthWait = (m: MachineConfig) => Math.max(1000, 2 * m.pollIntervalMs);

function stateTagNames(config: MachineConfig): string[] {
  const s = config.state;
  if ('tag' in s) return [s.tag];
  return [s.stackLight.red, s.stackLight.yellow, s.stackLight.green].filter((t) => t !== undefined);
}

/** Tag names → their metric names, one array per distinct tag list. */
const metricLists = new WeakMap<ReadonlyMap<string, number>, readonly string[]>();

function newRuntime(config: MachineConfig, indexes: NameIndexes): MachineRuntime {
  const n = config.tags.length;
  const index = indexes.of(config.tags.map((t) => t.name));
  let metrics = metricLists.get(index);
  if (metrics === undefined) {
    metrics = config.tags.map((t) => signalName(t.name));
    metricLists.set(index, metrics);
  }
  const deadbands = new Float64Array(n);
  config.tags.forEach((t, i) => {
    deadbands[i] = t.deadband ?? 0;
  });
  const current = new Readings(n);
  return {
    config,
    index,
    metrics,
    deadbands,
    stateTags: stateTagNames(config)
      .map((t) => index.get(t))
      .filter((i) => i !== undefined),
    online: false,
    born: false,
    current,
    currentByName: {
      get: (tag) => {
        const i = index.get(tag);
        const quality = i === undefined ? undefined : current.quality(i);
        return quality === undefined ? undefined : { value: current.value(i!), quality };
      },
    },
    published: new Readings(n),
    publishedState: undefined,
    pending: new Array<MetricUpdate | undefined>(n + 1).fill(undefined),
    pendingCount: 0,
    pendingSlot: new Int32Array(n + 1),
    birthTimer: undefined,
    heartbeatTimer: undefined,
  };
}

/** Queues `u` (the metric at `slot`) for the end of the turn, in place of an earlier value. */
function queue(m: MachineRuntime, slot: number, u: MetricUpdate): void {
  const at = m.pendingSlot[slot]!;
  if (at !== 0) m.pending[at - 1] = u;
  else {
    m.pending[m.pendingCount++] = u;
    m.pendingSlot[slot] = m.pendingCount;
  }
}

/** Takes what is pending, as a list of its own. */
function takePending(m: MachineRuntime): MetricUpdate[] {
  const metrics = m.pending.slice(0, m.pendingCount) as MetricUpdate[];
  m.pending.fill(undefined, 0, m.pendingCount);
  m.pendingCount = 0;
  m.pendingSlot.fill(0);
  return metrics;
}

export class Sampler {
  readonly #machines = new Map<string, MachineRuntime>();
  readonly #indexes = new NameIndexes();
  readonly #opts: SamplerOptions;
  readonly #log: Logger;
  readonly #birthWait: (m: MachineConfig) => number;
  readonly #counters = {
    samples: 0,
    unknownMachine: 0,
    published: 0,
    /** Values sent in births (a birth carries every tag's value and the state). */
    birthValues: 0,
    suppressed: 0,
    heartbeats: 0,
    births: 0,
    deaths: 0,
    unmappedState: 0,
  };
  /** Machines with something to publish (or to be born) at the end of this turn. */
  #dirty = new Set<MachineRuntime>();
  #flushQueued = false;
  #closed = false;
  #heartbeatMs: number;

  constructor(opts: SamplerOptions) {
    this.#opts = opts;
    this.#log = opts.logger.child({ component: 'sampler' });
    this.#birthWait = opts.birthWaitMs ?? defaultBirthWait;
    this.#heartbeatMs = opts.heartbeatMs;
    for (const config of opts.machines) this.#machines.set(config.id, newRuntime(config, this.#indexes));
  }

  /**
   * Follows a reloaded machine list. A removed machine dies (if born); an added one waits for
   * its driver. A changed one keeps the readings of its unchanged tags and is born again, so its
   * next birth announces the new metric set. A new heartbeatMs applies from each next beat.
   */
  update(machines: readonly MachineConfig[], heartbeatMs: number): void {
    this.#heartbeatMs = heartbeatMs;
    const ids = new Set(machines.map((m) => m.id));
    for (const [id, m] of this.#machines) {
      if (ids.has(id)) continue;
      this.#flushMachine(m);
      this.#clearTimers(m);
      this.#machines.delete(id);
      this.#dirty.delete(m);
      if (m.born) {
        this.#counters.deaths++;
        this.#opts.output.machineDeath(id, 'removed from the config');
      }
    }
    for (const config of machines) {
      const old = this.#machines.get(config.id);
      if (old === undefined) {
        this.#machines.set(config.id, newRuntime(config, this.#indexes));
        continue;
      }
      if (deepEqual(old.config, config)) continue;
      this.#flushMachine(old);
      this.#clearTimers(old);
      this.#dirty.delete(old);
      const m = newRuntime(config, this.#indexes);
      m.online = old.online;
      config.tags.forEach((t, i) => {
        const was = old.index.get(t.name);
        const quality = was === undefined ? undefined : old.current.quality(was);
        if (quality === undefined || !deepEqual(old.config.tags[was!], t)) return;
        m.current.set(i, old.current.value(was!), quality, old.current.time(was!));
      });
      this.#machines.set(config.id, m);
      if (!m.online || this.#closed) continue;
      if (m.current.count === config.tags.length) this.#touch(m);
      else m.birthTimer = this.#opts.clock.setTimeout(() => this.#birth(m), this.#birthWait(config));
    }
  }

  onSample(s: TagSample): void {
    const m = this.#machines.get(s.machineId);
    const i = m?.index.get(s.tag);
    if (m === undefined || i === undefined || this.#closed) {
      this.#counters.unknownMachine++;
      return;
    }
    this.#counters.samples++;
    const value = s.quality === 'bad' ? null : s.value;
    const { quality, sourceTime } = s;
    m.current.set(i, value, quality, sourceTime);
    if (m.born) {
      if (m.published.exceeds(i, m.deadbands[i]!, value, quality)) {
        // A second value of one tag in one turn (an OPC UA queue, a polling burst) goes out in
        // a message of its own, so Sparkplug sees every value that passed the deadband.
        const at = m.pendingSlot[i]!;
        if (at !== 0 && m.pending[at - 1]!.timestamp !== sourceTime) this.#flushMachine(m);
        m.published.set(i, value, quality, sourceTime);
        queue(m, i, new Update(m.metrics[i]!, value, quality, sourceTime));
        this.#touch(m);
      } else {
        this.#counters.suppressed++;
      }
      if (m.stateTags.includes(i)) this.#stateChanged(m, sourceTime);
    } else if (m.online && m.current.count === m.config.tags.length) {
      this.#touch(m);
    }
  }

  onMachineStatus(machineId: string, status: MachineStatus, reason: string): void {
    const m = this.#machines.get(machineId);
    if (m === undefined || this.#closed) return;
    if (status === 'online') {
      if (m.online) return;
      m.online = true;
      this.#log.info({ machine: machineId, reason }, 'machine online');
      if (m.current.count === m.config.tags.length) this.#touch(m);
      else m.birthTimer = this.#opts.clock.setTimeout(() => this.#birth(m), this.#birthWait(m.config));
      return;
    }
    if (!m.online) return;
    this.#log.warn({ machine: machineId, reason }, 'machine offline');
    this.#flushMachine(m);
    m.online = false;
    m.current.clear();
    this.#clearTimers(m);
    if (m.born) {
      m.born = false;
      this.#counters.deaths++;
      this.#opts.output.machineDeath(machineId, reason);
    }
  }

  /** Publishes what is pending now (normally done at the end of the turn). */
  flush(): void {
    this.#flushQueued = false;
    const dirty = this.#dirty;
    this.#dirty = new Set();
    for (const m of dirty) {
      if (m.online && !m.born && m.current.count === m.config.tags.length) this.#birth(m);
      else this.#flushMachine(m);
    }
  }

  status(): Record<string, MachineStatusView> {
    const out: Record<string, MachineStatusView> = {};
    for (const [id, m] of this.#machines) {
      out[id] = {
        online: m.online,
        born: m.born,
        state: m.online ? deriveState(m.config.state, m.currentByName) : 'offline',
      };
    }
    return out;
  }

  counters(): Readonly<Record<string, number>> {
    return { ...this.#counters };
  }

  /** Flushes what the drivers delivered this turn (so it is journalled), then takes no more. */
  close(): void {
    if (this.#flushQueued && !this.#closed) this.flush();
    this.#closed = true;
    for (const m of this.#machines.values()) this.#clearTimers(m);
  }

  #derive(m: MachineRuntime): MachineState | undefined {
    const state = deriveState(m.config.state, m.currentByName);
    if (state === undefined && 'tag' in m.config.state) {
      const r = m.currentByName.get(m.config.state.tag);
      if (r !== undefined && r.quality !== 'bad' && r.value !== null) this.#counters.unmappedState++;
    }
    return state;
  }

  #stateMetric(state: MachineState | undefined, timestamp: number): MetricUpdate {
    return {
      name: MACHINE_METRIC.state,
      value: state ?? null,
      quality: state === undefined ? 'bad' : 'good',
      timestamp,
    };
  }

  #stateChanged(m: MachineRuntime, time: number): void {
    const state = this.#derive(m);
    if (state === m.publishedState) return;
    m.publishedState = state;
    queue(m, m.metrics.length, this.#stateMetric(state, time));
    this.#touch(m);
    this.#armHeartbeat(m);
  }

  #birth(m: MachineRuntime): void {
    this.#opts.clock.clearTimeout(m.birthTimer);
    m.birthTimer = undefined;
    if (!m.online || m.born || this.#closed) return;
    const now = this.#opts.clock.now();
    const metrics: MetricUpdate[] = [];
    m.publishedState = this.#derive(m);
    metrics.push(this.#stateMetric(m.publishedState, now));
    m.metrics.forEach((name, i) => {
      const r = m.current.update(i, name) ?? { name, value: null, quality: 'bad' as const, timestamp: now };
      m.published.set(i, r.value, r.quality, r.timestamp);
      metrics.push(r);
    });
    takePending(m);
    m.born = true;
    this.#counters.births++;
    this.#counters.birthValues += metrics.length;
    this.#opts.output.machineBirth(m.config.id, metrics);
    this.#armHeartbeat(m);
  }

  #flushMachine(m: MachineRuntime): void {
    if (!m.born || m.pendingCount === 0) return;
    const metrics = takePending(m);
    this.#counters.published += metrics.length;
    this.#opts.output.machineData(m.config.id, metrics);
  }

  #armHeartbeat(m: MachineRuntime): void {
    this.#opts.clock.clearTimeout(m.heartbeatTimer);
    m.heartbeatTimer = this.#opts.clock.setTimeout(() => this.#heartbeat(m), this.#heartbeatMs);
  }

  #heartbeat(m: MachineRuntime): void {
    if (!m.born || this.#closed) return;
    this.#counters.heartbeats++;
    queue(m, m.metrics.length, this.#stateMetric(m.publishedState, this.#opts.clock.now()));
    this.#flushMachine(m);
    this.#armHeartbeat(m);
  }

  #clearTimers(m: MachineRuntime): void {
    this.#opts.clock.clearTimeout(m.birthTimer);
    this.#opts.clock.clearTimeout(m.heartbeatTimer);
    m.birthTimer = undefined;
    m.heartbeatTimer = undefined;
  }

  /** Marks a machine for the end-of-turn flush. */
  #touch(m: MachineRuntime): void {
    this.#dirty.add(m);
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    queueMicrotask(() => {
      if (this.#flushQueued && !this.#closed) this.flush();
    });
  }
}
