/**
 * An XML scanner fed in chunks: it reports start tags (with their raw attribute text), end
 * tags and raw text, and holds back only an unfinished tag, never a whole document. Enough
 * for the parts of an XLSX, which are machine-written: no DTD (refused), no namespaces beyond
 * stripping prefixes. Text is reported raw; `decodeXml` resolves its entities.
 */
import { importFormat } from './limits.js';

export interface XmlHandler {
  /** A start tag; a self-closing one is followed at once by `close`. Names without prefix. */
  open(name: string, attrs: string): void;
  close(name: string): void;
  /** Raw text between tags, perhaps in several pieces. */
  text(raw: string): void;
}

/** The longest tag, comment or CDATA section held back across chunks. */
const MAX_PENDING = 1_048_576;

export class XmlScanner {
  readonly #h: XmlHandler;
  readonly #name: string;
  readonly #decoder = new TextDecoder('utf-8', { fatal: true });
  #rest = '';

  /** `name` says which file and part, for the errors. */
  constructor(handler: XmlHandler, name: string) {
    this.#h = handler;
    this.#name = name;
  }

  feed(bytes: Uint8Array): void {
    let chunk: string;
    try {
      chunk = this.#decoder.decode(bytes, { stream: true });
    } catch {
      throw importFormat(this.#name, 'not UTF-8 XML');
    }
    const s = this.#rest === '' ? chunk : this.#rest + chunk;
    let i = 0;
    for (;;) {
      const lt = s.indexOf('<', i);
      if (lt === -1) {
        if (i < s.length) this.#h.text(s.slice(i));
        i = s.length;
        break;
      }
      if (lt > i) this.#h.text(s.slice(i, lt));
      const end = this.#tagEnd(s, lt);
      if (end === -1) {
        i = lt;
        break;
      }
      this.#tag(s, lt, end);
      i = end + 1;
    }
    this.#rest = s.slice(i);
    if (this.#rest.length > MAX_PENDING) throw importFormat(this.#name, 'a tag that never ends');
  }

  end(): void {
    if (this.#rest.trim() !== '') throw importFormat(this.#name, 'the XML ends inside a tag');
  }

  /** The index of the `>` that ends the markup starting at `lt`, or -1 when it is not all here. */
  #tagEnd(s: string, lt: number): number {
    if (s.startsWith('<!--', lt)) {
      const j = s.indexOf('-->', lt + 4);
      return j === -1 ? -1 : j + 2;
    }
    if (s.startsWith('<![CDATA[', lt)) {
      const j = s.indexOf(']]>', lt + 9);
      return j === -1 ? -1 : j + 2;
    }
    if (s.startsWith('<?', lt)) {
      const j = s.indexOf('?>', lt + 2);
      return j === -1 ? -1 : j + 1;
    }
    if (s.startsWith('<!D', lt)) throw importFormat(this.#name, 'a DTD (<!DOCTYPE) is not allowed');
    let quote = '';
    for (let j = lt + 1; j < s.length; j++) {
      const c = s[j];
      if (quote !== '') {
        if (c === quote) quote = '';
      } else if (c === '"' || c === "'") quote = c;
      else if (c === '>') return j;
    }
    return -1;
  }

  #tag(s: string, lt: number, end: number): void {
    const second = s[lt + 1];
    if (second === '?') return;
    if (second === '!') {
      // CDATA is text; its `&` is literal, so it is escaped for decodeXml.
      if (s.startsWith('<![CDATA[', lt)) {
        this.#h.text(s.slice(lt + 9, end - 2).replaceAll('&', '&amp;'));
      }
      return;
    }
    if (second === '/') {
      this.#h.close(localName(s.slice(lt + 2, end).trim()));
      return;
    }
    let inner = s.slice(lt + 1, end);
    const selfClosing = inner.endsWith('/');
    if (selfClosing) inner = inner.slice(0, -1);
    const sp = inner.search(/\s/);
    const name = localName(sp === -1 ? inner : inner.slice(0, sp));
    this.#h.open(name, sp === -1 ? '' : inner.slice(sp));
    if (selfClosing) this.#h.close(name);
  }
}

const localName = (qname: string): string => qname.slice(qname.indexOf(':') + 1);

const attrPatterns = new Map<string, RegExp>();

/** An attribute's decoded value by its name without prefix (`id` finds `r:id`). */
export function attr(attrs: string, name: string): string | undefined {
  let re = attrPatterns.get(name);
  if (re === undefined) {
    re = new RegExp(`(?:^|\\s)(?:[\\w.-]+:)?${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)')`);
    attrPatterns.set(name, re);
  }
  const m = re.exec(attrs);
  if (m === null) return undefined;
  return decodeXml(m[1] ?? m[2] ?? '');
}

const NAMED: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

export function decodeXml(raw: string): string {
  if (!raw.includes('&')) return raw;
  return raw.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (all, ref: string) => {
    if (ref.startsWith('#')) {
      const cp = ref[1] === 'x' ? Number.parseInt(ref.slice(2), 16) : Number.parseInt(ref.slice(1), 10);
      return cp <= 0x10ffff ? String.fromCodePoint(cp) : all;
    }
    return NAMED[ref] ?? all;
  });
}
