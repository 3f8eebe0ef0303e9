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
 */
import {
  closeSync,
  fdatasyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import type { Logger } from 'pino';
import type { MetricUpdate } from '../../protocol/metrics.js';
import { encodeFrameShared, frameAt, indexName, type JournalRecord, segmentName } from './format.js';
import {
  type JournalState,
  loadSegments,
  loadState,
  type ReadCache,
  readFrames,
  type Segment,
  writeState,
} from './store.js';

export type WhenFull = 'drop-oldest' | 'stop-sampling';

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
  readonly #segments: Segment[] = [];
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

  /** Flushes appends to the disk if any are pending; called by the timer and by close(). */
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
    if (this.#dirty && now - this.#lastSync >= this.#fsyncMs) this.sync();
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

  close(): void {
    if (this.#closed) return;
    this.sync();
    this.#closed = true;
    this.#stateDirty = true;
    this.#saveState();
    closeSync(this.#fd);
  }

  #active(): Segment {
    return this.#segments.at(-1)!;
  }

  #saveState(): void {
    if (!this.#stateDirty) return;
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
   * Closes the active segment, compresses it (JSON frames shrink several times: the metric
   * names repeat), writes its index, and opens the next. Crash-safe order: the compressed
   * copy is complete (renamed into place) before the index names it and the raw file goes.
   */
  #seal(): void {
    const active = this.#active();
    this.sync();
    const dir = this.#o.dir;
    try {
      closeSync(this.#fd);
      const z = deflateRawSync(readFileSync(active.path), { level: 1 });
      const zPath = join(dir, segmentName(active.first, true));
      writeFileSync(`${zPath}.tmp`, z, { mode: 0o600 });
      renameSync(`${zPath}.tmp`, zPath);
      const idx = {
        first: active.first,
        last: active.last,
        bytes: z.length,
        lastAt: active.lastAt,
        compressed: true,
      };
      writeFileSync(join(dir, indexName(active.first)), JSON.stringify(idx), { mode: 0o600 });
      rmSync(active.path, { force: true });
      active.path = zPath;
      this.#bytes += z.length - active.bytes;
      active.bytes = z.length;
      active.compressed = true;
      if (this.#cache?.first === active.first) this.#cache = undefined;
    } catch (err) {
      this.counters.writeErrors++;
      this.#log.error({ err, path: active.path }, 'cannot seal a journal segment; kept uncompressed');
    }
    this.#fd = this.#openSegment(active.last + 1);
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
    this.#bytes -= seg.bytes;
    if (this.#cache?.first === seg.first) this.#cache = undefined;
    rmSync(seg.path, { force: true });
    rmSync(join(this.#o.dir, indexName(seg.first)), { force: true });
  }
}
