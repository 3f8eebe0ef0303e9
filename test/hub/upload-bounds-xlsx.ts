/**
 * XLSX files built byte by byte for the upload-bounds tests: a minimal workbook whose first
 * sheet's XML the test writes, deflated with node:zlib, with sizes it may declare falsely.
 */
import { crc32, createDeflateRaw, deflateRawSync } from 'node:zlib';

export interface ZipPart {
  readonly path: string;
  /** The deflated bytes. */
  readonly data: Buffer;
  readonly size: number;
  readonly crc: number;
  /** The uncompressed size written in the zip's headers (default: the true one). */
  readonly declaredSize?: number;
}

export function part(path: string, text: string): ZipPart {
  const raw = Buffer.from(text);
  return { path, data: deflateRawSync(raw), size: raw.length, crc: crc32(raw) };
}

/**
 * `head`, then `block` repeated `times`, then `tail`, deflated as one stream fed a mebibyte
 * at a time: the expanded text is never built whole, here or (the point) in the hub.
 */
export async function repeatedPart(
  path: string,
  head: string,
  block: string,
  times: number,
  tail: string,
): Promise<ZipPart> {
  const b = Buffer.from(block);
  const perChunk = Math.max(1, Math.floor(1_048_576 / b.length));
  const chunk = Buffer.concat(Array.from({ length: perChunk }, () => b));
  const deflate = createDeflateRaw({ level: 6 });
  const out: Buffer[] = [];
  deflate.on('data', (c: Buffer) => out.push(c));
  const done = new Promise<void>((resolve, reject) => {
    deflate.once('end', resolve);
    deflate.once('error', reject);
  });
  const write = async (buf: Buffer): Promise<void> => {
    if (!deflate.write(buf)) await new Promise((r) => deflate.once('drain', r));
  };
  let crc = crc32(head);
  await write(Buffer.from(head));
  for (let left = times; left > 0; ) {
    const n = Math.min(left, perChunk);
    const piece = n === perChunk ? chunk : chunk.subarray(0, n * b.length);
    crc = crc32(piece, crc);
    await write(piece);
    left -= n;
  }
  crc = crc32(tail, crc);
  deflate.end(Buffer.from(tail));
  await done;
  const size = Buffer.byteLength(head) + times * b.length + Buffer.byteLength(tail);
  return { path, data: Buffer.concat(out), size, crc };
}

/** The parts every workbook here has, around a first sheet at xl/worksheets/sheet1.xml. */
export function workbookParts(): ZipPart[] {
  return [
    part(
      '[Content_Types].xml',
      '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>',
    ),
    part(
      '_rels/.rels',
      '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
    ),
    part(
      'xl/workbook.xml',
      '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="台账" sheetId="1" r:id="rId1"/></sheets></workbook>',
    ),
    part(
      'xl/_rels/workbook.xml.rels',
      '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
    ),
  ];
}

export const SHEET_HEAD =
  '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>';
export const SHEET_TAIL = '</sheetData></worksheet>';

/** One row of inline-string cells. */
export function sheetRow(n: number, cells: readonly string[]): string {
  const c = cells.map((t) => `<c t="inlineStr"><is><t>${t}</t></is></c>`).join('');
  return `<row r="${n}">${c}</row>`;
}

/** A zip of the parts; a part's `declaredSize` is written in both its headers. */
export function zip(parts: readonly ZipPart[]): Buffer {
  const locals: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const p of parts) {
    const name = Buffer.from(p.path);
    const size = p.declaredSize ?? p.size;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(p.crc >>> 0, 14);
    local.writeUInt32LE(p.data.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE(20, 4);
    c.writeUInt16LE(20, 6);
    c.writeUInt16LE(8, 10);
    c.writeUInt32LE(p.crc >>> 0, 16);
    c.writeUInt32LE(p.data.length, 20);
    c.writeUInt32LE(size, 24);
    c.writeUInt16LE(name.length, 28);
    c.writeUInt32LE(offset, 42);
    locals.push(local, name, p.data);
    central.push(c, name);
    offset += local.length + name.length + p.data.length;
  }
  const dir = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(parts.length, 8);
  end.writeUInt16LE(parts.length, 10);
  end.writeUInt32LE(dir.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, dir, end]);
}
