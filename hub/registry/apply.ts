/**
 * Applies what the Sparkplug host saw (births, deaths, coalesced "last seen") to the
 * registry in one transaction per batch, so the host never pays a transaction per message.
 *
 * Each row (an event, a machine's or a gateway's "last seen") runs in its own savepoint: a row
 * that fails (a time that is not a time, a state stamped a day ahead of the hub, a constraint)
 * is rolled back alone and reported in `refused`, and every other row of the batch applies, so
 * one gateway's bad data never stops another's machines from updating (issue 9).
 *
 * The fast path (no savepoint per row) writes the batch's "last seen" rows in one statement each
 * for machines and gateways, and reads what the state clock needs of the machines in one before
 * them: on PostgreSQL every statement is a round trip, and a flush of thousands of machines
 * costs a handful of them, not one or more per machine. On PostgreSQL its births and the
 * state clock's writes are held back and sent the same way (held-writes.ts).
 */
import type { HubDatabase } from '../database/database.js';
import type { GatewaySeen } from '../database/registry/gateways.js';
import { type MachineSeen, machineKey } from '../database/registry/machines.js';
import { HubError } from '../errors.js';
import { DAY_MS, DEFAULT_UTC_OFFSET_MIN, isDayTime, MAX_DAY_TIME_MS } from './days.js';
import { encodeMetricValue } from './gateway-metrics.js';
import { HeldMachineWrites } from './held-writes.js';
import { StateClock } from './state-clock.js';
import type { DeviceActivity, GatewayActivity, GatewayMetric, IngestBatch, RegistryEvent } from './types.js';

/**
 * How far a machine's state time may be ahead of when the hub heard it. The host refuses
 * more than `limits.maxFutureSkewMs` (at most a day) before it gets here; this is the
 * registry's own backstop, as loose as the loosest configuration.
 */
export const MAX_STATE_AHEAD_MS = DAY_MS;

/** Refused rows listed in one ApplyResult (all are counted). */
export const MAX_REFUSED_LISTED = 20;

/** A row of a batch that was rolled back alone. */
export interface RefusedRow {
  readonly kind: RegistryEvent['type'] | 'deviceActivity' | 'gatewayActivity';
  /** The enterprise (Sparkplug group). */
  readonly enterprise: string;
  /** The gateway (edge node). */
  readonly gateway: string;
  readonly machine?: string;
  /** The error's code when it has one (WANJI_E_REGISTRY_ROW, SQLITE_CONSTRAINT_NOTNULL, …). */
  readonly code?: string;
  readonly reason: string;
}

export interface ApplyResult {
  /** NDEATHs whose bdSeq matched the gateway's current NBIRTH. */
  readonly nodeDeaths: number;
  /** NDEATHs ignored because their bdSeq was stale (or the gateway was already dead). */
  readonly staleNodeDeaths: number;
  /** Rows rolled back alone (absent when none); the rest of the batch was applied. */
  readonly rowsRefused?: number;
  /** The first MAX_REFUSED_LISTED refused rows, with why (absent when none). */
  readonly refused?: readonly RefusedRow[];
  /** State intervals longer than MAX_SPLIT_DAYS, counted for their last days only (absent when none). */
  readonly spansClamped?: number;
}

const b = (v: boolean | undefined): number | null => (v === undefined ? null : v ? 1 : 0);

export class IngestApplier {
  readonly #apply: (batch: IngestBatch) => ApplyResult;

