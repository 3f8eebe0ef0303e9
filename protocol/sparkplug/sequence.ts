/** Sparkplug sequence numbers: seq and bdSeq both run 0–255 and wrap. */

export const SEQ_MODULUS = 256;

export function nextSeq(seq: number): number {
  return (seq + 1) % SEQ_MODULUS;
}

/** How many messages were skipped between `previous` and `received` (0 = in order). */
export function seqGap(previous: number, received: number): number {
  return (received - nextSeq(previous) + SEQ_MODULUS) % SEQ_MODULUS;
}

/**
 * The per-edge-node message counter: NBIRTH resets it to 0, every later message
 * (NDATA, DBIRTH, DDATA, DDEATH) takes the next value, wrapping 255 → 0.
 */
export class SeqCounter {
  #next = 0;

  /** The seq for an NBIRTH: always 0; the following message gets 1. */
  birth(): number {
    this.#next = 1;
    return 0;
  }

  next(): number {
    const s = this.#next;
    this.#next = nextSeq(s);
    return s;
  }
}

/**
 * bdSeq counts MQTT sessions. The will registered with CONNECT carries `current`; the
 * NBIRTH sent on that session repeats it; the next connection uses the next value.
 */
export class BdSeqCounter {
  #current: number;

  constructor(initial = 0) {
    if (!Number.isInteger(initial) || initial < 0 || initial > 255) {
      throw new RangeError(`bdSeq ${initial} is outside 0–255`);
    }
    this.#current = initial;
  }

  /** The value for the will and NBIRTH of the session about to connect. */
  get current(): number {
    return this.#current;
  }

  /** Moves on after a session ends (cleanly or not). */
  advance(): number {
    this.#current = nextSeq(this.#current);
    return this.#current;
  }
}
