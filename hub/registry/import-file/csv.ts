/**
 * RFC 4180 CSV read as it arrives: feed it chunks, take the rows at the end. It stops at the
 * first limit passed (rows, blank ones included; columns; cells; a cell's length), so a body
 * of millions of empty lines costs no more than the rows the limit admits.
 */
import type { TableRow } from '../import-file.js';
import {
  beyondColumn,
  cellTooLong,
  type ImportLimits,
  importFormat,
  tooManyCells,
  tooManyRows,
} from './limits.js';

const SPECIAL = /[",\r\n]/g;

export class CsvReader {
  readonly #name: string;
  readonly #limits: ImportLimits;
  readonly #keepBlank: boolean;
  readonly #decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
  readonly #rows: TableRow[] = [];
  #row: string[] = [];
  #field = '';
  #quoted = false;
  /** A `"` ended the last chunk inside a quoted field: a doubled quote or the field's end. */
  #quotePending = false;
  /** A `\r` ended the last chunk: a `\n` starting the next one belongs to it. */
  #afterCr = false;
  /** Rows ended so far, blank ones included: the next row's number is this + 1. */
  #n = 0;
  /** Fields ended in the current row, those beyond maxColumns included. */
  #col = 0;
  #cells = 0;

  constructor(name: string, limits: ImportLimits, o: { keepBlank?: boolean } = {}) {
    this.#name = name;
    this.#limits = limits;
    this.#keepBlank = o.keepBlank === true;
  }

  feed(bytes: Uint8Array): void {
    let text: string;
    try {
      text = this.#decoder.decode(bytes, { stream: true });
    } catch {
      throw this.#notUtf8();
    }
    this.feedText(text);
  }

  feedText(text: string): void {
    const len = text.length;
    if (len === 0) return;
    let i = 0;
    if (this.#afterCr) {
      this.#afterCr = false;
      if (text[0] === '\n') i = 1;
    }
    if (this.#quotePending) {
      this.#quotePending = false;
      if (text[0] === '"') {
        this.#append('"');
        i = 1;
      } else this.#quoted = false;
    }
    while (i < len) {
      if (this.#quoted) {
        const q = text.indexOf('"', i);
        if (q === -1) {
          this.#append(text.slice(i));
          return;
        }
        this.#append(text.slice(i, q));
        if (q + 1 === len) {
          this.#quotePending = true;
          return;
        }
        if (text[q + 1] === '"') {
          this.#append('"');
          i = q + 2;
        } else {
          this.#quoted = false;
          i = q + 1;
        }
        continue;
      }
      SPECIAL.lastIndex = i;
      const j = SPECIAL.exec(text)?.index ?? len;
      if (j > i) this.#append(text.slice(i, j));
      if (j === len) return;
      const c = text[j];
      i = j + 1;
      if (c === '"') {
        if (this.#field === '') this.#quoted = true;
        else this.#append('"');
      } else if (c === ',') this.#endField();
      else {
        this.#endRow();
        if (c === '\r') {
          if (i === len) this.#afterCr = true;
          else if (text[i] === '\n') i++;
        }
      }
    }
  }

  /** The rows read, once the input has ended. */
  end(): TableRow[] {
    let tail: string;
    try {
      tail = this.#decoder.decode();
    } catch {
      throw this.#notUtf8();
    }
    this.feedText(tail);
    if (this.#quotePending) {
      this.#quotePending = false;
      this.#quoted = false;
    }
    if (this.#quoted) throw importFormat(this.#name, 'a quoted field is never closed');
    if (this.#field !== '' || this.#row.length > 0) this.#endRow();
    return this.#rows;
  }

  #append(s: string): void {
    this.#field += s;
    if (this.#field.length > this.#limits.maxCellChars) {
      throw cellTooLong(this.#name, this.#n + 1, this.#col + 1, this.#limits);
    }
  }

  #endField(): void {
    this.#col++;
    if (this.#col <= this.#limits.maxColumns) this.#row.push(this.#field);
    else if (this.#field.trim() !== '') {
      throw beyondColumn(this.#name, this.#n + 1, this.#col, this.#limits);
    }
    this.#field = '';
  }

  #endRow(): void {
    this.#endField();
    this.#n++;
    if (this.#n > this.#limits.maxRows + 1) throw tooManyRows(this.#name, this.#limits);
    const row = this.#row;
    this.#row = [];
    this.#col = 0;
    if (!this.#keepBlank && !row.some((c) => c.trim() !== '')) return;
    this.#cells += row.length;
    if (this.#cells > this.#limits.maxCells) throw tooManyCells(this.#name, this.#limits);
    this.#rows.push({ n: this.#n, cells: row });
  }

  #notUtf8() {
    return importFormat(
      this.#name,
      'not UTF-8 text (save the CSV as "CSV UTF-8", or import the .xlsx itself)',
    );
  }
}
