/**
 * The first worksheet of an XLSX as rows of cell text, read part by part as streams (zip.ts,
 * xml.ts) within the import's limits: the package and workbook relationships to find the
 * sheet, the shared strings, then the sheet's rows. Cells read as exceljs showed them before:
 * text as is, numbers as JavaScript prints them, booleans as true/false, a formula's cached
 * result, an error as its code; dates stay the serial number the file holds.
 */
import { posix } from 'node:path';
import type { TableRow } from '../import-file.js';
import {
  beyondColumn,
  cellTooLong,
  type ImportLimits,
  importFormat,
  tooManyCells,
  tooManyRows,
} from './limits.js';
import { attr, decodeXml, type XmlHandler, XmlScanner } from './xml.js';
import { inflateEntry, type XmlBudget, type ZipEntry, zipEntries } from './zip.js';

/** Relationship types by their last segment: transitional and strict OOXML differ before it. */
const isType = (r: Relationship, kind: string): boolean => r.type.endsWith(`/${kind}`);

interface Relationship {
  readonly type: string;
  readonly target: string;
}

export async function readXlsx(zip: Buffer, name: string, limits: ImportLimits): Promise<TableRow[]> {
  const entries = zipEntries(zip, name);
  const budget: XmlBudget = { left: limits.maxXmlBytes };
  const read = async (path: string, h: XmlHandler): Promise<boolean> => {
    const e: ZipEntry | undefined = entries.get(path);
    if (e === undefined) return false;
    const scanner = new XmlScanner(h, `${name}: ${path}`);
    await inflateEntry(zip, e, name, limits, budget, (chunk) => scanner.feed(chunk));
    scanner.end();
    return true;
  };
  const rels = async (of: string): Promise<Map<string, Relationship>> => {
    const path = posix.join(posix.dirname(of), '_rels', `${posix.basename(of)}.rels`);
    const found = new Map<string, Relationship>();
    await read(path, relationships(found, posix.dirname(of)));
    return found;
  };
  const notWorkbook = (why: string) => importFormat(name, `not a readable XLSX workbook (${why})`);

  const root = await rels('');
  const workbook = [...root.values()].find((r) => isType(r, 'officeDocument'))?.target ?? 'xl/workbook.xml';
  let firstSheet: string | undefined;
  const found = await read(workbook, {
    open: (tag, attrs) => {
      if (tag === 'sheet' && firstSheet === undefined) firstSheet = attr(attrs, 'id') ?? '';
    },
    close: () => {},
    text: () => {},
  });
  if (!found) throw notWorkbook(`no ${workbook}`);
  if (firstSheet === undefined) throw importFormat(name, 'the workbook has no sheet');
  const wbRels = await rels(workbook);
  const sheet = wbRels.get(firstSheet);
  if (sheet === undefined) throw notWorkbook(`the first sheet's part (${firstSheet}) is not listed`);
  const sst = [...wbRels.values()].find((r) => isType(r, 'sharedStrings'));
  const strings: string[] = [];
  if (sst !== undefined) await read(sst.target, sharedStrings(strings, name, limits));
  const rows: TableRow[] = [];
  if (!(await read(sheet.target, sheetRows(rows, strings, name, limits)))) {
    throw notWorkbook(`no ${sheet.target}`);
  }
  return rows;
}

/** Relationships by id, their targets as zip paths (relative ones resolved against `dir`). */
function relationships(into: Map<string, Relationship>, dir: string): XmlHandler {
  return {
    open: (tag, attrs) => {
      if (tag !== 'Relationship' || attr(attrs, 'TargetMode') === 'External') return;
      const id = attr(attrs, 'Id');
      const target = attr(attrs, 'Target');
      if (id === undefined || target === undefined) return;
      const path = target.startsWith('/') ? target.slice(1) : posix.normalize(posix.join(dir, target));
      into.set(id, { type: attr(attrs, 'Type') ?? '', target: path });
    },
    close: () => {},
    text: () => {},
  };
}

/**
 * Raw text gathered for one value (entities still encoded, so up to ten characters each)
 * before it is decoded and held to the cell limit.
 */
