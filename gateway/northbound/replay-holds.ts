/**
 * Which machines the replay may publish for now. A machine not born in this session holds the
 * replay for `holdMs` (it is probably coming up with its driver); after that the edge node
 * announces it (DBIRTH) to publish its history, and declares it dead again when the replay is
 * over unless it came back meanwhile.
 */
export class ReplayHolds {
  readonly #now: () => number;
  readonly #holdMs: number;
  readonly #since = new Map<string, number>();
  readonly #announced = new Set<string>();

  constructor(now: () => number, holdMs: number) {
    this.#now = now;
    this.#holdMs = holdMs;
  }

  /** `ready` to publish, `wait` a little longer, or `announce` it first. */
  decide(deviceId: string, born: boolean): 'ready' | 'wait' | 'announce' {
    if (born) return 'ready';
    const now = this.#now();
    const since = this.#since.get(deviceId) ?? now;
    this.#since.set(deviceId, since);
    if (now - since < this.#holdMs) return 'wait';
    this.#announced.add(deviceId);
    return 'announce';
  }

  /** The machine was born for real. */
  forget(deviceId: string): void {
    this.#since.delete(deviceId);
    this.#announced.delete(deviceId);
  }

  /** The machines announced for the replay (to declare dead again); starts over. */
  finish(): string[] {
    const out = [...this.#announced];
    this.clear();
    return out;
  }

  clear(): void {
    this.#since.clear();
    this.#announced.clear();
  }
}
