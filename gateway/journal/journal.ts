/**
 * The gateway's journal: every data message is appended here before it is published, and
 * leaves only when the hub acknowledges that its store holds it (or, with a host that does not
 * acknowledge, when it was handed to the broker). Positions count up from 1, one per message,
 * and never repeat in a journal's life; a journal whose files are lost starts over under a new
 * id, which tells the hub to forget what it acknowledged.
 *
 * Appends are synchronous writes to the open segment (they survive the process being killed);
 * `fsyncIntervalMs` bounds what a power cut can take (0: every append is fsynced before it is
 * published). The journal is bounded by `maxBytes` and `maxAgeMs`: when full it drops its
 * oldest segment (`drop-oldest`) or refuses new messages (`stop-sampling`); either way the
 * messages lost are counted and logged. Format: format.ts.
 *
 * `io: 'background'` (the gateway's, link.ts) keeps the housekeeping off the event loop, where
 * a process runs a hundred gateways: the periodic fsync, the state file and the sealing of full
 * segments (seal.ts) run one after another on libuv's thread pool while appends go on into the
 * next segment. What is acknowledged when does not change: appends are the same synchronous
 * writes, and with `fsyncIntervalMs: 0` each is still fsynced on the spot before append()
 * returns. close() stops taking messages at once; `settled()` resolves when the last of that
 * work (the final fsync and closing the files included) is done: await it before the folder is
 * opened again. `io: 'blocking'` (the default) does all of it on the event loop, as before.
 */
