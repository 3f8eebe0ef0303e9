/**
 * Drives each simulated machine's counter as a sequence number: pinned to 1, then bumped by
 * one every `periodMs` — but only once the gateway has read the current value. A value the
 * gateway never read cannot be blamed on the journal, the hub or the store, and a 2-core CI
 * machine can delay a poll past a bump; the handshake makes every read value count, so any
 * gap the test finds was lost after the machine answered. While the gateway is dead nobody
 * reads, so the counter waits.
 */
import type { SimMachine } from '../../simulators/machine.js';
import type { ServedValue } from './counting.js';

export class CounterPump {
  readonly signal: string;
  readonly #machines: readonly SimMachine[];
  readonly #periodMs: number;
  readonly #now: () => number;
  readonly #served = new Map<string, ServedValue[]>();
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(machines: readonly SimMachine[], signal: string, periodMs = 200, now: () => number = Date.now) {
    this.#machines = machines;
    this.signal = signal;
    this.#periodMs = periodMs;
    this.#now = now;
  }

  /** Pins every counter to 1, watches the reads and starts bumping. */
  start(): void {
    if (this.#timer !== undefined || this.#stopped) return;
    for (const m of this.#machines) {
      const list: ServedValue[] = [];
      this.#served.set(m.id, list);
      this.#serve(m, list, 1);
      const read = m.value.bind(m);
      // The Modbus server reads the signal through value() for each request that covers it.
      m.value = (signal: string) => {
        const v = read(signal);
        if (signal === this.signal) {
          const cur = list.at(-1);
          if (cur !== undefined && v === cur.value) {
            const now = this.#now();
            cur.firstReadAt ??= now;
            cur.lastReadAt = now;
          }
        }
        return v;
      };
    }
    this.#timer = setInterval(() => this.#tick(), Math.max(5, Math.floor(this.#periodMs / 8)));
  }

  /** Stops bumping; the last value stays on the machines. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  served(machine: string): readonly ServedValue[] {
    return this.#served.get(machine) ?? [];
  }

  /** The last value each machine served that the gateway read. */
  lastRead(): Map<string, number | undefined> {
    return new Map(
      [...this.#served].map(([id, list]) => [id, list.findLast((s) => s.firstReadAt !== undefined)?.value]),
    );
  }

  /** Values read so far, all machines. */
  get readCount(): number {
    let n = 0;
    for (const list of this.#served.values()) for (const s of list) if (s.firstReadAt !== undefined) n++;
    return n;
  }

  #serve(m: SimMachine, list: ServedValue[], value: number): void {
    m.setSignal(this.signal, value);
    list.push({ value, setAt: this.#now() });
  }

  #tick(): void {
    const now = this.#now();
    for (const m of this.#machines) {
      const list = this.#served.get(m.id);
      const cur = list?.at(-1);
      if (list === undefined || cur === undefined) continue;
      if (cur.firstReadAt !== undefined && now - cur.setAt >= this.#periodMs) {
        this.#serve(m, list, cur.value + 1);
      }
    }
  }
}
