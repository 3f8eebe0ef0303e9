/**
 * Opening a journal folder: its state file (id and acknowledged position) and its segments,
 * the last one scanned and cut back to its last good frame. Format: format.ts.
 */
import { randomUUID } from 'node:crypto';
import {
  closeSync,
  ftruncateSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import type { Logger } from 'pino';
import {
  COMPRESSED_SUFFIX,
  indexName,
  parseIndex,
  parseSegmentName,
  scanFrames,
  segmentName,
} from './format.js';

export interface JournalState {
  id: string;
  /** Every position up to here is acknowledged. */
  acked: number;
}

export interface Segment {
  readonly first: number;
  /** first − 1 while empty. */
  last: number;
  bytes: number;
  lastAt: number;
  path: string;
  /** Sealed and deflated (`.segz`); read whole, never appended to. */
  compressed: boolean;
}

const STATE_FILE = 'state.json';

/** The journal's state; a new id (and nothing acknowledged) when there is none or it is damaged. */
export function loadState(dir: string, log: Logger): JournalState {
  const path = join(dir, STATE_FILE);
  try {
    const s = JSON.parse(readFileSync(path, 'utf8')) as Partial<JournalState>;
    if (typeof s.id === 'string' && Number.isSafeInteger(s.acked) && (s.acked ?? -1) >= 0) {
      return { id: s.id, acked: s.acked! };
    }
    log.error({ path }, 'journal state file is damaged; starting a new journal id');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      log.error({ err, path }, 'cannot read the journal state; starting a new journal id');
    }
  }
  const state = { id: randomUUID(), acked: 0 };
  writeState(dir, state);
  return state;
}

/** Replaces the state file atomically (write, then rename). */
export function writeState(dir: string, s: JournalState): void {
  const path = join(dir, STATE_FILE);
  writeFileSync(`${path}.tmp`, JSON.stringify(s), { mode: 0o600 });
  renameSync(`${path}.tmp`, path);
}

/** writeState off the event loop (a background journal's, one at a time). */
export async function writeStateInBackground(dir: string, s: JournalState): Promise<void> {
  const path = join(dir, STATE_FILE);
  await writeFile(`${path}.tmp`, JSON.stringify(s), { mode: 0o600 });
  await rename(`${path}.tmp`, path);
}

/**
 * The segments in position order. Sealed (compressed) ones are taken from their index when it
 * matches the file; the others (the active one, always) are scanned, and a torn or damaged
 * tail is cut off, counted in `counters.corruptBytes` and logged. A raw segment left next to
 * its compressed copy (a crash while sealing) is removed, and so is a half-written copy.
 */
export function loadSegments(dir: string, log: Logger, counters: { corruptBytes: number }): Segment[] {
  const byFirst = new Map<number, { raw: boolean; z: boolean }>();
  for (const name of readdirSync(dir)) {
    // A compressed copy cut short by a crash while sealing (the raw segment is still there).
    if (name.endsWith(`${COMPRESSED_SUFFIX}.tmp`)) {
      rmSync(join(dir, name), { force: true });
      continue;
    }
    const p = parseSegmentName(name);
    if (p === undefined) continue;
    const e = byFirst.get(p.first) ?? { raw: false, z: false };
    if (p.compressed) e.z = true;
    else e.raw = true;
    byFirst.set(p.first, e);
  }
  const segments: Segment[] = [];
  for (const [first, files] of [...byFirst].sort((a, b) => a[0] - b[0])) {
    const seg =
      (files.z ? compressedSegment(dir, first, log, counters) : undefined) ??
      (files.raw ? rawSegment(dir, first, log, counters) : undefined);
    if (seg === undefined) continue;
    if (seg.compressed && files.raw) rmSync(join(dir, segmentName(first)), { force: true });
    const prev = segments.at(-1);
    if (prev !== undefined && first !== prev.last + 1) {
      log.warn({ path: seg.path, expected: prev.last + 1 }, 'journal segments do not follow on');
    }
    segments.push(seg);
  }
  return segments;
}

function readIndex(dir: string, first: number, bytes: number, compressed: boolean) {
  try {
    return parseIndex(readFileSync(join(dir, indexName(first)), 'utf8'), first, bytes, compressed);
  } catch {
    return undefined;
  }
}

function compressedSegment(
  dir: string,
  first: number,
  log: Logger,
  counters: { corruptBytes: number },
): Segment | undefined {
  const path = join(dir, segmentName(first, true));
  const bytes = statSync(path).size;
  const idx = readIndex(dir, first, bytes, true);
  if (idx !== undefined) return { first, last: idx.last, bytes, lastAt: idx.lastAt, path, compressed: true };
  // No index (a crash while sealing): read it whole.
  try {
    const scan = scanFrames(inflateRawSync(readFileSync(path)), 0, first);
    if (scan.last === undefined) throw new Error('no frame');
    return { first, last: scan.last, bytes, lastAt: scan.lastAt ?? 0, path, compressed: true };
  } catch (err) {
    counters.corruptBytes += bytes;
    log.error({ err, path }, 'compressed journal segment cannot be read; its messages are lost');
    rmSync(path, { force: true });
    return undefined;
  }
}

function rawSegment(dir: string, first: number, log: Logger, counters: { corruptBytes: number }): Segment {
  const path = join(dir, segmentName(first));
  const bytes = statSync(path).size;
  const idx = readIndex(dir, first, bytes, false);
  if (idx !== undefined) return { first, last: idx.last, bytes, lastAt: idx.lastAt, path, compressed: false };
  const scan = scanFrames(readFileSync(path), 0, first);
  if (scan.badBytes > 0) {
    counters.corruptBytes += scan.badBytes;
    log.warn(
      { path, badBytes: scan.badBytes, keptUpTo: scan.last },
      'journal segment ends in a torn or damaged frame (a crash mid-write?); cut back to the last good one',
    );
    const fd = openSync(path, 'r+');
    try {
      ftruncateSync(fd, scan.end);
    } finally {
      closeSync(fd);
    }
  }
  return {
    first,
    last: scan.last ?? first - 1,
    bytes: scan.end,
    lastAt: scan.lastAt ?? statSync(path).mtimeMs,
    path,
    compressed: false,
  };
}

/** A segment's frames in memory for reading (the one the replay is in). */
export interface ReadCache {
  readonly first: number;
  buf: Buffer;
  offsets: number[];
}

/**
 * The segment's frames: `cache` when it already holds them, extended when the (active)
 * segment has grown since, read afresh otherwise (a compressed one is inflated whole).
 */
export function readFrames(seg: Segment, cache: ReadCache | undefined): ReadCache {
  if (cache !== undefined && cache.first === seg.first && (seg.compressed || cache.buf.length >= seg.bytes)) {
    return cache;
  }
  if (seg.compressed) {
    const buf = inflateRawSync(readFileSync(seg.path));
    return { first: seg.first, buf, offsets: scanFrames(buf, 0, seg.first).offsets };
  }
  const c =
    cache !== undefined && cache.first === seg.first
      ? cache
      : { first: seg.first, buf: Buffer.alloc(0), offsets: [] };
  const fd = openSync(seg.path, 'r');
  try {
    const more = Buffer.allocUnsafe(seg.bytes - c.buf.length);
    readSync(fd, more, 0, more.length, c.buf.length);
    const base = c.buf.length;
    c.buf = Buffer.concat([c.buf, more]);
    for (const o of scanFrames(c.buf, base, seg.first + c.offsets.length).offsets) c.offsets.push(o);
  } finally {
    closeSync(fd);
  }
  return c;
}
