/** How much one import may hold (docs/api.md, "Imports"), and the refusals when it holds more. */
import { HubError, type HubErrorCode } from '../../errors.js';
import { type ImportReason, reason } from '../import-reasons.js';

/**
 * A whole file refused (its size, its shape, its header), with why as codes and parameters
 * (import-reasons.ts) beside the English message; the import routes send them as `reasons`.
 */
export class ImportRefusal extends HubError {
  readonly reasons: readonly ImportReason[];
  constructor(code: HubErrorCode, message: string, reasons: readonly ImportReason[], options?: ErrorOptions) {
    super(code, message, options);
    this.name = 'ImportRefusal';
    this.reasons = reasons;
  }
}

/** Why a refused file was refused: an ImportRefusal's reasons, else its message as fileUnreadable. */
export function refusalReasons(err: Error): readonly ImportReason[] {
  return err instanceof ImportRefusal ? err.reasons : [reason('fileUnreadable', { detail: err.message })];
}

export interface ImportLimits {
  /** The file as sent or read: the CSV text, or the XLSX (zip) itself. */
  readonly maxBytes: number;
  /**
   * Rows after the header, blank rows included (so a file of newlines stops here too). A city
   * has a few thousand enterprises.
   */
  readonly maxRows: number;
  /** A value in a column further right is refused; empty cells there are ignored. */
  readonly maxColumns: number;
  /** Cells held in all, each non-blank row counting up to its last filled cell. */
  readonly maxCells: number;
  /** Characters in one cell: Excel's own limit. */
  readonly maxCellChars: number;
  /** XLSX: the XML inflated from the parts read (relationships, workbook, shared strings, first sheet). */
  readonly maxXmlBytes: number;
}

const MiB = 1_048_576;

export const IMPORT_LIMITS: ImportLimits = Object.freeze({
  maxBytes: 16 * MiB,
  maxRows: 100_000,
  maxColumns: 256,
  maxCells: 1_000_000,
  maxCellChars: 32_767,
  maxXmlBytes: 64 * MiB,
});

const n = (x: number): string => x.toLocaleString('en-US');

export function importTooLarge(name: string, limits: ImportLimits): HubError {
  return new ImportRefusal(
    'WANJI_E_REGISTRY_IMPORT_TOO_LARGE',
    `${name}: larger than ${n(limits.maxBytes)} bytes, the most one import takes; split the file (at most ${n(limits.maxRows)} rows each)`,
    [reason('tooLarge', { maxBytes: limits.maxBytes, maxRows: limits.maxRows })],
  );
}

export function xmlTooLarge(name: string, part: string, bytes: number, limits: ImportLimits): HubError {
  return new HubError(
    'WANJI_E_REGISTRY_IMPORT_TOO_LARGE',
    `${name}: ${part} expands to ${bytes === Number.POSITIVE_INFINITY ? 'more' : n(bytes)} bytes of XML, over the ${n(limits.maxXmlBytes)} an import reads; keep only the ledger sheet in the workbook, split it, or save it as CSV UTF-8`,
  );
}

/** A file that cannot be read as a table; `why` when the catalogue has words for it. */
export function importFormat(name: string, problem: string, why?: ImportReason): HubError {
  return new ImportRefusal('WANJI_E_REGISTRY_IMPORT_FORMAT', `${name}: ${problem}`, [
    why ?? reason('fileUnreadable', { detail: problem }),
  ]);
}

export function tooManyRows(name: string, limits: ImportLimits): HubError {
  return importFormat(
    name,
    `more than ${n(limits.maxRows)} rows after the header (blank rows count too); one import takes at most ${n(limits.maxRows)}: split the file`,
    reason('tooManyRows', { max: limits.maxRows }),
  );
}

export function tooManyCells(name: string, limits: ImportLimits): HubError {
  return importFormat(
    name,
    `more than ${n(limits.maxCells)} cells; delete the columns the import does not need, or split the file`,
    reason('tooManyCells', { max: limits.maxCells }),
  );
}

export function beyondColumn(name: string, row: number, column: number, limits: ImportLimits): HubError {
  return importFormat(
    name,
    `row ${row} has a value in column ${n(column)}; an import reads at most ${n(limits.maxColumns)} columns: delete the cells to the right`,
    reason('beyondColumn', { row: String(row), column: String(column), max: limits.maxColumns }),
  );
}

export function cellTooLong(name: string, row: number, column: number, limits: ImportLimits): HubError {
  return importFormat(
    name,
    `row ${row}, column ${n(column)} holds more than ${n(limits.maxCellChars)} characters (the most a spreadsheet cell holds)`,
    reason('cellTooLong', { row: String(row), column: String(column), max: limits.maxCellChars }),
  );
}
