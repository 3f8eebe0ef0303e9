/**
 * Any statistics table as CSV (UTF-8 with a byte-order mark, so spreadsheet programs read the
 * Chinese names right; texts that would start a formula are neutralised) or XLSX (one sheet;
 * numbers stay numbers, rates stay fractions with a percent format, texts stay texts).
 */
import ExcelJS from 'exceljs';

export type Cell = string | number | boolean | null;

export interface Column {
  readonly key: string;
  /** Header text. */
  readonly title: string;
  /** A 0–1 rate: a percent format in XLSX. */
  readonly rate?: boolean;
}

export interface Table {
  readonly name: string;
  readonly columns: readonly Column[];
  readonly rows: readonly Readonly<Record<string, Cell>>[];
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

export function toCsv(t: Table): string {
  const lines = [t.columns.map((c) => csvField(c.title)).join(',')];
  for (const r of t.rows) lines.push(t.columns.map((c) => csvField(r[c.key] ?? null)).join(','));
  return `\uFEFF${lines.join('\r\n')}\r\n`;
}

export async function toXlsx(t: Table): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  wb.creator = 'Wanji';
  const sheet = wb.addWorksheet(t.name.slice(0, 31));
  sheet.columns = t.columns.map((c) => ({
    header: c.title,
    key: c.key,
    width: Math.max(10, Math.min(40, c.title.length + 4)),
    ...(c.rate === true ? { style: { numFmt: '0.0%' } } : {}),
  }));
  // A string cell is written as text (a shared string), never as a formula, whatever it starts with.
  for (const r of t.rows) sheet.addRow(Object.fromEntries(t.columns.map((c) => [c.key, r[c.key] ?? null])));
  sheet.getRow(1).font = { bold: true };
  sheet.views = [{ state: 'frozen', ySplit: 1 }];
  return Buffer.from(await wb.xlsx.writeBuffer());
}
