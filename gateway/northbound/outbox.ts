/**
 * Where data goes while the edge node cannot publish it (disconnected, or waiting for the
 * primary host). For now a bounded in-memory queue that counts what it drops; the durable
 * journal (on disk, trimmed when the hub acknowledges the store has the data) replaces it
 * behind this same interface.
 */
import type { MetricUpdate } from '../sampler.js';

export interface OutboxRecord {
  readonly deviceId: string;
  readonly metrics: readonly MetricUpdate[];
}

export interface Outbox {
  /** Keeps a record for later; may drop the oldest one to stay within bounds. */
  push(record: OutboxRecord): void;
  /** Takes everything kept so far, oldest first. */
  drain(): OutboxRecord[];
  readonly size: number;
  /** Records dropped so far because the outbox was full. */
  readonly dropped: number;
}

export class MemoryOutbox implements Outbox {
  readonly #max: number;
  #records: OutboxRecord[] = [];
  #dropped = 0;

  constructor(maxRecords = 10_000) {
    this.#max = maxRecords;
  }

  push(record: OutboxRecord): void {
    this.#records.push(record);
    if (this.#records.length > this.#max) {
      this.#records.shift();
      this.#dropped++;
    }
  }

  drain(): OutboxRecord[] {
    const out = this.#records;
    this.#records = [];
    return out;
  }

  get size(): number {
    return this.#records.length;
  }

  get dropped(): number {
    return this.#dropped;
  }
}
