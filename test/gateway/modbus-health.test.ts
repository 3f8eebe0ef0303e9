/**
 * Health, backoff, refused reads, overlap and write priority of the Modbus driver, in fake
 * time against a scripted link: exact timings that real peers cannot pin down. The same
 * behaviours run against real peers in modbus-driver, modbus-rtu and modbus-pymodbus.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MODBUS_ERROR_CODES, ModbusError, modbusException } from '../../gateway/southbound/modbus/errors.js';
import type { LinkOpener, ModbusLink, WriteOp } from '../../gateway/southbound/modbus/transport.js';
import { type ModbusRun, modbusConfig, runModbus } from './modbus-harness.js';

type Answer = 'timeout' | number | Array<number | boolean>;
interface Op {
  readonly at: number;
  readonly unitId: number;
  readonly kind: 'read' | 'write';
  readonly address: number;
  readonly count: number;
}

/** A link whose answers a test scripts; every request takes `latencyMs` of fake time. */
class ScriptedLink implements ModbusLink {
  readonly ops: Op[] = [];
  isOpen = true;
  inFlight = 0;
  maxInFlight = 0;
  latencyMs = 5;
  answer: (unitId: number, address: number, count: number) => Answer = (_u, _a, count) =>
    Array(count).fill(1);

  read(unitId: number, _table: string, address: number, count: number, timeoutMs: number) {
    this.ops.push({ at: Date.now(), unitId, kind: 'read', address, count });
    const a = this.answer(unitId, address, count);
    return this.#settle(
      a === 'timeout' ? timeoutMs : this.latencyMs,
      a === 'timeout'
        ? new ModbusError(MODBUS_ERROR_CODES.timeout, `unit ${unitId}: no answer within ${timeoutMs} ms`)
        : typeof a === 'number'
          ? modbusException(a, `unit ${unitId}`)
          : undefined,
      a,
    ) as Promise<Array<number | boolean>>;
  }

  write(unitId: number, op: WriteOp) {
    this.ops.push({ at: Date.now(), unitId, kind: 'write', address: op.address, count: 1 });
    return this.#settle(this.latencyMs, undefined, undefined).then(() => undefined);
  }

  #settle(ms: number, err: Error | undefined, value: unknown): Promise<unknown> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    return new Promise((resolve, reject) =>
      setTimeout(() => {
        this.inFlight--;
        if (err) reject(err);
        else resolve(value);
      }, ms),
    );
  }

  async close() {
    this.isOpen = false;
  }
}

const tag = (name: string, address: number) => ({ name, table: 'holding', address, type: 'uint16' });

