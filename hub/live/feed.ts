/**
 * Live values (docs/api.md, "Live values"): an in-process fan-out of the samples the host
 * produces, to the streams that watch one machine each (`GET …/machines/:e/:m/live`,
 * hub/api/routes/machine-live.ts). It sits on the host → ingest seam (hub/sink.ts): `tee()`
 * wraps the ingest so every sample the host hands over is also offered to the watchers of its
 * machine. Nothing is kept here: a watcher that cannot take a sample now drops it and counts
 * it (LiveStream), so a slow client never makes the hub hold more than its bound.
 */
import type { HostSink, SampleSource } from '../sink.js';
import type { Sample } from '../store/types.js';

export type LiveListener = (samples: readonly Sample[]) => void;

/** What /healthz shows under `counters.live`. */
export interface LiveCounters {
  /** Streams open now. */
  streams: number;
  /** Machine subscriptions open now (one per stream). */
  subscriptions: number;
  /** Streams opened since start. */
  streamsOpened: number;
  /** Streams refused (too many per principal or overall). */
  streamsRefused: number;
  /** Events written to a stream. */
  eventsSent: number;
  /** Events a slow client could not take (its send buffer was full): dropped, never queued. */
  eventsDropped: number;
  /** Bytes waiting in the streams' send buffers now (bounded by streams × http.live.maxBufferedBytes). */
  bufferedBytes: number;
}

const key = (enterprise: string, machine: string): string => `${enterprise}\u0000${machine}`;

export class LiveFeed {
  readonly #listeners = new Map<string, Set<LiveListener>>();
  /** Open streams per principal (token id or `user:<name>`). */
  readonly #streamsBy = new Map<string, number>();
  /** Bytes buffered by each open stream, summed for the counter. */
  readonly #buffered = new Set<() => number>();
  readonly #counters = {
    streamsOpened: 0,
    streamsRefused: 0,
    eventsSent: 0,
    eventsDropped: 0,
  };
  readonly #closers = new Set<() => void>();

  get counters(): LiveCounters {
    let subscriptions = 0;
    for (const s of this.#listeners.values()) subscriptions += s.size;
    let bufferedBytes = 0;
    for (const b of this.#buffered) bufferedBytes += b();
    return { streams: this.#closers.size, subscriptions, ...this.#counters, bufferedBytes };
  }

  /** Listens to one machine's samples; returns the unsubscribe. */
  subscribe(enterprise: string, machine: string, listener: LiveListener): () => void {
    const k = key(enterprise, machine);
    let set = this.#listeners.get(k);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(k, set);
    }
    set.add(listener);
    return () => {
      const s = this.#listeners.get(k);
      if (s === undefined) return;
      s.delete(listener);
      if (s.size === 0) this.#listeners.delete(k);
    };
  }

  /** Offers samples to the watchers of their machines (one call per machine per batch). */
  publish(samples: readonly Sample[]): void {
    if (this.#listeners.size === 0 || samples.length === 0) return;
    const byMachine = new Map<string, Sample[]>();
    for (const s of samples) {
      const k = key(s.enterprise, s.machine);
      if (!this.#listeners.has(k)) continue;
      let list = byMachine.get(k);
      if (list === undefined) {
        list = [];
        byMachine.set(k, list);
      }
      list.push(s);
    }
    for (const [k, list] of byMachine) {
      for (const l of this.#listeners.get(k) ?? []) l(list);
    }
  }

  /** A HostSink that hands everything to `sink` and offers the samples to the watchers. */
  tee(sink: HostSink): HostSink {
    return {
      samples: (samples: readonly Sample[], source?: SampleSource) => {
        sink.samples(samples, source);
        this.publish(samples);
      },
      event: (e) => sink.event(e),
      deviceActivity: (a) => sink.deviceActivity(a),
      gatewayActivity: (a) => sink.gatewayActivity(a),
    };
  }

  /**
   * Takes a stream slot for `principal`: false (and counted) when it already has `perPrincipal`
   * streams or the hub has `overall`.
   */
  admit(principal: string, limits: { perPrincipal: number; overall: number }): boolean {
    const mine = this.#streamsBy.get(principal) ?? 0;
    if (mine >= limits.perPrincipal || this.#closers.size >= limits.overall) {
      this.#counters.streamsRefused++;
      return false;
    }
    return true;
  }

  /**
   * Records an open stream (after admit()): `close` ends it when the hub stops, `buffered`
   * reads its send buffer. Returns the release, to call once when the stream ends.
   */
  opened(principal: string, close: () => void, buffered: () => number): () => void {
    this.#streamsBy.set(principal, (this.#streamsBy.get(principal) ?? 0) + 1);
    this.#closers.add(close);
    this.#buffered.add(buffered);
    this.#counters.streamsOpened++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#closers.delete(close);
      this.#buffered.delete(buffered);
      const left = (this.#streamsBy.get(principal) ?? 1) - 1;
      if (left <= 0) this.#streamsBy.delete(principal);
      else this.#streamsBy.set(principal, left);
    };
  }

  sent(): void {
    this.#counters.eventsSent++;
  }

  dropped(): void {
    this.#counters.eventsDropped++;
  }

  /** Ends every open stream (the API calls it before it closes, or the server would wait for them). */
  closeAll(): void {
    for (const c of [...this.#closers]) c();
  }
}
