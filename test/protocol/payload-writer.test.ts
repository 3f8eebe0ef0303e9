/**
 * The payload encoder writes with its own protobuf writer (protocol/sparkplug/writer.ts), not
 * protobufjs' Writer, to allocate nothing per field; it must write the very bytes protobufjs
 * writes, nested lengths of every width included.
 */
import protobuf from 'protobufjs/minimal.js';
import { describe, expect, it } from 'vitest';
import { PayloadWriter } from '../../protocol/sparkplug/writer.js';

type Op =
  | ['uint32', number]
  | ['long', number | bigint]
  | ['bool', boolean]
  | ['float', number]
  | ['double', number]
  | ['string', string]
  | ['bytes', Uint8Array]
  | ['fork']
  | ['ldelim'];

function longOf(v: number | bigint): protobuf.Long {
  const u = BigInt.asUintN(64, typeof v === 'bigint' ? v : BigInt(Math.trunc(v)));
  return { low: Number(u & 0xffffffffn) | 0, high: Number(u >> 32n) | 0, unsigned: true };
}

function withProtobufjs(ops: readonly Op[]): string {
  const w = protobuf.Writer.create();
  for (const op of ops) {
    if (op[0] === 'uint32') w.uint32(op[1]);
    else if (op[0] === 'long') w.uint64(longOf(op[1]));
    else if (op[0] === 'bool') w.bool(op[1]);
    else if (op[0] === 'float') w.float(op[1]);
    else if (op[0] === 'double') w.double(op[1]);
    else if (op[0] === 'string') w.string(op[1]);
    else if (op[0] === 'bytes') w.bytes(op[1]);
    else if (op[0] === 'fork') w.fork();
    else w.ldelim();
  }
  return Buffer.from(w.finish()).toString('hex');
}

function withOurs(w: PayloadWriter, ops: readonly Op[]): string {
  w.reset();
  for (const op of ops) {
    if (op[0] === 'uint32') w.uint32(op[1]);
    else if (op[0] === 'long') w.long(op[1], 'v');
    else if (op[0] === 'bool') w.bool(op[1]);
    else if (op[0] === 'float') w.float(op[1]);
    else if (op[0] === 'double') w.double(op[1]);
    else if (op[0] === 'string') w.string(op[1]);
    else if (op[0] === 'bytes') w.bytes(op[1]);
    else if (op[0] === 'fork') w.fork();
    else w.ldelim();
  }
  return w.finish().toString('hex');
}

const SCALARS: Op[] = [
  ['uint32', 0],
  ['uint32', 127],
  ['uint32', 128],
  ['uint32', 2 ** 32 - 1],
  ['uint32', -1],
  ['long', 0],
  ['long', 1_796_551_225_884],
  ['long', 2 ** 53 - 1],
  ['long', -1],
  ['long', -(2 ** 40)],
  ['long', 2n ** 64n - 1n],
  ['long', -(2n ** 63n)],
  ['long', 1e20],
  ['bool', true],
  ['bool', false],
  ['float', 1.5],
  ['float', Number.NaN],
  ['double', -0],
  ['double', 1e300],
  ['string', ''],
  ['string', 'é中😀'],
  ['string', 'x'.repeat(300)],
  ['bytes', new Uint8Array(0)],
  ['bytes', new Uint8Array(200).fill(9)],
];

describe('PayloadWriter', () => {
  it('writes what protobufjs writes, for every field kind and nested lengths of 1 to 3 bytes', () => {
    // One small writer, so that it also has to grow while writing.
    const w = new PayloadWriter(8);
    for (let n = 0; n < 300; n++) {
      const ops: Op[] = [];
      let depth = 0;
      for (let i = 0; i < (n % 23) + 1; i++) {
        const k = (n * 7 + i * 13) % (SCALARS.length + 3);
        if (k === SCALARS.length && depth < 3) {
          ops.push(['fork']);
          depth++;
        } else if (k === SCALARS.length + 1 && depth > 0) {
          ops.push(['ldelim']);
          depth--;
        } else if (k === SCALARS.length + 2) {
          // A submessage long enough for a 2- or 3-byte length.
          ops.push(['fork'], ['bytes', new Uint8Array(n % 2 === 0 ? 150 : 20_000).fill(n)], ['ldelim']);
        } else ops.push(SCALARS[k % SCALARS.length]!);
      }
      for (; depth > 0; depth--) ops.push(['ldelim']);
      expect(withOurs(w, ops)).toBe(withProtobufjs(ops));
    }
  });

  it('refuses a non-finite 64-bit value, naming it', () => {
    expect(() => new PayloadWriter().long(Number.POSITIVE_INFINITY, 'metric x timestamp')).toThrow(
      'metric x timestamp is not finite',
    );
    expect(() => new PayloadWriter().long(Number.NaN, () => 'metric y alias')).toThrow(
      'metric y alias is not finite',
    );
  });
});
