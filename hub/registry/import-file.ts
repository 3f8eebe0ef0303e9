/**
 * Reads an import file into rows of cell text: CSV (RFC 4180, UTF-8 with or without BOM,
 * comma-separated, quoted fields may hold commas, quotes and line breaks) or XLSX (the first
 * worksheet). What the cells mean is import.ts's business.
 *
 * The file is read within IMPORT_LIMITS while it arrives: CSV is parsed chunk by chunk and
 * refused at the first limit it passes; an XLSX (a zip, whose directory sits at its end) is
 * held whole up to maxBytes, and each part the reader needs is inflated as a stream against
 * its declared size and the XML budget, never trusting what the zip says. The pieces are in
 * import-file/.
 */
import type { Readable } from 'node:stream';
import { HubError } from '../errors.js';
import { CsvReader } from './import-file/csv.js';
import { IMPORT_LIMITS, type ImportLimits, importTooLarge } from './import-file/limits.js';
import { readXlsx } from './import-file/xlsx.js';

export { IMPORT_LIMITS, type ImportLimits };

export type TableFormat = 'csv' | 'xlsx';

/** One non-blank row and its number as a spreadsheet shows it (the header is row 1). */
export interface TableRow {
  readonly n: number;
  readonly cells: readonly string[];
}

/** From a file name or a content type; undefined when neither says. */
export function formatOf(nameOrType: string): TableFormat | undefined {
  const s = nameOrType.toLowerCase();
  if (s.endsWith('.csv') || s.startsWith('text/csv')) return 'csv';
  if (s.endsWith('.xlsx') || s.startsWith('application/vnd.openxmlformats-officedocument.spreadsheetml'))
    return 'xlsx';
  return undefined;
}

export interface ReadOptions {
  readonly limits?: ImportLimits;
  /** The length the sender announced (Content-Length, a file's size): refused before reading when over. */
  readonly declaredBytes?: number;
}

/** A table from a file already in memory (tests; small files). */
export async function readTable(
  bytes: Uint8Array,
  format: TableFormat,
  name: string,
  o: ReadOptions = {},
): Promise<TableRow[]> {
  const limits = o.limits ?? IMPORT_LIMITS;
  if (bytes.byteLength > limits.maxBytes) throw importTooLarge(name, limits);
  if (format === 'xlsx') return readXlsx(Buffer.from(bytes), name, limits);
  const csv = new CsvReader(name, limits);
  csv.feed(bytes);
  return csv.end();
}

/**
 * A table from a stream (an HTTP body, a file), refused at the first limit it passes. On a
 * refusal the rest of the stream is left flowing and discarded; an HTTP caller should close
 * the connection (`connection: close`), as the sender may still be sending.
 */
export async function readTableFrom(
  body: Readable,
  format: TableFormat,
  name: string,
  o: ReadOptions = {},
): Promise<TableRow[]> {
  const limits = o.limits ?? IMPORT_LIMITS;
  if (o.declaredBytes !== undefined && o.declaredBytes > limits.maxBytes) {
    body.resume();
    throw importTooLarge(name, limits);
  }
  if (format === 'csv') {
    const csv = new CsvReader(name, limits);
    await consume(body, name, limits, (chunk) => csv.feed(chunk));
    return csv.end();
  }
  const chunks: Buffer[] = [];
  await consume(body, name, limits, (chunk) => chunks.push(chunk));
  return readXlsx(Buffer.concat(chunks), name, limits);
}

/** Feeds the stream's chunks to `onChunk` until its end, maxBytes, or the first error thrown. */
function consume(
  body: Readable,
  name: string,
  limits: ImportLimits,
  onChunk: (chunk: Buffer) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    if (body.readableEnded) {
      resolve();
      return;
    }
    let bytes = 0;
    const stop = (err?: unknown): void => {
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onError);
      body.off('close', onClose);
      if (err === undefined) {
        resolve();
        return;
      }
      // Whatever else arrives is discarded, not buffered.
      body.resume();
      reject(err);
    };
    const onData = (chunk: Buffer | string): void => {
      const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      bytes += b.length;
      if (bytes > limits.maxBytes) {
        stop(importTooLarge(name, limits));
        return;
      }
      try {
        onChunk(b);
      } catch (err) {
        stop(err);
      }
    };
    const onEnd = (): void => stop();
    const onError = (err: Error): void =>
      stop(
        new HubError('WANJI_E_REGISTRY_IMPORT_FORMAT', `${name}: the upload broke off (${err.message})`, {
          cause: err,
        }),
      );
    const onClose = (): void =>
      stop(new HubError('WANJI_E_REGISTRY_IMPORT_FORMAT', `${name}: the upload broke off before its end`));
    body.on('data', onData);
    body.once('end', onEnd);
    body.once('error', onError);
    body.once('close', onClose);
  });
}

/** RFC 4180, for trusted text (reading an export back): every row, blank ones as `['']`. */
export function parseCsv(text: string, name = 'CSV'): string[][] {
  const csv = new CsvReader(name, UNLIMITED, { keepBlank: true });
  csv.feedText(text);
  return csv.end().map((r) => [...r.cells]);
}

const UNLIMITED: ImportLimits = {
  maxBytes: Number.POSITIVE_INFINITY,
  maxRows: Number.POSITIVE_INFINITY,
  maxColumns: Number.POSITIVE_INFINITY,
  maxCells: Number.POSITIVE_INFINITY,
  maxCellChars: Number.POSITIVE_INFINITY,
  maxXmlBytes: Number.POSITIVE_INFINITY,
};
