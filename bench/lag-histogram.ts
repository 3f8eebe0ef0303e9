/** The store lag of samples, as bench:hub and bench:fleet measure it. */
import type { Sample, SampleStore } from '../hub/store/types.js';

/**
 * Tells `onStored` of every write to the hub's store once it is done, with the time it ended:
 * a sample's store lag is that time minus its timestamp.
 */
export function onStoreWrites(
  store: SampleStore,
  onStored: (samples: readonly Sample[], now: number) => void,
): void {
  const write = store.write.bind(store);
  Object.assign(store, {
    write: async (samples: readonly Sample[]): Promise<void> => {
      await write(samples);
      onStored(samples, Date.now());
    },
  });
}

/** Lags of stored samples in 10 ms buckets, up to a minute (longer ones in the last bucket). */
export class LagHistogram {
  readonly #buckets = new Float64Array(6_001);
  #count = 0;

  add(lagMs: number, samples = 1): void {
    const b = Math.min(this.#buckets.length - 1, Math.max(0, Math.floor(lagMs / 10)));
    this.#buckets[b]! += samples;
    this.#count += samples;
  }

  /** Samples added. */
  get count(): number {
    return this.#count;
  }

  /** The q-quantile in seconds (bucket upper bound); 0 without samples. */
  quantile(q: number): number {
    let seen = 0;
    for (let b = 0; b < this.#buckets.length; b++) {
      seen += this.#buckets[b]!;
      if (seen >= q * this.#count && this.#count > 0) return ((b + 1) * 10) / 1000;
    }
    return 0;
  }
}
