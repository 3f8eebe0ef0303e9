/**
 * The payload decoder reads with its own protobuf reader (protocol/sparkplug/reader.ts), not
 * protobufjs' Reader, to allocate nothing per field. It must read what protobufjs reads from the
 * same bytes (varints of every width, 64-bit values signed and unsigned, floats, strings, skipped
 * fields of every wire type), and whatever bytes it is given, fail only with a PayloadDecodeError.
 */
import protobuf from 'protobufjs/minimal.js';
import { describe, expect, it } from 'vitest';
import {
  DataType,
  decodePayload,
  encodePayload,
  type Metric,
  PayloadDecodeError,
} from '../../protocol/index.js';
import { fromWords, PayloadReader } from '../../protocol/sparkplug/reader.js';
import { seeded } from '../support/seeded.js';

const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

function longToBigInt(l: protobuf.Long, signed: boolean): bigint {
  const u = (BigInt(l.high >>> 0) << 32n) | BigInt(l.low >>> 0);
  return signed ? BigInt.asIntN(64, u) : u;
}

/** 64-bit values around every varint width boundary, both signs. */
function edgeLongs(): bigint[] {
  const out: bigint[] = [
    0n,
    1n,
    -1n,
    2n ** 63n - 1n,
    -(2n ** 63n),
    2n ** 53n,
    2n ** 53n + 1n,
    -(2n ** 53n) - 1n,
  ];
  for (let bits = 7; bits <= 63; bits += 7) {
    const b = 2n ** BigInt(bits);
    out.push(b - 1n, b, b + 1n, -b, -b - 1n);
  }
  for (const bits of [21, 31, 32, 33, 52, 54]) out.push(2n ** BigInt(bits) - 1n, 2n ** BigInt(bits));
  return out;
}

describe('PayloadReader', () => {
  it('reads 64-bit varints of every width as protobufjs does, signed and unsigned, exact as numbers only when safe', () => {
    const rnd = seeded(1);
    const values = edgeLongs();
    for (let i = 0; i < 2000; i++) {
      const hi = BigInt(Math.floor(rnd() * 2 ** 32));
      const lo = BigInt(Math.floor(rnd() * 2 ** 32));
      values.push(BigInt.asIntN(64, (hi << 32n) | lo) >> BigInt(Math.floor(rnd() * 64)));
    }
    for (const v of values) {
      const u = BigInt.asUintN(64, v);
      const w = protobuf.Writer.create();
      w.uint64({ low: Number(u & 0xffffffffn) | 0, high: Number(u >> 32n) | 0, unsigned: true });
      w.uint32(7);
      const bytes = w.finish();
      const theirs = protobuf.Reader.create(bytes);
      const theirLong = theirs.uint64() as protobuf.Long;
      const ours = new PayloadReader(bytes);
      ours.words();
      expect(ours.pos).toBe(theirs.pos);
      const signed = fromWords(ours.lo, ours.hi, true);
      const unsigned = fromWords(ours.lo, ours.hi, false);
      expect(BigInt(signed)).toBe(longToBigInt(theirLong, true));
      expect(BigInt(unsigned)).toBe(longToBigInt(theirLong, false));
      const s = BigInt.asIntN(64, u);
      expect(typeof signed === 'number').toBe(s >= MIN_SAFE && s <= MAX_SAFE);
      expect(typeof unsigned === 'number').toBe(u <= MAX_SAFE);
      expect(ours.uint32()).toBe(7);

      const again = new PayloadReader(bytes);
      expect(again.uint32()).toBe(protobuf.Reader.create(bytes).uint32());
      expect(new PayloadReader(bytes).uint64Number()).toBe(Number(u));
    }
  });

  it('reads floats, doubles, strings and bytes as protobufjs does, from a Buffer or a view into a larger array', () => {
    const w = protobuf.Writer.create();
    const floats = [
      0,
      -0,
      1.5,
      Math.fround(Math.PI),
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Math.fround(-3.4e38),
    ];
    const doubles = [
      0,
      -0,
      Math.PI,
      Number.MIN_VALUE,
      -Number.MAX_VALUE,
      Number.NaN,
      Number.NEGATIVE_INFINITY,
    ];
    const strings = [
      '',
      'a',
      'speed',
      '主轴转速',
      '𝄞 clef',
      'x'.repeat(32),
      'y'.repeat(33),
      `${'z'.repeat(31)}é`,
    ];
    const bytes = [new Uint8Array(), new Uint8Array([0, 255, 7])];
    for (const f of floats) w.float(f);
    for (const d of doubles) w.double(d);
    for (const s of strings) w.string(s);
    for (const b of bytes) w.bytes(b);
    const written = w.finish();
    // The same bytes at an odd offset of a larger buffer (a view, as a broker hands them over).
    const outer = new Uint8Array(written.length + 3);
    outer.set(written, 3);
    for (const input of [written, Buffer.from(written), outer.subarray(3)]) {
      const r = new PayloadReader(input);
      for (const f of floats) expect(Object.is(r.float(), f)).toBe(true);
      for (const d of doubles) expect(Object.is(r.double(), d)).toBe(true);
      for (const s of strings) expect(r.string()).toBe(s);
      for (const b of bytes) {
        const got = r.bytes();
        expect(got).toEqual(b);
        expect(Object.getPrototypeOf(got)).toBe(Uint8Array.prototype);
      }
      expect(r.pos).toBe(r.len);
    }
  });

  it('skips fields of every wire type, nested groups included, to where protobufjs does', () => {
    const w = protobuf.Writer.create();
    w.uint32((1 << 3) | 0).uint64(2 ** 40);
    w.uint32((2 << 3) | 1).fixed64(5);
    w.uint32((3 << 3) | 2).bytes(new Uint8Array(300));
    w.uint32((4 << 3) | 5).fixed32(9);
    // A group holding a varint and a nested group.
    w.uint32((5 << 3) | 3)
      .uint32((6 << 3) | 0)
      .uint32(1)
      .uint32((7 << 3) | 3)
      .uint32((7 << 3) | 4)
      .uint32((5 << 3) | 4);
    w.uint32((8 << 3) | 0).uint32(42);
    const bytes = w.finish();
    const ours = new PayloadReader(bytes);
    const theirs = protobuf.Reader.create(bytes);
    for (let field = 1; field <= 5; field++) {
      const tag = ours.uint32();
      expect(tag).toBe(theirs.uint32());
      ours.skip(tag & 7);
      theirs.skipType(tag & 7);
      expect(ours.pos).toBe(theirs.pos);
    }
    expect(ours.uint32()).toBe((8 << 3) | 0);
    expect(ours.uint32()).toBe(42);
  });

  it('refuses what runs past the end, invalid wire types and varints longer than 10 bytes', () => {
    const cases: [Uint8Array, (r: PayloadReader) => unknown][] = [
      [new Uint8Array([0x80]), (r) => r.uint32()],
      [new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x80]), (r) => r.uint64()],
      [new Uint8Array(11).fill(0xff), (r) => r.uint64()],
      [new Uint8Array([1, 2, 3]), (r) => r.float()],
      [new Uint8Array(7), (r) => r.double()],
      [new Uint8Array([5, 0x61]), (r) => r.string()],
      [new Uint8Array([2, 0]), (r) => r.bytes()],
      [new Uint8Array([9]), (r) => r.delimited()],
      [new Uint8Array([1]), (r) => r.skip(6)],
      [new Uint8Array([0x08]), (r) => r.skip(3)], // group without its end
    ];
    for (const [bytes, read] of cases)
      expect(() => read(new PayloadReader(bytes))).toThrow(PayloadDecodeError);
  });
});

