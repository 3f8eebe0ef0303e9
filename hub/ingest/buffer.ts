/**
 * The ingest's bounded queue of accepted messages, in arrival order. Batches are whole
 * messages taken from the head; a batch leaves the queue only once the store has it, so a
 * failed write is retried with the same samples in the same order.
 */

import type { SampleSource } from '../sink.js';
import type { Sample } from '../store/types.js';

export interface BufferEntry {
  readonly samples: readonly Sample[];
  readonly source: SampleSource | undefined;
}

export interface Batch {
  readonly entries: readonly BufferEntry[];
  readonly samples: readonly Sample[];
}

export class SampleBuffer {
  #entries: BufferEntry[] = [];
  #head = 0;
  #samples = 0;

  /** Samples waiting. */
  get samples(): number {
    return this.#samples;
  }

  /** Messages waiting (some may carry no samples, only their position). */
  get entries(): number {
    return this.#entries.length - this.#head;
  }

  push(entry: BufferEntry): void {
    this.#entries.push(entry);
    this.#samples += entry.samples.length;
  }

  /** The oldest messages, at most `maxSamples` samples unless the first message alone has more. */
  peek(maxSamples: number): Batch {
    // Counted first, then copied into an array of that size (not grown by doubling).
    let end = this.#head;
    let count = 0;
    for (; end < this.#entries.length; end++) {
      const n = this.#entries[end]!.samples.length;
      if (end > this.#head && count + n > maxSamples) break;
      count += n;
    }
    const entries = this.#entries.slice(this.#head, end);
    const samples = new Array<Sample>(count);
    let k = 0;
    for (const e of entries) for (const s of e.samples) samples[k++] = s;
    return { entries, samples };
  }

  /** Drops the batch `peek` returned (it must still be the head). */
  shift(batch: Batch): void {
    this.#head += batch.entries.length;
    this.#samples -= batch.samples.length;
    if (this.#head > 1_024 && this.#head * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
  }

  /** Empties the queue; returns how many samples it held. */
  clear(): number {
    const n = this.#samples;
    this.#entries = [];
    this.#head = 0;
    this.#samples = 0;
    return n;
  }
}
