/**
 * Issue 10, "a journal that always drains", end to end with real processes (chaos rig,
 * harness.ts) on the embedded SQLite store: the hub goes down, a machine is taken out of the
 * gateway's YAML, the gateway is restarted, the hub is started. Before, the gateway skipped
 * the removed machine's journalled data and the hub waited for those positions for ever: a
 * rebirth every 10 s, the whole backlog replayed each time, the backlog growing until the
 * journal dropped data, /healthz ok. Now every value of the remaining machines is stored
 * exactly once, the removed machine's journalled values are stored or counted as released
 * (Journal/Released), the backlog returns to 0 and the hub's journals component is up.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { sleep } from './harness.js';
import { ScenarioRunner } from './scenario.js';

const REMOVED = 'E001-CNC-002';

describe('a journal that always drains (embedded SQLite store)', () => {
  const runner = new ScenarioRunner('sqlite');
  afterEach(async () => {
    await runner.cleanup();
  });

  it('5: hub down, a machine removed from the gateway YAML, gateway restarted, hub started', async (ctx) => {
    const report = await runner.run(ctx, { name: 'chaos_removed_machine', machines: 4 }, async (r) => {
      await sleep(2_000);
      await r.killHub();
      await sleep(3_000); // what the machines give now is only in the gateway's journal
      await r.stopGateway();
      r.removeMachine(REMOVED);
      await r.startGateway();
      await sleep(2_000); // the remaining machines journalled by the restarted gateway
      await r.startHub();
      await sleep(5_000);
      return undefined;
    });
    // The premise: the removed machine had values only in the journal, which were released.
    expect(report.unstoredOfRemoved, `values of ${REMOVED} only in the journal`).toBeGreaterThan(0);
    expect(report.journal.released, 'Journal/Released').toBeGreaterThanOrEqual(report.unstoredOfRemoved);
    expect(report.health?.components.journals, "the hub's journals component at the end").toEqual({
      status: 'up',
    });
  }, 120_000);
});
