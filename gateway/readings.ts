/**
 * The latest value of each metric of a fixed list, kept as columns: a gateway reading 100,000
 * points a second keeps every point's value, quality and time without an object per point.
 * An object per reading would live about one poll interval, long enough to be promoted to V8's
 * old generation, and each poll would leave 100,000 of them behind there as garbage; numbers
 * and times in typed arrays leave nothing. Metrics are addressed by their index in the list
 * (NameIndexes gives a list's name → index map, shared by every machine with the same list).
 */
import type { MetricUpdate, MetricValue } from '../protocol/index.js';
import type { Quality } from '../protocol/quality.js';

/**
 * A MetricUpdate made with `new`, for the hot path (one per published value). V8 may move the
 * objects of a literal's allocation site straight to the old generation after seeing some of
 * them outlive a young-generation GC (allocation-site pretenuring; a busy start-up is enough);
 * then each of 100,000 values a second becomes old-generation garbage that grows the heap.
 * Objects made by a constructor never are.
 */
export class Update implements MetricUpdate {
  constructor(
    readonly name: string,
    readonly value: MetricValue,
    readonly quality: Quality,
    readonly timestamp: number,
  ) {}
}

/** Codes of the quality column; 0 is "no reading". */
const QUALITY_CODE: Readonly<Record<Quality, number>> = { good: 1, uncertain: 2, bad: 3 };
const QUALITY_OF: readonly (Quality | undefined)[] = [undefined, 'good', 'uncertain', 'bad'];

export class Readings {
  /** 0: no reading; else QUALITY_CODE. */
  readonly #quality: Uint8Array;
  /** 1: the value is in #numbers; 0: in #others. */
  readonly #numeric: Uint8Array;
  readonly #numbers: Float64Array;
  readonly #times: Float64Array;
  /** Values that are not numbers (null, strings, booleans, bigints, bytes); made on first need. */
  #others: MetricValue[] | undefined;
  #count = 0;

  constructor(readonly size: number) {
    this.#quality = new Uint8Array(size);
    this.#numeric = new Uint8Array(size);
    this.#numbers = new Float64Array(size);
    this.#times = new Float64Array(size);
  }

  /** How many metrics have a reading. */
  get count(): number {
    return this.#count;
  }

  has(i: number): boolean {
    return this.#quality[i] !== 0;
  }

  set(i: number, value: MetricValue, quality: Quality, time: number): void {
    if (this.#quality[i] === 0) this.#count++;
    // A quality outside the vocabulary (a driver's bug) is kept as bad, never as "no reading".
    this.#quality[i] = QUALITY_CODE[quality] ?? QUALITY_CODE.bad;
    this.#times[i] = time;
    if (typeof value === 'number') {
      this.#numeric[i] = 1;
      this.#numbers[i] = value;
      if (this.#others !== undefined) this.#others[i] = null;
    } else {
      this.#numeric[i] = 0;
      this.#others ??= new Array<MetricValue>(this.size).fill(null);
      this.#others[i] = value;
    }
  }

  /** The value (null when there is no reading). */
  value(i: number): MetricValue {
    if (this.#numeric[i] === 1) return this.#numbers[i]!;
    return this.#others?.[i] ?? null;
  }

  /** Undefined when there is no reading. */
  quality(i: number): Quality | undefined {
    return QUALITY_OF[this.#quality[i]!];
  }

  time(i: number): number {
    return this.#times[i]!;
  }

  /**
   * Whether a reading differs from this one by more than `deadband`: another quality, a
   * number moved past the deadband, any other change of value (bytes by content). True when
   * there is no reading.
   */
  exceeds(i: number, deadband: number, value: MetricValue, quality: Quality): boolean {
    const q = this.#quality[i]!;
    if (q !== QUALITY_CODE[quality]) return true;
    if (this.#numeric[i] === 1 && typeof value === 'number') {
      const last = this.#numbers[i]!;
      if (Number.isNaN(last) || Number.isNaN(value)) return !Object.is(last, value);
      return deadband === 0 ? last !== value : Math.abs(value - last) > deadband;
    }
    const last = this.value(i);
    if (last instanceof Uint8Array && value instanceof Uint8Array) {
      return !Buffer.from(last.buffer, last.byteOffset, last.byteLength).equals(
        Buffer.from(value.buffer, value.byteOffset, value.byteLength),
      );
    }
    return !Object.is(last, value);
  }

  /** The reading as the update that publishes it under `name`; undefined when there is none. */
  update(i: number, name: string): MetricUpdate | undefined {
    const quality = this.quality(i);
    if (quality === undefined) return undefined;
    return { name, value: this.value(i), quality, timestamp: this.#times[i]! };
  }

  clear(): void {
    this.#quality.fill(0);
    this.#others?.fill(null);
    this.#count = 0;
  }
}

/**
 * Name → index maps of metric (or tag) lists, one per distinct list: the machines of a big
 * gateway mostly share a few templates, so 1,000 machines of 100 tags hold one map, not 1,000.
 */
export class NameIndexes {
  readonly #byList = new Map<string, ReadonlyMap<string, number>>();

  of(names: readonly string[]): ReadonlyMap<string, number> {
    const key = JSON.stringify(names);
    let index = this.#byList.get(key);
    if (index === undefined) {
      const m = new Map<string, number>();
      names.forEach((n, i) => {
        if (!m.has(n)) m.set(n, i);
      });
      index = m;
      this.#byList.set(key, index);
    }
    return index;
  }
}
