/**
 * Any statistics table as CSV or XLSX (docs/statistics.md "Export").
 *
 * CSV is one clean table, a header row then the data (and the total row last), so it imports
 * anywhere: UTF-8 with a byte-order mark, so spreadsheet programs read the Chinese names
 * right; texts that would start a formula are neutralised; rates as percentage texts rounded
 * to one decimal ("85.3%"). XLSX: the table on the first sheet (numbers stay numbers, rates
 * stay fractions under a one-decimal percent format, texts stay texts, the total row bold),
 * and a second sheet stating when, over which windows, for which scope and from which hub.
 */
import ExcelJS from 'exceljs';

export type Cell = string | number | boolean | null;

export interface Column {
  readonly key: string;
  /** Header text. */
  readonly title: string;
  /** A 0–1 rate: a one-decimal percentage ("85.3%" in CSV, the `0.0%` format in XLSX). */
  readonly rate?: boolean;
}

export interface Table {
  /** The sheet's name (XLSX). */
  readonly name: string;
  readonly columns: readonly Column[];
  readonly rows: readonly Readonly<Record<string, Cell>>[];
  /** Total (合计) rows, written after the data. */
  readonly totals?: readonly Readonly<Record<string, Cell>>[];
  /** XLSX only: a second sheet of [label, value] lines (说明 / About). */
  readonly about?: { readonly name: string; readonly lines: readonly (readonly [string, string])[] };
}

/**
 * A text a spreadsheet would take for a formula (OWASP "CSV injection"): `=`, `+`, `-`, `@`,
 * tab or carriage return first. Names come from the registry, gateways and child hubs.
 */
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * One CSV field. A text that could start a formula is prefixed with `'` (shown, never run) and
 * quoted; a number stays a number, negative or not.
 */
export function csvField(v: Cell): string {
  if (v === null) return '';
  if (typeof v === 'string' && FORMULA_START.test(v)) return `"'${v.replaceAll('"', '""')}"`;
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/**
 * A 0–1 rate as a percentage rounded half up to one decimal: 0.8535 → "85.4%". The product is
 * first taken to 12 significant digits, so 0.8535 × 100 = 85.35000000000001 and
 * 0.8525 × 100 = 85.25 round alike, as a spreadsheet's `0.0%` shows them.
 */
export function percentText(rate: number): string {
  const pct = Number((rate * 100).toPrecision(12));
  return `${(Math.round(pct * 10) / 10).toFixed(1)}%`;
}

function csvCell(c: Column, v: Cell): string {
  return csvField(c.rate === true && typeof v === 'number' ? percentText(v) : v);
}

export function toCsv(t: Table): string {
  const lines = [t.columns.map((c) => csvField(c.title)).join(',')];
  for (const r of [...t.rows, ...(t.totals ?? [])]) {
    lines.push(t.columns.map((c) => csvCell(c, r[c.key] ?? null)).join(','));
  }
  return `\uFEFF${lines.join('\r\n')}\r\n`;
}

/** Columns wide enough for their header: a CJK character takes two widths. */
const displayWidth = (s: string): number =>
  [...s].reduce((n, ch) => n + (/[\u1100-\uffff]/.test(ch) ? 2 : 1), 0);

/** A sheet name Excel takes: at most 31 characters, none of `\ / ? * [ ] :`. */
const sheetName = (s: string): string => s.replace(/[\\/?*[\]:]/g, ' ').slice(0, 31) || 'Sheet';

export async function toXlsx(t: Table): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  wb.creator = 'Wanji';
  const sheet = wb.addWorksheet(sheetName(t.name));
  sheet.columns = t.columns.map((c) => ({
    header: c.title,
    key: c.key,
    width: Math.max(10, Math.min(40, displayWidth(c.title) + 2)),
    ...(c.rate === true ? { style: { numFmt: '0.0%' } } : {}),
  }));
  // A string cell is written as text (a shared string), never as a formula, whatever it starts with.
  const add = (r: Readonly<Record<string, Cell>>) =>
    sheet.addRow(Object.fromEntries(t.columns.map((c) => [c.key, r[c.key] ?? null])));
  for (const r of t.rows) add(r);
  for (const r of t.totals ?? []) add(r).font = { bold: true };
  sheet.getRow(1).font = { bold: true };
  sheet.views = [{ state: 'frozen', ySplit: 1 }];
  if (t.about !== undefined) {
    const about = wb.addWorksheet(sheetName(t.about.name));
    const labelWidth = Math.max(...t.about.lines.map(([label]) => displayWidth(label)), 8);
    about.columns = [{ width: labelWidth + 2 }, { width: 100, style: { alignment: { wrapText: true } } }];
    for (const line of t.about.lines) about.addRow([...line]);
    about.getColumn(1).font = { bold: true };
  }
  return Buffer.from(await wb.xlsx.writeBuffer());
}
