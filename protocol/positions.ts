/**
 * Which journal positions are done, when they complete out of order: `floor` is the highest
 * position with every position up to it done; done positions above a gap wait in a short
 * list of ranges until the gap fills. Used by the hub (positions its store holds) and by a
 * gateway whose broker is its acknowledgement (positions handed to the broker).
 */
export class PositionTracker {
  #floor: number;
  /** Disjoint, sorted, non-adjacent [from, to] ranges, all above floor + 1. */
  #above: [number, number][] = [];

  constructor(floor = 0) {
    this.#floor = floor;
  }

  get floor(): number {
    return this.#floor;
  }

  /** How many positions wait above a gap. */
  get waiting(): number {
    let n = 0;
    for (const [a, b] of this.#above) n += b - a + 1;
    return n;
  }

  /** The first missing position when some wait above it, else undefined. */
  get gap(): number | undefined {
    return this.#above.length > 0 ? this.#floor + 1 : undefined;
  }

  /** Nothing at or below `floor` is needed any more (e.g. the gateway dropped it). */
  raise(floor: number): void {
    if (floor <= this.#floor) return;
    this.#floor = floor;
    this.#above = this.#above.filter(([, b]) => b > floor).map(([a, b]) => [Math.max(a, floor + 1), b]);
    this.#settle();
  }

  /** Starts over at `floor` (a new journal). */
  reset(floor: number): void {
    this.#floor = floor;
    this.#above = [];
  }

  /** Marks a position done; true when the floor moved. */
  add(p: number): boolean {
    if (p <= this.#floor) return false;
    const before = this.#floor;
    if (p === this.#floor + 1) {
      this.#floor = p;
      this.#settle();
      return true;
    }
    this.#insert(p);
    return this.#floor !== before;
  }

  #insert(p: number): void {
    const r = this.#above;
    let i = 0;
    while (i < r.length && r[i]![1] < p - 1) i++;
    const cur = r[i];
    if (cur === undefined || cur[0] > p + 1) {
      r.splice(i, 0, [p, p]);
      return;
    }
    if (p >= cur[0] && p <= cur[1]) return;
    if (p === cur[1] + 1) {
      cur[1] = p;
      const next = r[i + 1];
      if (next !== undefined && next[0] === p + 1) {
        cur[1] = next[1];
        r.splice(i + 1, 1);
      }
    } else cur[0] = p; // p === cur[0] - 1
  }

  #settle(): void {
    const first = this.#above[0];
    if (first !== undefined && first[0] <= this.#floor + 1) {
      this.#floor = Math.max(this.#floor, first[1]);
      this.#above.shift();
    }
  }
}
