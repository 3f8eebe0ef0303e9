/**
 * Counting samples by sequence number: what each simulated machine served (a counter bumped
 * by one at a time), what the store holds, and the verdict per machine — missing values,
 * values stored twice (at different timestamps), values never served, values stored at a
 * time when they were not on the machine. Pure: no I/O, so the checker itself is tested.
 */

/** One value of a machine's counter, as the simulator served it. */
export interface ServedValue {
  readonly value: number;
  /** When the simulator started serving it (ms since the epoch). */
  readonly setAt: number;
  /** The first and last Modbus read that returned it; undefined if never read. */
  firstReadAt?: number;
  lastReadAt?: number;
}

export interface StoredPoint {
  readonly ts: number;
  readonly value: number;
}

/** A time span whose reads may legitimately be lost (e.g. just before a gateway was killed). */
export interface LossWindow {
  readonly from: number;
  readonly to: number;
  readonly why: string;
}

export interface MachineVerdict {
  readonly machine: string;
  /** Values read from the machine (the expectation), first and last. */
  readonly first: number | undefined;
  readonly last: number | undefined;
  readonly expected: number;
  readonly stored: number;
  /** Missing values outside every loss window: the failures. */
  readonly missing: readonly number[];
  /** Missing values inside a loss window: allowed, reported. */
  readonly excused: readonly number[];
  /** Values stored at more than one timestamp, with those timestamps. */
  readonly duplicates: ReadonlyMap<number, readonly number[]>;
  /** Stored values the machine never served (or that were never read). */
  readonly foreign: readonly number[];
  /** Values stored at a timestamp outside [first read − slack, last read + slack]. */
  readonly misplaced: readonly { value: number; ts: number; readFrom: number; readTo: number }[];
}

export interface CheckOptions {
  readonly lossWindows?: readonly LossWindow[];
  /** Clock slack around the read times for a stored timestamp (default 1 000 ms). */
  readonly slackMs?: number;
}

export function verdictOk(v: MachineVerdict): boolean {
  return (
    v.missing.length === 0 &&
    v.duplicates.size === 0 &&
    v.foreign.length === 0 &&
    v.misplaced.length === 0 &&
    v.expected > 0
  );
}

/** Checks one machine's stored points against what it served. */
export function checkMachine(
  machine: string,
  served: readonly ServedValue[],
  stored: readonly StoredPoint[],
  options: CheckOptions = {},
): MachineVerdict {
  const slack = options.slackMs ?? 1_000;
  const windows = options.lossWindows ?? [];
  const read = served.filter((s) => s.firstReadAt !== undefined);
  const byValue = new Map(read.map((s) => [s.value, s]));
  const timestamps = new Map<number, Set<number>>();
  for (const p of stored) {
    const set = timestamps.get(p.value) ?? new Set<number>();
    set.add(p.ts);
    timestamps.set(p.value, set);
  }
  const missing: number[] = [];
  const excused: number[] = [];
  for (const s of read) {
    if (timestamps.has(s.value)) continue;
    const at = s.firstReadAt ?? 0;
    if (windows.some((w) => at >= w.from && at <= w.to)) excused.push(s.value);
    else missing.push(s.value);
  }
  const duplicates = new Map<number, number[]>();
  const foreign: number[] = [];
  const misplaced: { value: number; ts: number; readFrom: number; readTo: number }[] = [];
  for (const [value, tss] of [...timestamps].sort((a, b) => a[0] - b[0])) {
    const s = byValue.get(value);
    if (s === undefined) {
      foreign.push(value);
      continue;
    }
    if (tss.size > 1)
      duplicates.set(
        value,
        [...tss].sort((a, b) => a - b),
      );
    const readFrom = s.firstReadAt ?? 0;
    const readTo = s.lastReadAt ?? readFrom;
    for (const ts of tss) {
      if (ts < readFrom - slack || ts > readTo + slack) misplaced.push({ value, ts, readFrom, readTo });
    }
  }
  return {
    machine,
    first: read[0]?.value,
    last: read.at(-1)?.value,
    expected: read.length,
    stored: stored.length,
    missing,
    excused,
    duplicates,
    foreign,
    misplaced,
  };
}

/** "3–7, 12" for [3, 4, 5, 6, 7, 12]. */
export function ranges(values: readonly number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const parts: string[] = [];
  let i = 0;
  while (i < sorted.length) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === (sorted[j] ?? 0) + 1) j++;
    parts.push(i === j ? String(sorted[i]) : `${sorted[i]}–${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(', ');
}

const iso = (ms: number): string => new Date(ms).toISOString().slice(11, 23);

/** One line per machine: what was expected and stored, and every fault found. */
export function describeVerdict(v: MachineVerdict): string {
  const head = `${v.machine}: ${v.stored} stored of ${v.expected} read (values ${v.first ?? '-'}..${v.last ?? '-'})`;
  const faults: string[] = [];
  if (v.expected === 0) faults.push('no value was ever read from the machine');
  if (v.missing.length > 0) faults.push(`${v.missing.length} MISSING: ${ranges(v.missing)}`);
  if (v.duplicates.size > 0) {
    const shown = [...v.duplicates]
      .slice(0, 10)
      .map(([value, tss]) => `${value} at ${tss.map(iso).join(' & ')}`);
    faults.push(`${v.duplicates.size} DUPLICATED: ${shown.join('; ')}${v.duplicates.size > 10 ? '; …' : ''}`);
  }
  if (v.foreign.length > 0) faults.push(`${v.foreign.length} NEVER SERVED: ${ranges(v.foreign)}`);
  if (v.misplaced.length > 0) {
    const shown = v.misplaced
      .slice(0, 5)
      .map((m) => `${m.value} at ${iso(m.ts)} (read ${iso(m.readFrom)}–${iso(m.readTo)})`);
    faults.push(
      `${v.misplaced.length} AT A WRONG TIME: ${shown.join('; ')}${v.misplaced.length > 5 ? '; …' : ''}`,
    );
  }
  if (v.excused.length > 0)
    faults.push(`${v.excused.length} lost in an allowed window: ${ranges(v.excused)}`);
  return faults.length === 0 ? `${head}: ok` : `${head}: ${faults.join('; ')}`;
}
