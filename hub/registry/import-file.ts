/**
 * Reads an import file into rows of cell text: CSV (RFC 4180, UTF-8 with or without BOM,
 * comma-separated, quoted fields may hold commas, quotes and line breaks) or XLSX (the first
 * worksheet). What the cells mean is import.ts's business.
 */
import ExcelJS from 'exceljs';
import { HubError } from '../errors.js';

export type TableFormat = 'csv' | 'xlsx';

/** One non-blank row and its number as a spreadsheet shows it (the header is row 1). */
export interface TableRow {
  readonly n: number;
  readonly cells: readonly string[];
}

/** The most data rows one import takes (a city has a few thousand enterprises). */
export const MAX_IMPORT_ROWS = 100_000;

/** From a file name or a content type; undefined when neither says. */
export function formatOf(nameOrType: string): TableFormat | undefined {
  const s = nameOrType.toLowerCase();
  if (s.endsWith('.csv') || s.startsWith('text/csv')) return 'csv';
  if (s.endsWith('.xlsx') || s.startsWith('application/vnd.openxmlformats-officedocument.spreadsheetml'))
    return 'xlsx';
  return undefined;
}

export async function readTable(bytes: Uint8Array, format: TableFormat, name: string): Promise<TableRow[]> {
  const rows =
    format === 'csv'
      ? parseCsv(decodeUtf8(bytes, name), name)
          .map((cells, i) => ({ n: i + 1, cells }))
          .filter((r) => r.cells.some((c) => c.trim() !== ''))
      : await readXlsx(bytes, name);
  if (rows.length - 1 > MAX_IMPORT_ROWS) {
    throw new HubError(
      'WANJI_E_REGISTRY_IMPORT_FORMAT',
      `${name}: ${rows.length - 1} rows; one import takes at most ${MAX_IMPORT_ROWS} (split the file)`,
    );
  }
  return rows;
}

function decodeUtf8(bytes: Uint8Array, name: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new HubError(
      'WANJI_E_REGISTRY_IMPORT_FORMAT',
      `${name}: not UTF-8 text (save the CSV as "CSV UTF-8", or import the .xlsx itself)`,
    );
  }
}

/** RFC 4180; a row is an array of field texts (a blank line is a row of one empty field). */
export function parseCsv(text: string, name = 'CSV'): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let i = 0;
  const endRow = (): void => {
    row.push(field);
    rows.push(row);
    row = [];
    field = '';
  };
  while (i < text.length) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
      } else field += c;
      i++;
      continue;
    }
    if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      endRow();
      if (c === '\r' && text[i + 1] === '\n') i++;
    } else field += c;
    i++;
  }
  if (quoted) {
    throw new HubError('WANJI_E_REGISTRY_IMPORT_FORMAT', `${name}: a quoted field is never closed`);
  }
  if (field !== '' || row.length > 0) endRow();
  return rows;
}

async function readXlsx(bytes: Uint8Array, name: string): Promise<TableRow[]> {
  const wb = new ExcelJS.Workbook();
  try {
    await wb.xlsx.load(Buffer.from(bytes) as unknown as ArrayBuffer);
  } catch (err) {
    throw new HubError('WANJI_E_REGISTRY_IMPORT_FORMAT', `${name}: not a readable XLSX workbook`, {
      cause: err,
    });
  }
  const sheet = wb.worksheets[0];
  if (sheet === undefined)
    throw new HubError('WANJI_E_REGISTRY_IMPORT_FORMAT', `${name}: the workbook has no sheet`);
  const rows: TableRow[] = [];
  const width = sheet.columnCount;
  sheet.eachRow({ includeEmpty: false }, (r) => {
    const cells = Array.from({ length: width }, (_, c) => cellText(r.getCell(c + 1).value));
    if (cells.some((t) => t.trim() !== '')) rows.push({ n: r.number, cells });
  });
  return rows;
}

function cellText(v: ExcelJS.CellValue): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v instanceof Date) return v.toISOString();
  if ('richText' in v) return v.richText.map((t) => t.text).join('');
  if ('result' in v) return cellText(v.result as ExcelJS.CellValue);
  if ('text' in v && typeof v.text === 'string') return v.text;
  if ('error' in v) return String(v.error);
  return '';
}