describe('decodePayload on damaged bytes', () => {
  it('decodes or refuses with a PayloadDecodeError whatever is flipped, cut or appended', () => {
    const metrics: Metric[] = [
      {
        name: 'spindle/speed',
        alias: 1,
        timestamp: 1_765_000_000_123,
        datatype: DataType.Double,
        value: 1200.5,
      },
      { alias: 2, datatype: DataType.Int64, value: -5n * 10n ** 18n },
      {
        name: 'state',
        datatype: DataType.String,
        value: 'running',
        properties: { quality: { type: DataType.Int32, value: 192 } },
      },
      { name: 'blob', datatype: DataType.Bytes, value: new Uint8Array([1, 2, 3]) },
      { name: 'on', datatype: DataType.Boolean, value: true, isHistorical: true },
    ];
    const good = encodePayload({ timestamp: 1_765_000_000_000, seq: 7, metrics });
    expect(decodePayload(good).metrics).toHaveLength(metrics.length);
    const rnd = seeded(2);
    let refused = 0;
    for (let i = 0; i < 20_000; i++) {
      const bytes = Uint8Array.from(good);
      const edits = 1 + Math.floor(rnd() * 3);
      for (let e = 0; e < edits; e++) bytes[Math.floor(rnd() * bytes.length)] = Math.floor(rnd() * 256);
      const cut = rnd() < 0.3 ? bytes.subarray(0, Math.floor(rnd() * bytes.length)) : bytes;
      try {
        decodePayload(cut);
      } catch (err) {
        expect(err).toBeInstanceOf(PayloadDecodeError);
        refused++;
      }
    }
    // One reader serves every payload: a refused one leaves nothing behind for the next.
    expect(decodePayload(good)).toEqual(decodePayload(Uint8Array.from(good)));
    expect(decodePayload(good).metrics.map((m) => m.value)).toEqual(metrics.map((m) => m.value));
    // The damage is real: a good part of it is refused, and the rest decodes without throwing.
    expect(refused).toBeGreaterThan(2000);
    expect(refused).toBeLessThan(20_000);
  });
});
