/**
 * "Nothing lost" (issue 4), end to end with real processes: ten simulated Modbus machines, a
 * gateway and a hub as child processes, the gateway's uplink through a TCP proxy, and the
 * store on the real InfluxDB 1.6 (v1 mode) or VictoriaMetrics (v2 write API), and the hub
 * kill on the embedded SQLite store too. Every machine's part counter is a sequence number;
 * after each fault the whole series is read back from the store and every value read from a
 * machine must be there exactly once, at the time it was read, and the gateway's journal
 * must be empty. A failure lists, per machine, what is missing or duplicated, followed by
 * the event log and the tails of the hub's and the gateway's logs.
 *
 * WANJI_CHAOS_STORE_DOWN_S (unset by default): a fixed outage for scenario 2 (60 reproduces
 *   issue 4's minute); unset, the store stays down until the hub refuses, then STORE_DOWN_AFTER_REFUSAL_MS.
 * WANJI_CHAOS_DRAIN_S (default 90): the longest the end waits for the store to catch up.
 * WANJI_CHAOS_QUIET_S (default 20): it stops waiting sooner when the store stopped changing.
 * WANJI_CHAOS_VERBOSE=1: print each scenario's events and per-machine counts.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  describeWithServer,
  type ServerKind,
  startInfluxd,
  startVictoriaMetrics,
  type TestServer,
} from '../support/influx-servers.js';
import { type ChaosRig, sleep, until } from './harness.js';
import { type Fault, ScenarioRunner } from './scenario.js';

/**
 * Scenario 2 was a fixed 60 s outage (issue 4's "a minute"), of which what it proves needs less:
 * (a) the hub's 500-sample buffer fills and the hub refuses, so what follows exists only in the
 * gateway's journal — that is waited for (about 10 s here: 10 machines polled every 100 ms)
 * instead of hoped for; (b) the hub's store retries reach their 2 s ceiling (harness.ts:
 * retryMinDelayMs 100, retryMaxDelayMs 2 000, so about 4 s of doubling) and fail there a few
 * times, and the gateway keeps journalling through that refusal. Ten seconds after the first
 * refusal covers (b) five times over; every other timer involved is longer (the hub's
 * journalStallMs is 120 s) or shorter (the gateway's 1 s status), so a longer outage adds only
 * more of the same backlog. WANJI_CHAOS_STORE_DOWN_S still sets a fixed outage instead.
 */
const STORE_DOWN_FIXED_MS =
  process.env.WANJI_CHAOS_STORE_DOWN_S === undefined
    ? undefined
    : Number(process.env.WANJI_CHAOS_STORE_DOWN_S) * 1_000;
const STORE_DOWN_AFTER_REFUSAL_MS = 10_000;
/** The longest scenario 2 waits for the hub to refuse (as long as the whole outage was). */
const REFUSAL_WITHIN_MS = 60_000;
const STORE_DOWN_MAX_MS = STORE_DOWN_FIXED_MS ?? REFUSAL_WITHIN_MS + STORE_DOWN_AFTER_REFUSAL_MS;
const TIMEOUT_MS = 300_000;

const HUB_KILL = '1: the hub is killed (kill -9) during steady ingest and restarted';
const GATEWAY_KILL =
  '3: the gateway is killed (kill -9) while its uplink is down, restarted, then the uplink returns';
const UPLINK_CUTS =
  '4: the uplink connection is cut repeatedly (6 times, 2–4 s apart; every other one silent first)';

/** The hub flushes to the store once a second, so a kill -9 always finds samples in its memory. */
const HUB_KILL_OPTIONS = { name: 'chaos_hub_kill', hubFlushIntervalMs: 1_000 } as const;

const hubKill: Fault = async (r) => {
  await sleep(5_000);
  await r.killHub();
  await sleep(2_500);
  await r.startHub();
  await sleep(5_000);
  return undefined;
};

const gatewayKill: Fault = async (r) => {
  await sleep(3_000);
  r.proxy.down();
  r.note('uplink down (proxy refusing)');
  await sleep(3_000); // what is read now is only in the journal
  const killedAt = Date.now();
  await r.killGateway();
  // A kill -9 may take what the gateway read in its last moments (not yet journaled).
  const windows = [{ from: killedAt - 1_000, to: Date.now(), why: 'read just before kill -9' }];
  await sleep(1_000);
  await r.startGateway();
  await sleep(3_000);
  r.proxy.up();
  r.note('uplink up');
  await sleep(5_000);
  return windows;
};

