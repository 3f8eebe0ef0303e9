/**
 * The seam between the host (hub/host: Sparkplug in, samples and registry news out) and the
 * ingest (hub/ingest: buffers them and writes them durably). Both import from here and neither
 * imports the other: the host produces into a HostSink, the ingest is one, and the ingest's
 * durable-write reports (FlushedBatch) come back to the host's journal acknowledgements
 * (hub/host/acks.ts) through hub.ts.
 *
 * Which gateway messages are durably written (docs/store.md, "Durable-write events"): the host
 * tags each data message's samples with its source, the edge node and the message's journal
 * position (Wanji's payload extension; it only grows per gateway journal, unlike Sparkplug's
 * 8-bit seq). After each batch the store has for good, the ingest reports the positions it
 * covered; a message refused because the buffer is full is reported too, so the gateway can be
 * asked to send it again.
 */
import type { EdgeNodeIds } from '../protocol/naming.js';
import type { DeviceActivity, GatewayActivity, RegistryEvent } from './registry/types.js';
import type { Sample } from './store/types.js';

/**
 * Where the host's output goes. Calls are cheap and synchronous: the implementation
 * (hub/ingest) buffers and flushes in batches.
 */
export interface HostSink {
  /** Resolved samples (historical ones included, transient ones already left out). */
  samples(samples: readonly Sample[], source?: SampleSource): void;
  event(e: RegistryEvent): void;
  deviceActivity(a: DeviceActivity): void;
  gatewayActivity(a: GatewayActivity): void;
}

/** Where a message's samples came from: its edge node (group = enterprise) and journal position. */
export interface SampleSource extends EdgeNodeIds {
  /** The message's gateway journal position. */
  readonly position: number;
}

/** One edge node's part of a flushed batch. */
export interface SourceProgress extends EdgeNodeIds {
  /** Journal positions whose samples the store now holds (or gave up as unstorable). */
  readonly positions: readonly number[];
}

/** What `Ingest.onFlushed` listeners receive after each store write that is over for good. */
export interface FlushedBatch {
  /**
   * `written`: the store holds every sample. `rejected`: the store refused the data itself
   * (HTTP 400-style, see `StoreError.retryable`); it will never be stored, so it is counted,
   * logged and reported as done, lest a gateway replay it forever.
   */
  readonly outcome: 'written' | 'rejected';
  readonly samples: number;
  readonly sources: readonly SourceProgress[];
  /** Hub clock, ms. */
  readonly at: number;
}
