/**
 * How the imports read a table people made (docs/api.md "Imports"), shared by the ledger
 * import (import.ts) and the declaration imports (import-recognitions.ts): header names
 * compared ignoring case, width, spaces, `_` and `-`; a title of up to MAX_TITLE_ROWS rows
 * above the header; 合计 (total) rows.
 */
import { printableName } from '../../protocol/sparkplug/names.js';
import { ImportRefusal } from './import-file/limits.js';
import type { TableRow } from './import-file.js';
import { type ImportReason, reason } from './import-reasons.js';

/** A header name or a word in a cell as compared: NFKC, trimmed, lower case, no spaces, `_` or `-`. */
export const norm = (s: string): string =>
  s
    .normalize('NFKC')
    .trim()
    .toLowerCase()
    .replace(/[\s_-]+/g, '');

/** How many rows above the header may be a title: beyond that, the first row is the header. */
export const MAX_TITLE_ROWS = 5;

const TOTAL_WORDS = ['合计', '总计', '小计', '共计', 'total', 'totals', 'grandtotal', 'subtotal', 'sum'];

/** Whether a cell says its row is a total (an export's 合计), not a record. */
export const isTotal = (cell: string): boolean => TOTAL_WORDS.includes(norm(cell));

/** A row read but not imported on purpose: a title above the header, a 合计 (total) row. */
export interface SkippedRow {
  readonly row: number;
  /** title: above the header; total: a 合计 row. */
  readonly kind: 'title' | 'total';
  readonly reason: string;
}

/** A row's refusal reason: the English sentence the report lists and its code and parameters. */
export interface Fault {
  readonly message: string;
  readonly reason: ImportReason;
}

/** The refused row's reasons, each once, as the report's `reasons` (English) and `details`. */
export function faultLists(faults: readonly Fault[]): { reasons: string[]; details: ImportReason[] } {
  const seen = new Set<string>();
  const reasons: string[] = [];
  const details: ImportReason[] = [];
  for (const f of faults) {
    if (seen.has(f.message)) continue;
    seen.add(f.message);
    reasons.push(f.message);
    details.push(f.reason);
  }
  return { reasons, details };
}

const CHARACTER_KINDS: Readonly<Record<string, string>> = {
  'a control character': 'control',
  'a bidirectional control character': 'bidi',
  'a line separator': 'lineSeparator',
  'an invisible character': 'invisible',
};

/**
 * The code of a problem a shared check (protocol/sparkplug/names.ts, ledger.ts,
 * programme-records.ts) gave in English about `field` holding `value`; `other` with the
 * sentence when none fits.
 */
export function textReason(field: string, value: string, english: string): ImportReason {
  const shown = printableName(value, 40);
  const unsafe =
    /contains (a control character|a bidirectional control character|a line separator|an invisible character) \((U\+[0-9A-F]+)\)/.exec(
      english,
    );
  if (unsafe !== null)
    return reason('unsafeCharacter', {
      field,
      value: shown,
      kind: CHARACTER_KINDS[unsafe[1]!]!,
      char: unsafe[2]!,
    });
  if (english.includes('one of the MQTT characters'))
    return reason('mqttCharacters', { field, value: shown });
  const long = /is longer than (\d+) characters/.exec(english);
  if (long !== null)
    return reason('tooLong', { field, value: printableName(value, 24), max: Number(long[1]) });
  if (english.includes('(NFKC) form'))
    return reason('notPlainForm', { field, value: shown, plain: value.normalize('NFKC') });
  if (/\bis empty\b/.test(english)) return reason('empty', { field });
  return reason('other', { text: english });
}

export interface FoundHeader<F extends string> {
  readonly header: TableRow;
  /** Each field's column index. */
  readonly columns: ReadonlyMap<F, number>;
  /** Header cells naming no field. */
  readonly ignored: readonly string[];
  /** The rows below the header. */
  readonly rows: readonly TableRow[];
  /** The title rows above the header; the caller adds its total rows. */
  readonly skipped: SkippedRow[];
}

/**
 * The header row: the first of the first MAX_TITLE_ROWS + 1 rows that names every required
 * field (`spec`: the accepted header names of each); rows above it are a title. None: the
 * first row's problems (missing or repeated columns), as WANJI_E_REGISTRY_IMPORT_FORMAT.
 */
