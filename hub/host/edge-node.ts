/**
 * What the host remembers about one edge node: its bdSeq, whether it is born, the expected
 * seq, and the alias tables of the node and each device. Pure bookkeeping, no I/O.
 */
import { invalidMetricNameReason, nextSeq, SEQ_MODULUS, seqGap } from '../../protocol/index.js';
import { inner } from '../util/maps.js';
import { PROPERTY_PREFIX } from './convert.js';

export interface MetricDef {
  readonly name: string;
  readonly datatype: number;
  /** Why the name cannot be used (protocol's invalidMetricNameReason): its values are refused. */
  readonly refused?: string;
  /** A machine property (`Properties/…`): the registry's, not a time series. */
  readonly property?: boolean;
  /** Not in the birth: a data message named it (MetricTable.admit decides whether it is taken). */
  readonly unannounced?: true;
}

/** A metric's definition; a name that cannot be used makes one whose values are refused. */
export function metricDef(name: string, datatype: number): MetricDef {
  // One shape for all (no field left out), so that the reads per sample see one.
  return {
    name,
    datatype,
    refused: invalidMetricNameReason(name),
    property: name.startsWith(PROPERTY_PREFIX),
  };
}

/**
 * The definitions of the metrics births name, one object per name and datatype for the whole
 * host: 10,000 machines of a few kinds share a few dozen instead of holding 100,000 (each read
 * once a second per sample, a cache miss when the fleet outgrows the CPU's cache), and their
 * names are the same strings downstream, where the store's series maps find them by identity.
 * Names come from gateways: at most `max` are kept, then it starts over.
 */
export class MetricDefs {
  readonly #byType = new Map<number, Map<string, MetricDef>>();
  #size = 0;

  constructor(readonly max = 100_000) {}

  /** The definition of metric `name` of `datatype`; one whose name cannot be used is refused. */
  of(name: string, datatype: number): MetricDef {
    const kept = this.#byType.get(datatype)?.get(name);
    if (kept !== undefined) return kept;
    const def = metricDef(name, datatype);
    if (this.#size >= this.max) {
      this.#byType.clear();
      this.#size = 0;
    }
    inner(this.#byType, datatype).set(name, def);
    this.#size++;
    return def;
  }

  /** Definitions kept (tests). */
  get size(): number {
    return this.#size;
  }
}

/**
 * Aliases below this, and not far beyond the names the table holds, are looked up in an array
 * (births number them from 0 or 1 up); sparse ones in a Map, so a birth cannot make the array
 * much bigger than its metrics.
 */
const DENSE_ALIASES = 65_536;
const DENSE_SLACK = 64;

/** Names and aliases of one birth certificate's metrics. */
export class MetricTable {
  /** Small aliases by index (a Map lookup per metric was 2% of the hub's time); the rest by key. */
  readonly #dense: (MetricDef | undefined)[] = [];
  readonly #byAlias = new Map<number, MetricDef>();
  readonly #byName = new Map<string, MetricDef>();
  /** Names data messages used without the birth announcing them. */
  readonly #unannounced = new Set<string>();

  add(def: MetricDef, alias: number | undefined): void {
    this.#byName.set(def.name, def);
    if (alias === undefined) return;
    const dense = alias < DENSE_ALIASES && alias <= 2 * this.#byName.size + DENSE_SLACK;
    if (Number.isInteger(alias) && alias >= 0 && dense) {
      // Holes up to the alias: undefined, and the array stays packed (no dictionary mode).
      while (this.#dense.length < alias) this.#dense.push(undefined);
      this.#dense[alias] = def;
    } else this.#byAlias.set(alias, def);
  }

  byAlias(alias: number): MetricDef | undefined {
    return this.#dense[alias] ?? this.#byAlias.get(alias);
  }

  byName(name: string): MetricDef | undefined {
    return this.#byName.get(name);
  }

  /**
   * Whether a metric name may be used: announced in the birth, used before, or a new one while
   * the table holds fewer than `max` names in all (then it is remembered).
   */
  admit(name: string, max: number): boolean {
    if (this.#byName.has(name) || this.#unannounced.has(name)) return true;
    if (this.#byName.size + this.#unannounced.size >= max) return false;
    this.#unannounced.add(name);
    return true;
  }
}

export interface DeviceState {
  born: boolean;
  metrics: MetricTable;
}

export type SeqResult =
  | { readonly kind: 'in-order' }
  /** Some messages were skipped; they may still arrive within the reorder timeout. */
  | { readonly kind: 'gap'; readonly skipped: number }
  /** A message the last gap was waiting for. `filled` = no hole is left. */
  | { readonly kind: 'late'; readonly filled: boolean };

export class EdgeNodeState {
  readonly group: string;
  readonly edgeNode: string;
  /** bdSeq of the current NBIRTH; undefined before the first birth this host saw. */
  bdSeq: number | undefined;
  /** Born and not dead. */
  born = false;
  metrics = new MetricTable();
  readonly devices = new Map<string, DeviceState>();
  /**
   * Every device id this hub run has accepted a DBIRTH for, across the node's rebirths: what
   * limits.maxDevicesPerGateway counts, so a node cannot announce new ids without end by
   * rebirthing. Bounded by that limit; empty again after a hub restart.
   */
  readonly knownDevices = new Set<string>();
  #lastSeq: number | undefined;
  /** Seqs skipped by the last gaps and still awaited. */
  readonly #missing = new Set<number>();
  /** Pending reorder timeout, or undefined. */
  reorderTimer: unknown;
  /** Pending deferred rebirth request, or undefined. */
  rebirthTimer: unknown;
  lastRebirthRequestAt = Number.NEGATIVE_INFINITY;

  constructor(group: string, edgeNode: string) {
    this.group = group;
    this.edgeNode = edgeNode;
  }

  /** NBIRTH: new alias tables, every device unborn until its DBIRTH, seq restarts. */
  birth(bdSeq: number, seq: number): void {
    this.bdSeq = bdSeq;
    this.born = true;
    this.metrics = new MetricTable();
    this.devices.clear();
    this.#lastSeq = seq;
    this.#missing.clear();
  }

  /** NDEATH (matching bdSeq): the node and every device are dead until reborn. */
  death(): void {
    this.born = false;
    for (const d of this.devices.values()) d.born = false;
    this.#lastSeq = undefined;
    this.#missing.clear();
  }

  get awaiting(): number {
    return this.#missing.size;
  }

  clearMissing(): void {
    this.#missing.clear();
  }

  /** Checks a message's seq against the one expected after the previous message. */
  checkSeq(seq: number): SeqResult {
    const last = this.#lastSeq;
    if (last === undefined) {
      this.#lastSeq = seq;
      return { kind: 'in-order' };
    }
    const gap = seqGap(last, seq);
    if (gap === 0) {
      this.#lastSeq = seq;
      return { kind: 'in-order' };
    }
    if (this.#missing.delete(seq)) return { kind: 'late', filled: this.#missing.size === 0 };
    for (let s = nextSeq(last), n = 0; n < gap && n < SEQ_MODULUS; s = nextSeq(s), n++) this.#missing.add(s);
    this.#lastSeq = seq;
    return { kind: 'gap', skipped: gap };
  }
}
