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
    const entries: BufferEntry[] = [];
    const samples: Sample[] = [];
    for (let i = this.#head; i < this.#entries.length; i++) {
      const e = this.#entries[i]!;
      if (entries.length > 0 && samples.length + e.samples.length > maxSamples) break;
      entries.push(e);
      for (const s of e.samples) samples.push(s);
    }
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