class TextRun {
  readonly #tooLong: () => Error;
  readonly #max: number;
  #raw = '';
  #on = false;
  constructor(tooLong: () => Error, max: number) {
    this.#tooLong = tooLong;
    this.#max = max;
  }
  start(): void {
    this.#on = true;
  }
  stop(): void {
    this.#on = false;
  }
  add(raw: string): void {
    if (!this.#on) return;
    this.#raw += raw;
    if (this.#raw.length > this.#max * 10) throw this.#tooLong();
  }
  take(): string {
    const s = decodeXml(this.#raw);
    this.#raw = '';
    this.#on = false;
    if (s.length > this.#max) throw this.#tooLong();
    return s;
  }
}

/** `<si>` items: their `<t>` texts, phonetic runs (`<rPh>`) left out. */
function sharedStrings(into: string[], name: string, limits: ImportLimits): XmlHandler {
  const tooLong = () =>
    importFormat(name, `shared string ${into.length + 1} is longer than ${limits.maxCellChars} characters`);
  const run = new TextRun(tooLong, limits.maxCellChars);
  let item = '';
  let phonetic = 0;
  return {
    open: (tag) => {
      if (tag === 'si') item = '';
      else if (tag === 'rPh') phonetic++;
      else if (tag === 't' && phonetic === 0) run.start();
    },
    close: (tag) => {
      if (tag === 't' && phonetic === 0) {
        item += run.take();
        if (item.length > limits.maxCellChars) throw tooLong();
      } else if (tag === 'rPh') phonetic--;
      else if (tag === 'si') {
        into.push(item);
        if (into.length > limits.maxCells) throw tooManyCells(name, limits);
        item = '';
      }
    },
    text: (raw) => run.add(raw),
  };
}

/** `A` → 1, `AB12` → 28; 0 when the reference has no column letters. */
function columnOf(ref: string): number {
  let col = 0;
  for (let i = 0; i < ref.length && i < 4; i++) {
    const c = ref.charCodeAt(i);
    if (c < 65 || c > 90) break;
    col = col * 26 + (c - 64);
  }
  return col;
}

function sheetRows(
  into: TableRow[],
  strings: readonly string[],
  name: string,
  limits: ImportLimits,
): XmlHandler {
  let seen = 0;
  let rowNumber = 0;
  let cells: string[] = [];
  let total = 0;
  let col = 0;
  let type = 'n';
  let value = '';
  let inline = '';
  let inInline = false;
  let phonetic = 0;
  const run = new TextRun(() => cellTooLong(name, rowNumber, col, limits), limits.maxCellChars);

  const cellText = (): string => {
    switch (type) {
      case 's':
        return value === '' ? '' : (strings[Number(value)] ?? '');
      case 'inlineStr':
        return inline;
      case 'b':
        return value === '' ? '' : value === '1' ? 'true' : 'false';
      case 'str':
      case 'e':
      case 'd':
        return value;
      default:
        return value.trim() === '' ? '' : String(Number(value));
    }
  };

  return {
    open: (tag, attrs) => {
      if (tag === 'row') {
        seen++;
        if (seen > limits.maxRows + 1) throw tooManyRows(name, limits);
        const r = Number(attr(attrs, 'r'));
        rowNumber = Number.isInteger(r) && r > rowNumber ? r : rowNumber + 1;
        cells = [];
        col = 0;
      } else if (tag === 'c') {
        const ref = attr(attrs, 'r');
        const c = ref === undefined ? 0 : columnOf(ref);
        col = c > 0 ? c : col + 1;
        type = attr(attrs, 't') ?? 'n';
        value = '';
        inline = '';
      } else if (tag === 'v') run.start();
      else if (tag === 'is') inInline = true;
      else if (tag === 'rPh') phonetic++;
      else if (tag === 't' && inInline && phonetic === 0) run.start();
    },
    close: (tag) => {
      if (tag === 'v') value = run.take();
      else if (tag === 't' && inInline && phonetic === 0) {
        inline += run.take();
        if (inline.length > limits.maxCellChars) throw cellTooLong(name, rowNumber, col, limits);
      } else if (tag === 'rPh') phonetic--;
      else if (tag === 'is') inInline = false;
      else if (tag === 'c') {
        const text = cellText();
        if (text === '') return;
        if (col > limits.maxColumns) {
          if (text.trim() === '') return;
          throw beyondColumn(name, rowNumber, col, limits);
        }
        while (cells.length < col - 1) cells.push('');
        cells[col - 1] = text;
      } else if (tag === 'row') {
        if (!cells.some((t) => t.trim() !== '')) return;
        total += cells.length;
        if (total > limits.maxCells) throw tooManyCells(name, limits);
        into.push({ n: rowNumber, cells });
      }
    },
    text: (raw) => run.add(raw),
  };
}