import {
  close as closeFd,
  closeSync,
  fdatasync,
  fdatasyncSync,
  mkdirSync,
  openSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from 'pino';
import type { MetricUpdate } from '../../protocol/metrics.js';
import { encodeFrameShared, frameAt, indexName, type JournalRecord, segmentName } from './format.js';
import { sealBlocking, sealInBackground } from './seal.js';
import {
  type JournalState,
  loadSegments,
  loadState,
  type ReadCache,
  readFrames,
  type Segment,
  writeState,
  writeStateInBackground,
} from './store.js';

export type WhenFull = 'drop-oldest' | 'stop-sampling';

/** Where the journal's housekeeping (fsync, state file, sealing) runs: see the header. */
export type JournalIo = 'blocking' | 'background';

const fdatasyncAsync = promisify(fdatasync);
const closeFdAsync = promisify(closeFd);

export interface JournalOptions {
  readonly dir: string;
  readonly logger: Logger;
  readonly now: () => number;
  /** Default 1 GiB. */
  readonly maxBytes?: number;
  /** Default 7 days. */
  readonly maxAgeMs?: number;
  readonly whenFull?: WhenFull;
  /** Default 1 MiB; the unit in which space is freed. */
  readonly segmentBytes?: number;
  /** Default 1000; 0 = fsync every append. */
  readonly fsyncIntervalMs?: number;
  /** Default 'blocking'; the gateway's is 'background' (see the header). */
  readonly io?: JournalIo;
}

export interface JournalCounters {
  appended: number;
  /** Unacknowledged messages dropped because the journal was full. */
  dropped: number;
  /** Unacknowledged messages dropped because they were older than maxAge. */
  expired: number;
  /** Messages not taken because the journal was full (stop-sampling). */
  refused: number;
  /** Bytes found torn or corrupt when the journal was opened, discarded. */
  corruptBytes: number;
  writeErrors: number;
}

export class Journal {
  readonly counters: JournalCounters = {
    appended: 0,
    dropped: 0,
    expired: 0,
    refused: 0,
    corruptBytes: 0,
    writeErrors: 0,
  };
  readonly #o: JournalOptions;
  readonly #log: Logger;
  readonly #maxBytes: number;
  readonly #maxAgeMs: number;
  readonly #segmentBytes: number;
  readonly #fsyncMs: number;
  readonly #background: boolean;
  readonly #segments: Segment[] = [];
  /** Segments being sealed in the background, and those of them dropped meanwhile. */
  readonly #sealing = new Set<Segment>();
  readonly #dropped = new WeakSet<Segment>();
  /** The background work, one step after another; its tail is what settled() waits for. */
  #work: Promise<void> = Promise.resolve();
  /** A background fsync is queued and has not started. */
  #syncQueued = false;
  #state: JournalState;
  #stateDirty = false;
  #fd: number;
  #dirty = false;
  #lastSync = 0;
  #refusing = false;
  #cache: ReadCache | undefined;
  #bytes = 0;
  #closed = false;

  /** Opens (or creates) the journal in `dir`, recovering from a crash mid-write. */
  constructor(opts: JournalOptions) {
    this.#o = opts;
    this.#log = opts.logger.child({ component: 'journal' });
    this.#maxBytes = opts.maxBytes ?? 1024 ** 3;
    this.#maxAgeMs = opts.maxAgeMs ?? 7 * 86_400_000;
    this.#segmentBytes = Math.min(opts.segmentBytes ?? 1024 ** 2, Math.floor(this.#maxBytes / 4));
    this.#fsyncMs = opts.fsyncIntervalMs ?? 1000;
    this.#background = opts.io === 'background';
    mkdirSync(opts.dir, { recursive: true, mode: 0o700 });
    this.#state = loadState(opts.dir, this.#log);
    for (const seg of loadSegments(opts.dir, this.#log, this.counters)) {
      this.#segments.push(seg);
      this.#bytes += seg.bytes;
    }
    const active = this.#segments.at(-1);
    this.#fd = active === undefined ? this.#openSegment(this.#state.acked + 1) : openSync(active.path, 'a');
    this.#trim();
    this.#log.info(
      {
        dir: opts.dir,
        id: this.id,
        acked: this.acked,
        head: this.head,
        backlog: this.backlog,
        bytes: this.bytes,
      },
      'journal open',
    );
  }

  get id(): string {
    return this.#state.id;
  }

  /** Every position up to here is acknowledged. */
  get acked(): number {
    return this.#state.acked;
  }

  /** The last position appended (0 when none ever was). */
  get head(): number {
    return this.#active().last;
  }

  /** The first unacknowledged position the journal still holds (head + 1 when none). */
  get start(): number {
    return Math.max(this.#state.acked + 1, this.#segments[0]?.first ?? this.head + 1);
  }

  /** Messages held and not acknowledged. */
  get backlog(): number {
    return this.head - this.start + 1;
  }

  /** Bytes on disk, kept as segments grow, shrink (sealing) and go (checked on every append). */
  get bytes(): number {
    return this.#bytes;
  }

  /** True while new messages are refused (stop-sampling and full). */
  get full(): boolean {
    return this.#refusing;
  }

  /**
   * Appends one message; returns its position, or undefined when it was refused (the journal
   * is full and the policy is stop-sampling, or the disk failed: counted and logged).
   */
  append(deviceId: string, metrics: readonly MetricUpdate[]): number | undefined {
    if (this.#closed) return undefined;
    const now = this.#o.now();
    const position = this.head + 1;
    // Written out below, before any other frame is encoded (the buffer is reused).
    const frame = encodeFrameShared({ position, deviceId, at: now, metrics });
    if (!this.#makeRoom(frame.length)) return undefined;
    let active = this.#active();
    if (active.bytes > 0 && active.bytes + frame.length > this.#segmentBytes) {
      this.#seal();
      active = this.#active();
    }
    try {
      writeSync(this.#fd, frame);
    } catch (err) {
      this.counters.writeErrors++;
      this.#log.error({ err, position }, 'journal write failed; message not taken');
      return undefined;
    }
    active.last = position;
    active.bytes += frame.length;
    this.#bytes += frame.length;
    active.lastAt = now;
    this.counters.appended++;
    this.#dirty = true;
    if (this.#fsyncMs === 0) this.sync();
    return position;
  }

  /** The hub's store holds every message up to `position`: free what that allows. */
  ack(position: number): void {
    const p = Math.min(position, this.head);
    if (!(p > this.#state.acked)) return;
    this.#state.acked = p;
    this.#stateDirty = true;
    this.#trim();
    if (this.#refusing && this.bytes < this.#maxBytes) {
      this.#refusing = false;
      this.#log.info({ refused: this.counters.refused }, 'journal has room again; taking messages');
    }
  }

  /** Up to `max` records from position `from` on (or the oldest held, if that is later). */
  read(from: number, max: number): JournalRecord[] {
    const out: JournalRecord[] = [];
    let pos = Math.max(from, this.#segments[0]?.first ?? from);
    let seg: Segment | undefined;
    while (out.length < max && pos <= this.head) {
      if (seg === undefined || pos > seg.last) seg = this.#segmentOf(pos);
      if (seg === undefined) break;
      const cache = readFrames(seg, this.#cache);
      this.#cache = cache;
      const offset = cache.offsets[pos - seg.first];
      if (offset === undefined) break;
      out.push(frameAt(cache.buf, offset));
      pos++;
    }
    return out;
  }

  /** The segment holding `pos` (segments are in position order). */
  #segmentOf(pos: number): Segment | undefined {
    const segs = this.#segments;
    let lo = 0;
    let hi = segs.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const s = segs[mid]!;
      if (pos < s.first) hi = mid - 1;
      else if (pos > s.last) lo = mid + 1;
      else return s;
    }
    return undefined;
  }

  /**
   * Flushes appends to the disk now, on the event loop, if any are pending: after every append
   * with fsyncIntervalMs 0, and by the timer and close() of a blocking journal.
   */
  sync(): void {
    if (!this.#dirty || this.#closed) return;
    try {
      fdatasyncSync(this.#fd);
      this.#dirty = false;
      this.#lastSync = this.#o.now();
    } catch (err) {
      this.counters.writeErrors++;
      this.#log.error({ err }, 'journal fsync failed');
    }
  }

  /**
   * Housekeeping, every second or so: fsync per fsyncIntervalMs, persist the acknowledged
   * position, expire segments past maxAge.
   */
  maintain(): void {
    if (this.#closed) return;
    const now = this.#o.now();
    if (this.#dirty && now - this.#lastSync >= this.#fsyncMs) {
      if (this.#background) this.#syncInBackground();
      else this.sync();
    }
    while (this.#segments.length > 1 && this.#segments[0]!.lastAt < now - this.#maxAgeMs) {
      const lost = this.#dropOldest();
      if (lost > 0) {
        this.counters.expired += lost;
        this.#log.warn(
          { messages: lost, maxAgeMs: this.#maxAgeMs },
          'journal messages expired unacknowledged',
        );
      }
    }
    this.#saveState();
  }

  /**
   * Takes no more messages, flushes and closes. A background journal finishes that after the
   * work in flight: await settled() before opening the folder again.
   */
  close(): void {
    if (this.#closed) return;
    if (!this.#background) this.sync();
    this.#closed = true;
    this.#stateDirty = true;
    this.#saveState();
    if (!this.#background) {
      closeSync(this.#fd);
      return;
    }
    const fd = this.#fd;
    this.#enqueue(async () => {
      if (this.#dirty) await this.#flush(fd);
      await closeFdAsync(fd).catch((err: unknown) =>
        this.#log.warn({ err }, 'closing the journal segment failed'),
      );
    });
  }

  /**
   * Resolves once the background work started so far is done (sealing, fsync, state file; after
   * close(), closing the files). At once for a blocking journal.
   */
  async settled(): Promise<void> {
    let tail: Promise<void>;
    do {
      tail = this.#work;
      await tail;
    } while (tail !== this.#work);
  }

  /** Runs `step` after the background work queued before it; a step logs its own failures. */
  #enqueue(step: () => Promise<void>): void {
    this.#work = this.#work.then(step).catch((err: unknown) => {
      this.counters.writeErrors++;
      this.#log.error({ err }, 'journal background work failed');
    });
  }

  /** The periodic fsync, on the thread pool; one at a time, none queued twice. */
  #syncInBackground(): void {
    if (this.#syncQueued) return;
    this.#syncQueued = true;
    this.#enqueue(async () => {
      this.#syncQueued = false;
      // The fd is the active one when this starts: sealing and close() queue their closing
      // of a segment's fd behind this step, so it is open until the fsync returns.
      if (this.#dirty && !this.#closed) await this.#flush(this.#fd);
    });
  }

  /** fdatasync on the thread pool; what was appended while it ran is left dirty for the next. */
  async #flush(fd: number): Promise<void> {
    this.#dirty = false;
    try {
      await fdatasyncAsync(fd);
      this.#lastSync = this.#o.now();
    } catch (err) {
      this.#dirty = true;
      this.counters.writeErrors++;
      this.#log.error({ err }, 'journal fsync failed');
    }
  }

  #active(): Segment {
    return this.#segments.at(-1)!;
  }

  #saveState(): void {
    if (!this.#stateDirty) return;
    if (this.#background) {
      this.#stateDirty = false;
      const state = { ...this.#state };
      this.#enqueue(async () => {
        try {
          await writeStateInBackground(this.#o.dir, state);
        } catch (err) {
          this.#stateDirty = true;
          this.counters.writeErrors++;
          this.#log.error({ err }, 'cannot save the journal state; a restart replays more than needed');
        }
      });
      return;
    }
    try {
      writeState(this.#o.dir, this.#state);
      this.#stateDirty = false;
    } catch (err) {
      this.counters.writeErrors++;
      this.#log.error({ err }, 'cannot save the journal state; a restart replays more than needed');
    }
  }

  #openSegment(first: number): number {
    const path = join(this.#o.dir, segmentName(first));
    const fd = openSync(path, 'a', 0o600);
    this.#segments.push({ first, last: first - 1, bytes: 0, lastAt: this.#o.now(), path, compressed: false });
    return fd;
  }

  /**
   * Closes the active segment, compresses it with its index (seal.ts), and opens the next; in
   * the background, the next is open at once and the sealed one is read raw until its
   * compressed copy is in place.
   */
  #seal(): void {
    const active = this.#active();
    const fd = this.#fd;
    if (this.#background) {
      const dirty = this.#dirty;
      this.#dirty = false;
      this.#fd = this.#openSegment(active.last + 1);
      this.#sealing.add(active);
      this.#enqueue(() => this.#sealStep(active, fd, dirty));
      return;
    }
    this.sync();
    try {
      this.#installSealed(active, sealBlocking(this.#o.dir, fd, active.path, active));
    } catch (err) {
      this.counters.writeErrors++;
      this.#log.error({ err, path: active.path }, 'cannot seal a journal segment; kept uncompressed');
    }
    this.#fd = this.#openSegment(active.last + 1);
  }

  /** The background seal of `seg`, whose fd was `fd` (`dirty`: not flushed since its last append). */
  async #sealStep(seg: Segment, fd: number, dirty: boolean): Promise<void> {
    const rawPath = seg.path;
    try {
      if (dirty) {
        try {
          await fdatasyncAsync(fd);
        } catch (err) {
          this.counters.writeErrors++;
          this.#log.error({ err }, 'journal fsync failed');
        }
      }
      await closeFdAsync(fd).catch((err: unknown) =>
        this.#log.warn({ err }, 'closing a sealed segment failed'),
      );
      if (this.#dropped.has(seg)) return;
      let copy: Awaited<ReturnType<typeof sealInBackground>>;
      try {
        copy = await sealInBackground(this.#o.dir, rawPath, seg, () => this.#dropped.has(seg));
      } catch (err) {
        this.counters.writeErrors++;
        this.#log.error({ err, path: rawPath }, 'cannot seal a journal segment; kept uncompressed');
        return;
      }
      if (copy === undefined) return;
      if (this.#dropped.has(seg)) {
        // Dropped between the seal's last look and this one.
        for (const p of [copy.path, join(this.#o.dir, indexName(seg.first))]) await rm(p, { force: true });
        return;
      }
      // Reads go to the copy from here on; then the raw file may go.
      this.#installSealed(seg, copy);
      await rm(rawPath, { force: true });
      if (this.#refusing && this.bytes < this.#maxBytes) {
        this.#refusing = false;
        this.#log.info({ refused: this.counters.refused }, 'journal has room again; taking messages');
      }
    } finally {
      this.#sealing.delete(seg);
    }
  }

  /** The segment is its compressed copy from now on. */
  #installSealed(seg: Segment, copy: { readonly path: string; readonly bytes: number }): void {
    seg.path = copy.path;
    this.#bytes += copy.bytes - seg.bytes;
    seg.bytes = copy.bytes;
    seg.compressed = true;
    if (this.#cache?.first === seg.first) this.#cache = undefined;
  }

  /** Frees room for `bytes` more; false when the message must be refused. */
  #makeRoom(bytes: number): boolean {
    if (this.#refusing) {
      this.counters.refused++;
      return false;
    }
    if (this.bytes + bytes <= this.#maxBytes) return true;
    if ((this.#o.whenFull ?? 'drop-oldest') === 'stop-sampling') {
      this.#refusing = true;
      this.counters.refused++;
      this.#log.warn(
        { bytes: this.bytes, maxBytes: this.#maxBytes, backlog: this.backlog },
        'journal full; not taking new messages until the hub acknowledges (whenFull: stop-sampling)',
      );
      return false;
    }
    let lost = 0;
    while (this.bytes + bytes > this.#maxBytes) {
      if (this.#segments.length === 1) this.#seal();
      lost += this.#dropOldest();
    }
    if (lost > 0) {
      this.counters.dropped += lost;
      this.#log.warn(
        { messages: lost, maxBytes: this.#maxBytes },
        'journal full; dropped its oldest unacknowledged messages (whenFull: drop-oldest)',
      );
    }
    return true;
  }

  /** Deletes the oldest segment; returns how many unacknowledged messages went with it. */
  #dropOldest(): number {
    const seg = this.#segments.shift()!;
    const lost = Math.max(0, seg.last - Math.max(this.#state.acked, seg.first - 1));
    this.#remove(seg);
    return lost;
  }

  /** Deletes sealed segments that hold nothing unacknowledged. */
  #trim(): void {
    while (this.#segments.length > 1 && this.#segments[0]!.last <= this.#state.acked) {
      this.#remove(this.#segments.shift()!);
    }
  }

  #remove(seg: Segment): void {
    // A background seal of it stops at its next step and removes what it wrote.
    if (this.#sealing.has(seg)) this.#dropped.add(seg);
    this.#bytes -= seg.bytes;
    if (this.#cache?.first === seg.first) this.#cache = undefined;
    rmSync(seg.path, { force: true });
    rmSync(join(this.#o.dir, indexName(seg.first)), { force: true });
  }
}