describe('Modbus driver health and scheduling (fake time)', () => {
  let link: ScriptedLink;
  let opens = 0;
  let failOpen = false;
  const open: LinkOpener = async () => {
    opens++;
    if (failOpen)
      throw new ModbusError(MODBUS_ERROR_CODES.connect, 'cannot connect to 10.0.0.1:502: ECONNREFUSED');
    link.isOpen = true;
    return link;
  };
  let run: ModbusRun | undefined;

  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
    link = new ScriptedLink();
    opens = 0;
    failOpen = false;
  });
  afterEach(async () => {
    // close() lets the request on the wire finish, which takes fake time.
    const closing = run?.close();
    await vi.advanceTimersByTimeAsync(60_000);
    await closing;
    run = undefined;
    vi.useRealTimers();
  });

  const start = async (connection: Record<string, unknown>, machines: Parameters<typeof modbusConfig>[1]) => {
    run = await runModbus(modbusConfig({ type: 'modbus-tcp', host: 'h', ...connection }, machines), 'plc', {
      open,
    });
    return run;
  };

  it('goes degraded after a failed poll and offline after offlineAfter, spacing out tries with backoff', async () => {
    let dead = false;
    link.answer = (u, _a, count) => (dead && u === 2 ? 'timeout' : Array(count).fill(7));
    const r = await start({ timeoutMs: 100, retries: 1, offlineAfter: 3, backoffMaxMs: 1600 }, [
      { id: 'A', unitId: 1, pollIntervalMs: 100, tags: [tag('v', 0)] },
      { id: 'B', unitId: 2, pollIntervalMs: 100, tags: [tag('v', 0)] },
    ]);
    await vi.advanceTimersByTimeAsync(250);
    expect(r.statuses.map((s) => [s.machineId, s.status])).toEqual([
      ['A', 'online'],
      ['B', 'online'],
    ]);
    dead = true;
    const t0 = Date.now();
    await vi.advanceTimersByTimeAsync(10_000);
    const tries = link.ops.filter((o) => o.unitId === 2 && o.at >= t0).map((o) => o.at - t0);
    // The first failed poll of a unit that answered before is two attempts (retries: 1), the
    // resend sent the moment the first timed out, with no other read between them. From then
    // on the unit is known not to answer: one attempt per poll (one timeout for the others),
    // and the next poll waits exactly 100, 200, 400, 800, 1600, 1600 ms after the failure.
    expect(tries[1]! - tries[0]!).toBe(100);
    const resendAt = link.ops.findIndex((o) => o.unitId === 2 && o.at - t0 === tries[1]);
    expect(link.ops[resendAt - 1]).toMatchObject({ unitId: 2, at: t0 + tries[0]! });
    const polls = [tries[0]!, ...tries.slice(2)];
    const ends = [tries[1]! + 100, ...tries.slice(2).map((t) => t + 100)];
    const waits = polls.slice(1, 7).map((t, i) => t - ends[i]!);
    [100, 200, 400, 800, 1600, 1600].forEach((backoff, i) => {
      expect(waits[i], `wait ${i}`).toBeGreaterThanOrEqual(backoff);
      expect(waits[i], `wait ${i}`).toBeLessThan(backoff + 10); // behind A's 5 ms read at most
    });
    // Health changes, and the detail kept current at every failed poll in between.
    const bHealth = r.health.filter((h) => h.machineId === 'B');
    expect(bHealth.map((h) => h.health).filter((h, i, a) => h !== a[i - 1])).toEqual([
      'online',
      'degraded',
      'offline',
    ]);
    const offlineAt = bHealth.find((h) => h.health === 'offline')!;
    expect(offlineAt.at - t0).toBe(tries[3]! + 100);
    expect(offlineAt.detail).toMatch(
      /no answer within 100 ms \(3 failed polls in a row; next poll in 400 ms\)/,
    );
    expect(bHealth.at(-1)!.detail).toMatch(/failed polls in a row; next poll in 1600 ms\)/);
    expect(r.driver.health().B!.detail).toBe(bHealth.at(-1)!.detail);
    expect(r.statuses.at(-1)).toMatchObject({ machineId: 'B', status: 'offline' });
    // A kept polling every 100 ms throughout.
    const aPolls = link.ops.filter((o) => o.unitId === 1 && o.at >= t0).length;
    expect(aPolls).toBeGreaterThanOrEqual(95);
    expect(r.driver.counters()).toMatchObject({ 'B.timeouts': tries.length, 'A.timeouts': 0 });

    dead = false;
    await vi.advanceTimersByTimeAsync(1700);
    expect(r.healthOf('B')).toBe('online');
    expect(r.statuses.at(-1)).toMatchObject({ machineId: 'B', status: 'online' });
  });

  it('treats exceptions 10/11 from a TCP gateway as a dead device, other exceptions as bad values', async () => {
    link.answer = (u, _a, count) => (u === 2 ? 11 : u === 3 ? 6 : Array(count).fill(1));
    const r = await start({ timeoutMs: 100, retries: 0, offlineAfter: 1 }, [
      { id: 'A', unitId: 1, tags: [tag('v', 0)] },
      { id: 'GW', unitId: 2, tags: [tag('v', 0)] },
      { id: 'BUSY', unitId: 3, tags: [tag('v', 0)] },
    ]);
    await vi.advanceTimersByTimeAsync(300);
    expect(r.healthOf('GW')).toBe('offline');
    expect(r.health.find((h) => h.machineId === 'GW')!.detail).toMatch(
      /exception 11 \(gateway target device failed/,
    );
    expect(r.healthOf('BUSY')).toBe('online');
    expect(r.latest('BUSY', 'v')).toMatchObject({
      quality: 'bad',
      value: null,
      reason: expect.stringMatching(/exception 6 \(server device busy\)/),
    });
  });

  it('splits a refused read once, keeps the split, and retries a refused tag only every illegalRetryMs', async () => {
    link.answer = (_u, address, count) => (address <= 5 && address + count > 5 ? 2 : Array(count).fill(3));
    const r = await start({ maxGap: 4, illegalRetryMs: 5000 }, [
      { id: 'M', pollIntervalMs: 100, tags: [tag('a', 0), tag('b', 1), tag('bad', 5), tag('c', 8)] },
    ]);
    await vi.advanceTimersByTimeAsync(50);
    expect(r.driver.plan('M').map((q) => [q.address, q.count])).toEqual([
      [0, 2],
      [5, 1],
      [8, 1],
    ]);
    expect(r.latest('M', 'bad')).toMatchObject({
      quality: 'bad',
      reason: expect.stringMatching(/exception 2/),
    });
    expect(r.latest('M', 'c')).toMatchObject({ quality: 'good', value: 3 });
    await vi.advanceTimersByTimeAsync(12_000);
    const refusedAsks = link.ops.filter((o) => o.address === 5).length;
    expect(refusedAsks).toBe(4); // two while splitting at 0, then at 5 s and 10 s
    expect(r.healthOf('M')).toBe('online');
    expect(r.driver.counters()['M.polls']).toBeGreaterThan(100);
  });

  it('hints at a Modicon number put into address when the device refuses it', async () => {
    link.answer = (_u, address, count) => (address === 40011 ? 2 : Array(count).fill(1));
    const r = await start({}, [{ id: 'M', tags: [tag('ok', 10), tag('oops', 40011)] }]);
    await vi.advanceTimersByTimeAsync(50);
    expect(r.latest('M', 'oops')?.reason).toMatch(
      /exception 2 \(illegal data address\); address 40011 looks like a Modicon number: .*register: 40011 \(= address 10\)/,
    );
    expect(r.latest('M', 'ok')).toMatchObject({ quality: 'good', value: 1 });
  });

  it('never runs two requests at once, guards against overlapping polls, and lets writes go first', async () => {
    link.latencyMs = 40;
    const r = await start({}, [
      { id: 'A', unitId: 1, pollIntervalMs: 50, tags: [tag('a', 0), tag('b', 100)] },
      { id: 'B', unitId: 2, pollIntervalMs: 50, tags: [tag('w', 0), { ...tag('x', 1), writable: true }] },
    ]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(link.maxInFlight).toBe(1);
    expect(r.driver.counters().overruns).toBeGreaterThan(0);
    const before = link.ops.length;
    const write = r.driver.write('B', 'x', 9);
    await vi.advanceTimersByTimeAsync(100);
    await write;
    // At most the request in flight went before it; no queued read did.
    expect(link.ops.slice(before).findIndex((o) => o.kind === 'write')).toBeLessThanOrEqual(0);
  });

  it('marks machines offline while the connection cannot open, without device backoff, and reconnects with backoff', async () => {
    failOpen = true;
    const r = await start({ offlineAfter: 2, backoffMaxMs: 4000 }, [
      { id: 'A', pollIntervalMs: 100, tags: [tag('a', 0)] },
    ]);
    await vi.advanceTimersByTimeAsync(20_000);
    // 500, 1000, 2000, 4000, 4000… ms between attempts: not one per poll.
    expect(opens).toBeLessThanOrEqual(8);
    expect(r.healthOf('A')).toBe('offline');
    expect(r.driver.health().A!.detail).toMatch(/ECONNREFUSED/);
    expect(r.driver.counters()['A.skipped']).toBe(0); // the connection's backoff, not the device's
    failOpen = false;
    await vi.advanceTimersByTimeAsync(4100);
    expect(r.healthOf('A')).toBe('online');
    expect(r.driver.counters().connects).toBe(1);
  });
});