export function findHeader<F extends string>(
  table: readonly TableRow[],
  spec: Readonly<Record<F, readonly string[]>>,
  required: readonly F[],
  file: string,
): FoundHeader<F> {
  const lookup = new Map<string, F>();
  for (const [f, names] of Object.entries(spec) as [F, readonly string[]][]) {
    for (const n of names) lookup.set(norm(n), f);
  }
  for (let i = 0; i < Math.min(table.length, MAX_TITLE_ROWS + 1); i++) {
    const mapped = mapHeader(table[i]!.cells, lookup, spec, required);
    if (mapped.problems.length > 0) continue;
    const skipped = table
      .slice(0, i)
      .map((r) => ({ row: r.n, kind: 'title' as const, reason: TITLE_REASON }));
    return { header: table[i]!, ...mapped, rows: table.slice(i + 1), skipped };
  }
  const first = table[0];
  if (first === undefined) {
    throw new ImportRefusal('WANJI_E_REGISTRY_IMPORT_FORMAT', `${file}: the file is empty (no header row)`, [
      reason('fileEmpty'),
    ]);
  }
  const { problems } = mapHeader(first.cells, lookup, spec, required);
  throw new ImportRefusal(
    'WANJI_E_REGISTRY_IMPORT_FORMAT',
    `${file}: header row: ${problems.map((p) => p.message).join('; ')}`,
    problems.map((p) => p.reason),
  );
}

const TITLE_REASON = 'above the header row (a title): skipped';

function mapHeader<F extends string>(
  cells: readonly string[],
  lookup: ReadonlyMap<string, F>,
  spec: Readonly<Record<F, readonly string[]>>,
  required: readonly F[],
): { columns: Map<F, number>; ignored: string[]; problems: Fault[] } {
  const columns = new Map<F, number>();
  const ignored: string[] = [];
  const problems: Fault[] = [];
  cells.forEach((c, i) => {
    const f = lookup.get(norm(c.replace(/^\uFEFF/, '')));
    if (f === undefined) {
      if (c.trim() !== '') ignored.push(c);
    } else if (columns.has(f))
      problems.push({
        message: `column "${c}" repeats the ${f} column`,
        reason: reason('columnRepeated', { column: c, field: f }),
      });
    else columns.set(f, i);
  });
  for (const f of required) {
    if (!columns.has(f))
      problems.push({
        message: `no ${f} column (one of: ${spec[f].join(', ')})`,
        reason: reason('columnMissing', { field: f, names: spec[f].join(', ') }),
      });
  }
  return { columns, ignored, problems };
}

/** A refused data row: its number, its reasons (English and coded) and the headers of its bad columns. */
export interface RefusedRow {
  readonly row: number;
  readonly reasons: string[];
  readonly details: ImportReason[];
  readonly columns: string[];
}

/** One data row being checked: its cells by field, and the faults found in which columns. */
export class RowCheck<F extends string> {
  readonly faults: Fault[] = [];
  readonly bad = new Set<F>();
  readonly row: TableRow;
  readonly #columns: ReadonlyMap<F, number>;

  constructor(row: TableRow, columns: ReadonlyMap<F, number>) {
    this.row = row;
    this.#columns = columns;
  }

  /** The field's cell, trimmed; '' when the file has no such column. */
  cell(f: F): string {
    const i = this.#columns.get(f);
    return i === undefined ? '' : (this.row.cells[i] ?? '').trim();
  }

  fault(f: F, message: string, why: ImportReason): void {
    this.bad.add(f);
    this.faults.push({ message, reason: why });
  }
}

/**
 * Checks the data rows under the header: a 合计 (total) row, in the first column or in
 * `totalField`, is skipped and listed; every other row goes to `check`, and one with faults is
 * refused, naming the header cells of its bad columns.
 */
export function checkRows<F extends string>(
  found: FoundHeader<F>,
  totalField: F,
  check: (r: RowCheck<F>) => void,
): { refused: RefusedRow[]; dataRows: number; headerText: (f: F) => string } {
  const headerText = (f: F): string => found.header.cells[found.columns.get(f) ?? -1] ?? f;
  const refused: RefusedRow[] = [];
  let dataRows = 0;
  for (const row of found.rows) {
    const r = new RowCheck(row, found.columns);
    if (isTotal(row.cells[0] ?? '') || isTotal(r.cell(totalField))) {
      found.skipped.push({ row: row.n, kind: 'total', reason: 'a total (合计) row: skipped' });
      continue;
    }
    dataRows++;
    check(r);
    if (r.faults.length > 0) {
      refused.push({ row: row.n, ...faultLists(r.faults), columns: [...r.bad].map(headerText) });
    }
  }
  return { refused, dataRows, headerText };
}

/**
 * The same thing twice in one file (the same `key`): which row is right is the user's call, so
 * every such row is refused with `refusal` (given the rows it appears in); returns the others.
 */
export function refuseRepeats<P extends { readonly row: number; readonly key: string }>(
  parsed: readonly P[],
  refused: RefusedRow[],
  refusal: (rows: string) => Omit<RefusedRow, 'row'>,
): P[] {
  const rowsByKey = new Map<string, number[]>();
  for (const p of parsed) rowsByKey.set(p.key, [...(rowsByKey.get(p.key) ?? []), p.row]);
  for (const p of parsed) {
    const rows = rowsByKey.get(p.key)!;
    if (rows.length > 1) refused.push({ row: p.row, ...refusal(rows.slice(0, 10).join(', ')) });
  }
  return parsed.filter((p) => rowsByKey.get(p.key)!.length === 1);
}
