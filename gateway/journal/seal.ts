/**
 * Sealing a full segment: its raw frames deflated into `<first>.segz` (JSON frames shrink several
 * times: the metric names repeat), with a sidecar `<first>.idx` of its figures. Crash-safe order:
 * the compressed copy is complete and renamed into place before the index names it, and the raw
 * file goes only after that (the opener, store.ts, removes a raw file left next to its compressed
 * copy, and reads a compressed one without an index whole).
 *
 * Two ways, the same order: `sealBlocking` on the event loop (a bare Journal's default), and
 * `sealInBackground` with the file system's and zlib's callbacks, which run on libuv's thread
 * pool, so a process holding a hundred gateways is not stalled while one of them seals. The
 * background one also flushes the compressed copy and the folder to the disk before the raw
 * file may go, which costs the event loop nothing there.
 */
import { closeSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { deflateRaw, deflateRawSync } from 'node:zlib';
import { indexName, type SegmentIndex, segmentName } from './format.js';

const deflateRawAsync = promisify(deflateRaw);

/** The sealed segment's figures, apart from its compressed size. */
export interface SealFigures {
  readonly first: number;
  readonly last: number;
  readonly lastAt: number;
}

/** Where the compressed copy is and its size. */
export interface SealedCopy {
  readonly path: string;
  readonly bytes: number;
}

const indexText = (f: SealFigures, bytes: number): string =>
  JSON.stringify({
    first: f.first,
    last: f.last,
    bytes,
    lastAt: f.lastAt,
    compressed: true,
  } satisfies SegmentIndex);

/**
 * Seals on the event loop: closes `fd` (the caller has flushed it), writes the compressed copy
 * and its index, removes the raw file. Throws when a step fails (the raw file is then kept).
 */
export function sealBlocking(dir: string, fd: number, rawPath: string, f: SealFigures): SealedCopy {
  closeSync(fd);
  const z = deflateRawSync(readFileSync(rawPath), { level: 1 });
  const zPath = join(dir, segmentName(f.first, true));
  writeFileSync(`${zPath}.tmp`, z, { mode: 0o600 });
  renameSync(`${zPath}.tmp`, zPath);
  writeFileSync(join(dir, indexName(f.first)), indexText(f, z.length), { mode: 0o600 });
  rmSync(rawPath, { force: true });
  return { path: zPath, bytes: z.length };
}

/**
 * Seals off the event loop, up to the point where the compressed copy and its index are on the
 * disk (the raw file is still there: the caller switches its reads to the copy, then removes
 * it). `gone()` says the journal dropped the segment meanwhile (acknowledged, full, expired):
 * then what this wrote is removed and the answer is undefined. Throws when a step fails, after
 * removing what it wrote; the raw file is kept.
 */
export async function sealInBackground(
  dir: string,
  rawPath: string,
  f: SealFigures,
  gone: () => boolean,
): Promise<SealedCopy | undefined> {
  const zPath = join(dir, segmentName(f.first, true));
  const tmp = `${zPath}.tmp`;
  const idx = join(dir, indexName(f.first));
  const undo = async (paths: readonly string[]): Promise<undefined> => {
    for (const p of paths) await rm(p, { force: true });
    return undefined;
  };
  let renamed = false;
  try {
    const z = await deflateRawAsync(await readFile(rawPath), { level: 1 });
    if (gone()) return undefined;
    const file = await open(tmp, 'w', 0o600);
    try {
      await file.writeFile(z);
      await file.datasync();
    } finally {
      await file.close();
    }
    if (gone()) return await undo([tmp]);
    await rename(tmp, zPath);
    renamed = true;
    // Dropped while renaming: a crash before the next line leaves a copy whose messages come
    // back on reopening (replayed again, never lost); the window is one rename long.
    if (gone()) return await undo([zPath]);
    await writeFile(idx, indexText(f, z.length), { mode: 0o600 });
    await syncFolder(dir);
    if (gone()) return await undo([zPath, idx]);
    return { path: zPath, bytes: z.length };
  } catch (err) {
    // Kept uncompressed: nothing of the copy may stay to be taken for the segment on reopening.
    await undo(renamed ? [tmp, zPath, idx] : [tmp]).catch(() => undefined);
    if (gone()) return undefined;
    throw err;
  }
}

/** Flushes a folder's entries (a rename, a new file) to the disk. */
async function syncFolder(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
