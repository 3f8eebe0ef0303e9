/**
 * Issue 10: "a dead Modbus unit costs its neighbours two timeouts, not one". The resend of a
 * read to a unit that did not answer went to the back of the bus queue, between the reads of
 * another unit's poll, so that poll waited for two timeouts and the live unit's next poll was
 * skipped (every ~32 s its counter skipped a value). Now a unit that is not answering gets one
 * attempt per poll, and the health reason says when the next one really is.
 *
 * Against our simulator over real Modbus TCP on loopback (the dead unit id is one nobody
 * answers, as behind a TCP-to-serial gateway), with the driver on a manual clock: poll timers
 * and request deadlines run in fake time, the live unit's requests in real time, and the test
 * lets those finish before the clock moves on, so each poll's order on the bus is exact.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { LinkOpener, ModbusLink } from '../../gateway/southbound/modbus/transport.js';
import { openModbusLink } from '../../gateway/southbound/modbus/transport.js';
import { SimMachine } from '../../simulators/machine.js';
import { ModbusSimServer } from '../../simulators/modbus/server.js';
import { ManualClock } from '../support/manual-clock.js';
import { testLogger } from './helpers.js';
import { type ModbusRun, modbusConfig, runModbus } from './modbus-harness.js';

const realTick = () => new Promise<void>((r) => setImmediate(r));
const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describe('a dead Modbus unit on a shared bus (issue 10)', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  it('costs the live unit one timeout per poll of the dead one: every counter value arrives, none skipped', async () => {
    const P = 3000; // the live unit's poll interval
    const DEAD_P = 1000; // the dead unit's, out of step with it
    const TIMEOUT = 2000; // one timeout fits in a poll interval, two do not
    const LIVE = 1;
    const DEAD = 9;
    const cnc = new SimMachine({ id: 'E001-CNC-001', kind: 'cnc', seed: 1 });
    cnc.tick(0);
    cnc.setSignal('partCount', 0);
    const server = new ModbusSimServer({ logger: testLogger(), units: [{ unitId: LIVE, machine: cnc }] });
    await server.start();
    cleanup.push(() => server.close());

    // The real link, watched: which requests are on the wire, and when (fake ms) each unit's started.
    const clock = new ManualClock(1_800_000_000_000);
    const t0 = clock.now();
    let opening = 0;
    const inFlight = new Map<number, number>();
    const sent: Array<{ unitId: number; at: number }> = [];
    const open: LinkOpener = async (target, options) => {
      opening++;
      try {
        const link = await openModbusLink(target, options);
        const watched: ModbusLink = {
          get isOpen() {
            return link.isOpen;
          },
          read: async (unitId, table, address, count, timeoutMs) => {
            sent.push({ unitId, at: clock.now() - t0 });
            inFlight.set(unitId, (inFlight.get(unitId) ?? 0) + 1);
            try {
              return await link.read(unitId, table, address, count, timeoutMs);
            } finally {
              inFlight.set(unitId, inFlight.get(unitId)! - 1);
            }
          },
          write: (unitId, op, timeoutMs) => link.write(unitId, op, timeoutMs),
          close: () => link.close(),
        };
        return watched;
      } finally {
        opening--;
      }
    };
    // Lets everything that happens in real time finish: the live unit's requests and the
    // connect. A request to the dead unit ends only when the clock reaches its deadline.
    const settle = async (): Promise<void> => {
      const deadline = Date.now() + 10_000;
      for (let quiet = 0; quiet < 5; ) {
        await realTick();
        if (opening > 0 || (inFlight.get(LIVE) ?? 0) > 0) {
          if (Date.now() > deadline) throw new Error('the live unit did not answer within 10 s');
          quiet = 0;
          await realSleep(1);
        } else quiet++;
      }
    };

    // The counter: the server's partCount becomes k at k × P, just before the live unit's k-th
    // poll is due (this timer is always set before the poll's, so it fires first).
    let count = 0;
    const bump = (): void => {
      count++;
      cnc.setSignal('partCount', count);
      clock.setTimeout(bump, P);
    };
    clock.setTimeout(bump, P);

    const config = modbusConfig(
      {
        type: 'modbus-tcp',
        host: '127.0.0.1',
        port: server.port,
        timeoutMs: TIMEOUT,
        retries: 1,
        offlineAfter: 2,
        backoffMaxMs: 4 * P,
      },
      [
        {
          id: 'live',
          unitId: LIVE,
          pollIntervalMs: P,
          // Three tables, three reads per poll: a resend sent between them made this poll wait
          // for two timeouts.
          tags: [
            { name: 'partCount', table: 'holding', address: 4, type: 'uint32' },
            { name: 'lampGreen', table: 'coil', address: 2, type: 'bool' },
            { name: 'spindleSpeed', table: 'input', address: 0, type: 'float32' },
          ],
        },
        {
          id: 'dead',
          unitId: DEAD,
          pollIntervalMs: DEAD_P,
          tags: [{ name: 'v', table: 'holding', address: 0, type: 'uint16' }],
        },
      ],
    );
    const run: ModbusRun = await runModbus(config, 'plc', { clock, open });
    cleanup.push(() => run.close());
    expect(run.driver.plan('live')).toHaveLength(3);

    // 25 polls of the live unit, while the dead one is tried at 0, 3, 7, 13, 23, 37, 51 and 65 s
    // (a backoff of 1, 2, 4, 8, 12, 12… s after each failure): more than three backoff cycles.
    const polls = 25;
    await clock.advanceTo(t0 + (polls - 1) * P + P / 2, settle);

    const counts = run.samples.filter((s) => s.machineId === 'live' && s.tag === 'partCount');
    expect(counts.every((s) => s.quality === 'good')).toBe(true);
    // Every value, each read within its own poll interval: no gap, no repeat.
    expect(counts.map((s) => s.value)).toEqual(Array.from({ length: polls }, (_, k) => k));
    counts.forEach((s, k) => {
      expect(s.sourceTime - t0, `poll ${k}`).toBeGreaterThanOrEqual(k * P);
      expect(s.sourceTime - t0, `poll ${k}`).toBeLessThanOrEqual(k * P + TIMEOUT);
    });
    const c = run.driver.counters();
    expect(c['live.overruns']).toBe(0);
    expect(c['live.polls']).toBe(polls);
    expect(c['live.timeouts']).toBe(0);

    // The dead unit: one request per poll, each costing one timeout, backing off.
    const deadTries = sent.filter((s) => s.unitId === DEAD).map((s) => s.at);
    expect(deadTries).toEqual([0, 3000, 7000, 13_000, 23_000, 37_000, 51_000, 65_000]);
    expect(c['dead.polls']).toBe(deadTries.length);
    expect(c['dead.timeouts']).toBe(deadTries.length);
    expect(c['dead.reads']).toBe(0);

    // Its reason says when it is really tried next (issue 10: it said "next poll in 2000 ms"
    // while the backoff was 30 s), kept current at every failed poll.
    const reasons = run.health.filter((h) => h.machineId === 'dead');
    expect(reasons.map((h) => [h.health, h.at - t0, h.detail])).toEqual([
      ['degraded', 2000, expect.stringMatching(/\(1 failed poll; next poll in 1000 ms\)$/)],
      ['offline', 5000, expect.stringMatching(/\(2 failed polls in a row; next poll in 2000 ms\)$/)],
      ['offline', 9000, expect.stringMatching(/\(3 failed polls in a row; next poll in 4000 ms\)$/)],
      ['offline', 15_000, expect.stringMatching(/\(4 failed polls in a row; next poll in 8000 ms\)$/)],
      ['offline', 25_000, expect.stringMatching(/\(5 failed polls in a row; next poll in 12000 ms\)$/)],
      ['offline', 39_000, expect.stringMatching(/\(6 failed polls in a row; next poll in 12000 ms\)$/)],
      ['offline', 53_000, expect.stringMatching(/\(7 failed polls in a row; next poll in 12000 ms\)$/)],
      ['offline', 67_000, expect.stringMatching(/\(8 failed polls in a row; next poll in 12000 ms\)$/)],
    ]);
    reasons.forEach((h, i) => {
      const inMs = Number(/next poll in (\d+) ms/.exec(h.detail)![1]);
      const next = deadTries[i + 1];
      if (next !== undefined) expect(h.at - t0 + inMs, `reason ${i}`).toBe(next);
    });
    expect(run.driver.health().dead!.detail).toMatch(/unit 9 FC3 holding 0\+1: no answer within 2000 ms/);
    // Never answered: never reported online, so no status at all (its health says offline).
    expect(run.statuses.filter((s) => s.machineId === 'dead')).toEqual([]);
  });
});
