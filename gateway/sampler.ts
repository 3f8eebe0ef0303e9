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
import { MACHINE_METRIC, type MachineState, type MetricUpdate, type MetricValue } from '../protocol/index.js';
import type { MachineConfig } from './config/schema.js';
import { signalName } from './northbound/device-model.js';
import { deepEqual } from './reload.js';
import type { MachineStatus, TagSample } from './southbound/types.js';
import { deriveState } from './state.js';

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

/** What the sampler keeps of a tag: its deadband and the name it is published under. */
interface TagRuntime {
  readonly deadband: number;
  readonly metric: string;
}

interface MachineRuntime {
  readonly config: MachineConfig;
  readonly tags: ReadonlyMap<string, TagRuntime>;
  /** The tags the state is derived from: only their samples can change it. */
  readonly stateTags: ReadonlySet<string>;
  online: boolean;
  born: boolean;
  /**
   * Latest readings of this online period, per tag. A reading is the very MetricUpdate that is
   * published, so a sample costs one object however far it travels.
   */
  readonly current: Map<string, MetricUpdate>;
  /** What the northbound side last got, per tag. */
  readonly published: Map<string, MetricUpdate>;
  publishedState: MachineState | undefined;
  /** Changes waiting for the end of this turn, by metric name. */
  readonly pending: Map<string, MetricUpdate>;
  birthTimer: TimerHandle | undefined;
  heartbeatTimer: TimerHandle | undefined;
}

export interface MachineStatusView {
  readonly online: boolean;
  readonly born: boolean;
  readonly state: MachineState | 'offline' | undefined;
}

const defaultBirthWait = (m: MachineConfig) => Math.max(1000, 2 * m.pollIntervalMs);

function stateTags(config: MachineConfig): Set<string> {
  const s = config.state;
  if ('tag' in s) return new Set([s.tag]);
  return new Set([s.stackLight.red, s.stackLight.yellow, s.stackLight.green].filter((t) => t !== undefined));
}

function newRuntime(config: MachineConfig): MachineRuntime {
  return {
    config,
    tags: new Map(
      config.tags.map((t) => [t.name, { deadband: t.deadband ?? 0, metric: signalName(t.name) }]),
    ),
    stateTags: stateTags(config),
    online: false,
    born: false,
    current: new Map(),
    published: new Map(),
    publishedState: undefined,
    pending: new Map(),
    birthTimer: undefined,
    heartbeatTimer: undefined,
  };
}

function sameValue(a: MetricValue, b: MetricValue): boolean {
  if (a instanceof Uint8Array && b instanceof Uint8Array) return Buffer.from(a).equals(Buffer.from(b));
  return Object.is(a, b);
}

/** Whether `next` is news after `last`: another quality, a move past the deadband, any other change. */
function exceeds(deadband: number, last: MetricUpdate, next: MetricUpdate): boolean {
  if (last.quality !== next.quality) return true;
  if (typeof last.value === 'number' && typeof next.value === 'number') {
    if (Number.isNaN(last.value) || Number.isNaN(next.value)) return !Object.is(last.value, next.value);
    return deadband === 0 ? last.value !== next.value : Math.abs(next.value - last.value) > deadband;
  }
  return !sameValue(last.value, next.value);
}

export class Sampler {
  readonly #machines = new Map<string, MachineRuntime>();
  readonly #opts: SamplerOptions;
  readonly #log: Logger;
  readonly #birthWait: (m: MachineConfig) => number;
  readonly #counters = {
    samples: 0,
    unknownMachine: 0,
    published: 0,
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
    for (const config of opts.machines) this.#machines.set(config.id, newRuntime(config));
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
        this.#machines.set(config.id, newRuntime(config));
        continue;
      }
      if (deepEqual(old.config, config)) continue;
      this.#flushMachine(old);
      this.#clearTimers(old);
      this.#dirty.delete(old);
      const m = newRuntime(config);
      m.online = old.online;
      for (const t of config.tags) {
        const r = old.current.get(t.name);
        const before = old.config.tags.find((o) => o.name === t.name);
        if (r !== undefined && deepEqual(before, t)) m.current.set(t.name, r);
      }
      this.#machines.set(config.id, m);
      if (!m.online || this.#closed) continue;
      if (m.current.size === config.tags.length) this.#touch(m);
      else m.birthTimer = this.#opts.clock.setTimeout(() => this.#birth(m), this.#birthWait(config));
    }
  }

  onSample(s: TagSample): void {
    const m = this.#machines.get(s.machineId);
    const tag = m?.tags.get(s.tag);
    if (m === undefined || tag === undefined || this.#closed) {
      this.#counters.unknownMachine++;
      return;
    }
    this.#counters.samples++;
    const reading: MetricUpdate = {
      name: tag.metric,
      value: s.quality === 'bad' ? null : s.value,
      quality: s.quality,
      timestamp: s.sourceTime,
    };
    m.current.set(s.tag, reading);
    if (m.born) {
      const last = m.published.get(s.tag);
      if (last === undefined || exceeds(tag.deadband, last, reading)) {
        // A second value of one tag in one turn (an OPC UA queue, a polling burst) goes out in
        // a message of its own, so Sparkplug sees every value that passed the deadband.
        const queued = m.pending.get(tag.metric);
        if (queued !== undefined && queued.timestamp !== reading.timestamp) this.#flushMachine(m);
        m.published.set(s.tag, reading);
        m.pending.set(tag.metric, reading);
        this.#touch(m);
      } else {
        this.#counters.suppressed++;
      }
      if (m.stateTags.has(s.tag)) this.#stateChanged(m, s.sourceTime);
    } else if (m.online && m.current.size === m.config.tags.length) {
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
      if (m.current.size === m.config.tags.length) this.#touch(m);
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
      if (m.online && !m.born && m.current.size === m.config.tags.length) this.#birth(m);
      else this.#flushMachine(m);
    }
  }

  status(): Record<string, MachineStatusView> {
    const out: Record<string, MachineStatusView> = {};
    for (const [id, m] of this.#machines) {
      out[id] = {
        online: m.online,
        born: m.born,
        state: m.online ? deriveState(m.config.state, m.current) : 'offline',
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
    const state = deriveState(m.config.state, m.current);
    if (state === undefined && 'tag' in m.config.state) {
      const r = m.current.get(m.config.state.tag);
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
    m.pending.set(MACHINE_METRIC.state, this.#stateMetric(state, time));
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
    m.published.clear();
    for (const [name, t] of m.tags) {
      const r = m.current.get(name) ?? {
        name: t.metric,
        value: null,
        quality: 'bad' as const,
        timestamp: now,
      };
      m.published.set(name, r);
      metrics.push(r);
    }
    m.pending.clear();
    m.born = true;
    this.#counters.births++;
    this.#opts.output.machineBirth(m.config.id, metrics);
    this.#armHeartbeat(m);
  }

  #flushMachine(m: MachineRuntime): void {
    if (!m.born || m.pending.size === 0) return;
    const metrics = [...m.pending.values()];
    m.pending.clear();
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
    m.pending.set(MACHINE_METRIC.state, this.#stateMetric(m.publishedState, this.#opts.clock.now()));
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
