/**
 * Opening a journal folder: its state file (id and acknowledged position) and its segments,
 * the last one scanned and cut back to its last good frame. Format: journal-file.ts.
 */
import { randomUUID } from 'node:crypto';
import {
  closeSync,
  ftruncateSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { INDEX_SUFFIX, parseIndex, parseSegmentName, scanFrames, segmentName } from './journal-file.js';

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
  readonly path: string;
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
  writeFileSync(`${path}.tmp`, JSON.stringify(s));
  renameSync(`${path}.tmp`, path);
}

/**
 * The segments in position order. Sealed ones are taken from their index when it matches the
 * file; the others (the last, always) are scanned, and a torn or damaged tail is cut off,
 * counted in `counters.corruptBytes` and logged.
 */
export function loadSegments(dir: string, log: Logger, counters: { corruptBytes: number }): Segment[] {
  const segments: Segment[] = [];
  const firsts = readdirSync(dir)
    .map(parseSegmentName)
    .filter((f): f is number => f !== undefined)
    .sort((a, b) => a - b);
  firsts.forEach((first, i) => {
    const path = join(dir, segmentName(first));
    const bytes = statSync(path).size;
    let idx: ReturnType<typeof parseIndex>;
    if (i < firsts.length - 1) {
      try {
        idx = parseIndex(readFileSync(path.replace(/\.seg$/, INDEX_SUFFIX), 'utf8'), first, bytes);
      } catch {
        idx = undefined;
      }
    }
    if (idx !== undefined) {
      segments.push({ first, last: idx.last, bytes, lastAt: idx.lastAt, path });
      return;
    }
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
    const prev = segments.at(-1);
    if (prev !== undefined && first !== prev.last + 1) {
      log.warn({ path, expected: prev.last + 1 }, 'journal segments do not follow on');
    }
    segments.push({
      first,
      last: scan.last ?? first - 1,
      bytes: scan.end,
      lastAt: scan.lastAt ?? statSync(path).mtimeMs,
      path,
    });
  });
  return segments;
}
