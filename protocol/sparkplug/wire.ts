/** Protobuf wire helpers shared by the payload encoder and decoder. */
// Wire types.
export const VARINT = 0;
export const FIXED64 = 1;
export const LEN = 2;
export const FIXED32 = 5;

export function key(field: number, wire: number): number {
  return ((field << 3) | wire) >>> 0;
}