const uplinkCuts: Fault = async (r: ChaosRig) => {
  let cuts = 0;
  for (let i = 0; i < 6; i++) {
    await sleep(2_000 + Math.floor(Math.random() * 2_000));
    await until(
      'the gateway to be connected',
      () => (r.proxy.connections > 0 ? true : undefined),
      30_000,
      50,
    );
    // A clean close, or half a second in which what is sent vanishes before the close
    // (data and acknowledgements lost in transit, as when a link dies unnoticed).
    const silent = i % 2 === 1;
    const n = silent ? await r.proxy.silenceThenCut(500) : r.proxy.cut();
    if (n > 0) cuts++;
    r.note(`uplink cut ${i + 1}${silent ? ' after 0.5 s of silence' : ''}`);
  }
  expect(cuts, 'cuts that found the gateway connected').toBe(6);
  await sleep(5_000);
  return undefined;
};

for (const kind of ['influxd', 'victoria-metrics'] as const satisfies readonly ServerKind[]) {
  describeWithServer(kind, `nothing lost, counted in ${kind}`, () => {
    let server: TestServer;
    const runner = new ScenarioRunner(kind);

    beforeAll(async () => {
      server = kind === 'influxd' ? await startInfluxd() : await startVictoriaMetrics();
    });
    afterEach(async () => {
      await server?.start(); // a scenario that failed with the store down leaves it up again
      await runner.cleanup();
    });
    afterAll(async () => {
      await server?.close();
    });

    it(HUB_KILL, (ctx) => runner.run(ctx, { server, ...HUB_KILL_OPTIONS }, hubKill), TIMEOUT_MS);

    it(
      STORE_DOWN_FIXED_MS === undefined
        ? `2: the store server is down until the small hub buffer refuses, then ${STORE_DOWN_AFTER_REFUSAL_MS / 1000} s more`
        : `2: the store server is down for ${STORE_DOWN_FIXED_MS / 1000} s with a small hub buffer`,
      (ctx) =>
        runner.run(ctx, { server, name: 'chaos_store_down', hubMaxSamples: 500 }, async (r) => {
          await sleep(3_000);
          await server.stop();
          const stoppedAt = Date.now();
          r.note(`${kind} stopped`);
          if (STORE_DOWN_FIXED_MS !== undefined) {
            await sleep(STORE_DOWN_FIXED_MS);
          } else {
            await until(
              'the hub to refuse samples (its buffer full)',
              async () => ((await r.health()).counters.ingest?.samplesRefused ?? 0) > 0 || undefined,
              REFUSAL_WITHIN_MS,
              250,
            );
            r.note(`hub refusing ${((Date.now() - stoppedAt) / 1000).toFixed(1)} s after ${kind} stopped`);
            await sleep(STORE_DOWN_AFTER_REFUSAL_MS);
          }
          // The premise: the hub's buffer filled and it refused samples, which only the
          // gateway's journal still holds.
          const refused = (await r.health()).counters.ingest?.samplesRefused;
          r.note(`hub refused ${refused} samples so far`);
          await ctx.annotate(`the hub refused ${refused} samples while ${kind} was down`);
          expect(refused, 'samples the hub refused while the store was down').toBeGreaterThan(0);
          await server.start();
          r.note(`${kind} started again after ${((Date.now() - stoppedAt) / 1000).toFixed(1)} s`);
          await sleep(5_000);
          return undefined;
        }),
      TIMEOUT_MS + STORE_DOWN_MAX_MS,
    );

    it(
      GATEWAY_KILL,
      (ctx) => runner.run(ctx, { server, name: 'chaos_gateway_kill' }, gatewayKill),
      TIMEOUT_MS,
    );

    it(UPLINK_CUTS, (ctx) => runner.run(ctx, { server, name: 'chaos_uplink_cuts' }, uplinkCuts), TIMEOUT_MS);
  });
}

// The hub's default store: a kill -9 must not lose what the hub acknowledged as written.
describe('nothing lost, counted in the embedded SQLite store', () => {
  const runner = new ScenarioRunner('sqlite');
  afterEach(async () => {
    await runner.cleanup();
  });

  it(HUB_KILL, (ctx) => runner.run(ctx, HUB_KILL_OPTIONS, hubKill), TIMEOUT_MS);
});
