/**
 * Just enough of ZIP to read an XLSX's parts without trusting it: the central directory at the
 * file's end lists each entry's declared sizes; an entry is inflated as a stream, chunk by
 * chunk, and refused as soon as it inflates beyond what it declared or the caller's budget.
 * Nothing is inflated whole, so a zip bomb costs at most the budget in CPU and nothing held.
 */
import { createInflateRaw } from 'node:zlib';
import type { ImportLimits } from './limits.js';
import { importFormat, xmlTooLarge } from './limits.js';

export interface ZipEntry {
  readonly path: string;
  readonly method: number;
  readonly flags: number;
  readonly compressedSize: number;
  /** The uncompressed size the directory declares (a bomb may lie; inflating checks it). */
  readonly size: number;
  readonly localOffset: number;
}

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const ZIP64 = 0xffffffff;
const CHUNK = 64 * 1024;

/** The entries of the zip's central directory, by path. */
export function zipEntries(zip: Buffer, name: string): Map<string, ZipEntry> {
  const bad = (why: string) => importFormat(name, `not a readable XLSX workbook (${why})`);
  // The end record is 22 bytes plus a comment of up to 65,535.
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 65_535); i--) {
    if (zip.readUInt32LE(i) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw bad('no zip directory');
  const count = zip.readUInt16LE(eocd + 10);
  const dirSize = zip.readUInt32LE(eocd + 12);
  const dirOffset = zip.readUInt32LE(eocd + 16);
  if (count === 0xffff || dirOffset === ZIP64 || dirSize === ZIP64) {
    throw bad(
      'ZIP64 is not read; an import file is far smaller than 4 GB: save it again from the spreadsheet',
    );
  }
  if (dirOffset + dirSize > eocd) throw bad('the zip directory lies outside the file');
  const entries = new Map<string, ZipEntry>();
  let at = dirOffset;
  for (let k = 0; k < count; k++) {
    if (at + 46 > eocd || zip.readUInt32LE(at) !== CENTRAL) throw bad('a damaged zip directory');
    const nameLen = zip.readUInt16LE(at + 28);
    const extraLen = zip.readUInt16LE(at + 30);
    const commentLen = zip.readUInt16LE(at + 32);
    const entry: ZipEntry = {
      path: zip.toString('utf8', at + 46, at + 46 + nameLen),
      flags: zip.readUInt16LE(at + 8),
      method: zip.readUInt16LE(at + 10),
      compressedSize: zip.readUInt32LE(at + 20),
      size: zip.readUInt32LE(at + 24),
      localOffset: zip.readUInt32LE(at + 42),
    };
    if (!entries.has(entry.path)) entries.set(entry.path, entry);
    at += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

/** What inflating may still produce, shared by every entry one import reads. */
export interface XmlBudget {
  left: number;
}

/**
 * Inflates one entry chunk by chunk into `onChunk`, refusing it when it declares more than
 * the budget left, or inflates beyond its declared size. Resolves once it has all been fed.
 */
export async function inflateEntry(
  zip: Buffer,
  e: ZipEntry,
  name: string,
  limits: ImportLimits,
  budget: XmlBudget,
  onChunk: (chunk: Buffer) => void,
): Promise<void> {
  const bad = (why: string) => importFormat(name, `not a readable XLSX workbook (${e.path}: ${why})`);
  if ((e.flags & 1) !== 0) throw bad('encrypted; save the workbook without a password');
  if (e.size === ZIP64 || e.compressedSize === ZIP64) throw bad('ZIP64 is not read');
  if (e.size > budget.left) throw xmlTooLarge(name, e.path, e.size, limits);
  const at = e.localOffset;
  if (at + 30 > zip.length || zip.readUInt32LE(at) !== LOCAL) throw bad('a damaged local header');
  const start = at + 30 + zip.readUInt16LE(at + 26) + zip.readUInt16LE(at + 28);
  const end = start + e.compressedSize;
  if (end > zip.length) throw bad('the data runs past the end of the file');
  const data = zip.subarray(start, end);
  let produced = 0;
  const take = (chunk: Buffer): void => {
    produced += chunk.length;
    // Its declaration already fits the budget, so a part within it fits too.
    if (produced > e.size) {
      throw bad(`it inflates beyond the ${e.size} bytes it declares: the file is damaged or crafted`);
    }
    onChunk(chunk);
  };
  if (e.method === 0) {
    for (let i = 0; i < data.length; i += CHUNK) {
      take(data.subarray(i, i + CHUNK));
      // Let other requests in between pieces.
      await new Promise<void>((r) => setImmediate(r));
    }
  } else if (e.method === 8) {
    await new Promise<void>((resolve, reject) => {
      const inflate = createInflateRaw({ chunkSize: CHUNK });
      let failed = false;
      const fail = (err: unknown): void => {
        if (failed) return;
        failed = true;
        inflate.destroy();
        reject(err);
      };
      inflate.on('data', (chunk: Buffer) => {
        if (failed) return;
        try {
          take(chunk);
        } catch (err) {
          fail(err);
        }
      });
      inflate.once('error', (err) => fail(bad(`cannot inflate: ${err.message}`)));
      inflate.once('end', () => {
        if (!failed) resolve();
      });
      inflate.end(data);
    });
  } else {
    throw bad(`compression method ${e.method} is not read; save the workbook again from the spreadsheet`);
  }
  budget.left -= produced;
}