  /**
   * `utcOffsetMin`: where local days start, for the time in each state per day; `silenceMs`:
   * a machine unheard for longer (the online window) was offline meanwhile. `rowByRow`: the
   * fast path too writes and reads per row, as before the batched path (the same result;
   * bench/registry-flush.ts measures one against the other).
   */
  constructor(
    db: HubDatabase,
    utcOffsetMin = DEFAULT_UTC_OFFSET_MIN,
    silenceMs = 5 * 60_000,
    rowByRow = false,
  ) {
    // Each repository prepares its statements once, when first used; the batch's rows reuse them.
    const { gateways, machines, gatewayMetrics, stateSpans } = db;
    // The fast path's reads of machines in one statement, and on PostgreSQL its births and the
    // clock's writes held back and sent in one each (held-writes.ts).
    const writes = new HeldMachineWrites(machines, stateSpans);
    const clock = new StateClock(writes.spans, utcOffsetMin, silenceMs);
    /** Per batch: machines that were silent before it, with when they were last heard. */
    let silent = new Map<string, number>();
    const back = (enterprise: string, machine: string, at: number): number | undefined => {
      const lastSeen = silent.get(`${enterprise}\u0000${machine}`);
      if (lastSeen === undefined || lastSeen >= at - silenceMs) return undefined;
      silent.delete(`${enterprise}\u0000${machine}`);
      return lastSeen;
    };
    /** Dead from `at` (offline already since it fell silent, if it did). */
    const offline = (enterprise: string, machine: string, at: number): void => {
      const lastSeen = back(enterprise, machine, at);
      if (lastSeen !== undefined) clock.resume(enterprise, machine, lastSeen, at, 'offline', lastSeen);
      clock.transition(enterprise, machine, 'offline', at);
    };
    const setMetrics = (group: string, edgeNode: string, metrics: readonly GatewayMetric[]): void => {
      for (const m of metrics)
        gatewayMetrics.set(group, edgeNode, { name: m.name, at: m.at, ...encodeMetricValue(m.value) });
    };

    /** 'death' / 'stale' for an NDEATH (counted once its row commits). */
    const applyEvent = (e: RegistryEvent): 'death' | 'stale' | undefined => {
      switch (e.type) {
        case 'nodeBirth':
          gateways.born(e);
          if (e.metrics !== undefined) {
            gatewayMetrics.clear(e.group, e.edgeNode);
            setMetrics(e.group, e.edgeNode, e.metrics);
          }
          return;
        case 'nodeMetrics':
          setMetrics(e.group, e.edgeNode, e.metrics);
          return;
        case 'nodeDeath': {
          if (!gateways.died(e)) return 'stale';
          const live = clock.liveOnGateway(e.group, e.edgeNode);
          for (const id of live) offline(e.group, id, e.at);
          writes.send();
          machines.gatewayDied(e.group, e.edgeNode, e.at);
          // Dead now: exactly the machines just listed (read after what was held back was sent).
          for (const id of live) writes.markDead(e.group, id);
          return 'death';
        }
        case 'deviceBirth': {
          const p = e.properties;
          writes.born({
            group: e.group,
            device: e.device,
            edgeNode: e.edgeNode,
            at: e.at,
            kind: p.kind ?? null,
            nc: b(p.nc),
            robot: b(p.robot),
            dataDepth: p.dataDepth ?? null,
          });
          // Back from offline (or from silence); the state it reports next opens its next interval.
          {
            const lastSeen = back(e.group, e.device, e.at);
            if (lastSeen !== undefined) clock.resume(e.group, e.device, lastSeen, e.at);
          }
          clock.transition(e.group, e.device, null, e.at);
          return;
        }
        case 'deviceDeath':
          // died() reads the gateway a held-back birth may change; unchanged when it says false.
          writes.send();
          if (machines.died(e.group, e.edgeNode, e.device, e.at)) {
            writes.markDead(e.group, e.device);
            offline(e.group, e.device, e.at);
          }
          return;
      }
    };
    /**
     * `gathered`: the fast path's, where the "last seen" write joins the batch's one statement
     * (machines.seenMany) after every row's clock: the write touches none of what the clock and
     * isDead read (the machine's open interval, dead), so it may come later; every event of
     * the batch (births, deaths) was applied before the first row.
     */
    const applySeen = (d: DeviceActivity, gathered?: MachineSeen[]): void => {
      const lastSeen = back(d.enterprise, d.machine, d.seenAt);
      if (lastSeen !== undefined) {
        clock.resume(d.enterprise, d.machine, lastSeen, d.seenAt, d.state, d.stateAt ?? d.seenAt);
      }
      const seen: MachineSeen = {
        enterprise: d.enterprise,
        machine: d.machine,
        gateway: d.gateway,
        seenAt: d.seenAt,
        sampleAt: d.sampleAt ?? null,
        state: d.state ?? null,
        stateAt: d.stateAt ?? d.seenAt,
      };
      if (gathered === undefined) machines.seen(seen);
      else gathered.push(seen);
      // A dead machine's last state report (from before its death in this batch) opens nothing.
      if (d.state !== undefined && writes.isDead(d.enterprise, d.machine) === false) {
        clock.transition(d.enterprise, d.machine, d.state, d.stateAt ?? d.seenAt, 'ignore');
      }
    };
    const applyGatewaySeen = (g: GatewayActivity, gathered?: GatewaySeen[]): void => {
      if (gathered === undefined) gateways.seen(g.group, g.edgeNode, g.seenAt);
      else gathered.push({ group: g.group, edgeNode: g.edgeNode, seenAt: g.seenAt });
    };

    // Called inside the batch's transaction, a transaction is a SAVEPOINT: a row that throws
    // is rolled back alone.
    const savepoint = <T>(f: () => T): T => db.transaction(f);

    /**
     * One pass over the batch. A row whose values cannot be applied is refused before it
     * writes anything (checks in JS). `isolated`: each row in its own savepoint, so a row that
     * fails in SQL is rolled back alone; otherwise (the fast path, no savepoint per row) such a
     * failure aborts the pass and apply() runs the batch again isolated.
     */
    const pass = (batch: IngestBatch, isolated: boolean): ApplyResult => {
      let nodeDeaths = 0;
      let staleNodeDeaths = 0;
      let rowsRefused = 0;
      const refused: RefusedRow[] = [];
      const refuse = (who: Omit<RefusedRow, 'code' | 'reason'>, err: unknown): undefined => {
        // The database itself failing (read-only, full, I/O, busy) is not this row's fault:
        // the whole batch fails and is counted as such.
        if (!db.inTransaction || databaseFailure(err)) throw err;
        rowsRefused++;
        if (refused.length < MAX_REFUSED_LISTED) refused.push({ ...who, ...describe(err) });
        return undefined;
      };
      const row = <T>(
        who: Omit<RefusedRow, 'code' | 'reason'>,
        check: () => void,
        apply: () => T,
      ): T | undefined => {
        try {
          check();
        } catch (err) {
          return refuse(who, err);
        }
        if (!isolated) return apply();
        try {
          return savepoint(apply);
        } catch (err) {
          return refuse(who, err);
        }
      };
      silent = new Map();
      // Only rows that can be applied say how late the batch is (a poisoned time would make
      // every machine look silent).
      let latest = Number.NEGATIVE_INFINITY;
      for (const e of batch.events)
        if (e.type !== 'nodeMetrics' && isDayTime(e.at)) latest = Math.max(latest, e.at);
      for (const d of batch.devices) if (isDayTime(d.seenAt)) latest = Math.max(latest, d.seenAt);
      if (Number.isFinite(latest)) silent = clock.silentSince(latest - silenceMs);
      // Isolated, each row writes in its own savepoint; fast, the rows' writes are gathered
      // into one statement (a failure there aborts the pass, and the batch runs again isolated).
      const batched = !isolated && !rowByRow;
      // On SQLite, in process, a statement per row costs no round trip: births and the clock
      // write through as before.
      if (batched && db.dialect === 'postgres') {
        writes.hold();
        // What the births and the clock read of the machines born, in one statement.
        writes.know(
          batch.events.flatMap((e) =>
            e.type === 'deviceBirth' ? [{ enterprise: e.group, machine: e.device }] : [],
          ),
        );
      }
      for (const e of batch.events) {
        const who = {
          kind: e.type,
          enterprise: e.group,
          gateway: e.edgeNode,
          ...('device' in e ? { machine: e.device } : {}),
        };
        const r = row(
          who,
          () => checkEvent(e),
          () => applyEvent(e),
        );
        if (r === 'death') nodeDeaths++;
        else if (r === 'stale') staleNodeDeaths++;
      }
      // The events' writes reach the database before the machines' states are read again.
      writes.send();
      writes.forget();
      const seenRows: MachineSeen[] | undefined = batched ? [] : undefined;
      if (batched) {
        // What the clock and isDead read, for the rows that make them read.
        writes.know(
          batch.devices.filter(
            (d) => d.state !== undefined || silent.has(machineKey(d.enterprise, d.machine)),
          ),
        );
      }
      try {
        for (const d of batch.devices) {
          const who = {
            kind: 'deviceActivity' as const,
            enterprise: d.enterprise,
            gateway: d.gateway,
            machine: d.machine,
          };
          row(
            who,
            () => checkDevice(d),
            () => applySeen(d, seenRows),
          );
        }
      } finally {
        writes.forget();
      }
      writes.send();
      if (seenRows !== undefined && seenRows.length > 0) machines.seenMany(seenRows);
      const gatewayRows: GatewaySeen[] | undefined = batched ? [] : undefined;
      for (const g of batch.gateways) {
        const who = { kind: 'gatewayActivity' as const, enterprise: g.group, gateway: g.edgeNode };
        row(
          who,
          () => checkTime('gateway last seen', g.seenAt),
          () => applyGatewaySeen(g, gatewayRows),
        );
      }
      if (gatewayRows !== undefined && gatewayRows.length > 0) gateways.seenMany(gatewayRows);
      return {
        nodeDeaths,
        staleNodeDeaths,
        ...(rowsRefused > 0 ? { rowsRefused, refused } : {}),
      };
    };
    const fast = (batch: IngestBatch): ApplyResult => {
      try {
        return db.transaction(() => pass(batch, false));
      } finally {
        // Rolled back or sent: nothing held back outlives the pass.
        writes.end();
      }
    };
    const isolated = (batch: IngestBatch): ApplyResult => db.transaction(() => pass(batch, true));

    this.#apply = (batch) => {
      const clampedBefore = clock.spansClamped;
      let r: ApplyResult;
      try {
        r = fast(batch);
      } catch {
        // Rolled back whole; again row by row, so that only the failing rows are refused
        // (and a failure that is not a row's, such as a closed database, throws from there).
        clock.spansClamped = clampedBefore;
        r = isolated(batch);
      }
      const spansClamped = clock.spansClamped - clampedBefore;
      return spansClamped > 0 ? { ...r, spansClamped } : r;
    };
  }

  apply(batch: IngestBatch): ApplyResult {
    return this.#apply(batch);
  }
}

