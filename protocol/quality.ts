/**
 * Quality, the one word for how far a value can be trusted, and the two integer encodings it
 * travels in. Each encoding is defined here once; nothing else writes its numbers.
 *
 * - The OPC DA quality code (`OPC_DA_QUALITY`, 192/64/0): on the wire, in a Sparkplug metric's
 *   "Quality" property, as Ignition and other Sparkplug hosts read it.
 * - The storage rank (`QUALITY_RANK`, 0/1/2, worse is higher): what the gateway journal, the
 *   SQLite store and the InfluxDB store keep on disk.
 */

/** Sample quality as drivers report it, the wire carries it and the store keeps it. */
export const QUALITIES = ['good', 'uncertain', 'bad'] as const;
export type Quality = (typeof QUALITIES)[number];

export function isQuality(v: unknown): v is Quality {
  return typeof v === 'string' && (QUALITIES as readonly string[]).includes(v);
}

/**
 * Non-good values carry a "Quality" metric property (Int32) with the OPC DA quality code, as
 * Ignition and other Sparkplug hosts read it. A metric without it is good.
 */
export const QUALITY_PROPERTY = 'Quality';
/** The OPC DA quality code of each quality (the wire's "Quality" property). */
export const OPC_DA_QUALITY: Readonly<Record<Quality, number>> = { good: 192, uncertain: 64, bad: 0 };

/**
 * Reads a quality code: OPC DA codes (0–63 bad, 64–191 uncertain, 192–255 good; Ignition's 500
 * "stale" and other small codes are bad), or, above 0xFFFF, an OPC UA StatusCode by its
 * severity bits (00 good, 01 uncertain, 1x bad).
 */
export function qualityFromCode(code: number | bigint): Quality {
  const n = BigInt.asUintN(32, BigInt(code));
  if (n > 0xffffn) {
    const severity = Number(n >> 30n);
    return severity === 0 ? 'good' : severity === 1 ? 'uncertain' : 'bad';
  }
  if (n >= 192n && n <= 255n) return 'good';
  if (n >= 64n && n < 192n) return 'uncertain';
  return 'bad';
}

/** The storage rank of each quality: 0 good, 1 uncertain, 2 bad (journal, SQLite, InfluxDB). */
export const QUALITY_RANK: Readonly<Record<Quality, number>> = { good: 0, uncertain: 1, bad: 2 };

/** The quality of a storage rank; a rank that is none of 0, 1, 2 reads as bad. */
export function qualityFromRank(rank: number): Quality {
  return QUALITIES[rank] ?? 'bad';
}