function checkTime(what: string, at: number): void {
  if (isDayTime(at)) return;
  throw new HubError(
    'WANJI_E_REGISTRY_ROW',
    `${what} ${at} is not a time (want ms since the epoch, 0 to ${MAX_DAY_TIME_MS})`,
  );
}

function checkEvent(e: RegistryEvent): void {
  checkTime(e.type, e.at);
  if (e.type === 'nodeBirth' || e.type === 'nodeMetrics') {
    for (const m of e.metrics ?? []) checkTime(`gateway metric ${m.name}`, m.at);
  }
}

function checkDevice(d: DeviceActivity): void {
  checkTime('last seen', d.seenAt);
  if (d.sampleAt !== undefined) checkTime('last sample', d.sampleAt);
  if (d.stateAt === undefined) return;
  checkTime(`state ${d.state ?? ''} time`, d.stateAt);
  if (d.stateAt > d.seenAt + MAX_STATE_AHEAD_MS) {
    throw new HubError(
      'WANJI_E_REGISTRY_ROW',
      `state ${d.state ?? ''} stamped ${new Date(d.stateAt).toISOString()}, more than a day after the hub heard it (${new Date(d.seenAt).toISOString()}): the gateway's clock is wrong`,
    );
  }
}

/** SQLite result codes that say the database, not the row, is at fault. */
const DATABASE_FAILURES =
  /^SQLITE_(READONLY|FULL|IOERR|CORRUPT|NOTADB|CANTOPEN|BUSY|LOCKED|NOMEM|PERM|PROTOCOL|INTERRUPT)/;

function databaseFailure(err: unknown): boolean {
  const code = err instanceof Error && 'code' in err ? err.code : undefined;
  return typeof code === 'string' && DATABASE_FAILURES.test(code);
}

function describe(err: unknown): { code?: string; reason: string } {
  const code = err instanceof Error && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
  const reason = err instanceof Error ? err.message : String(err);
  return code === undefined ? { reason } : { code, reason };
}
