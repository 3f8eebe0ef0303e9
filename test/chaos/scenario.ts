/**
 * Runs one chaos scenario: starts a rig, applies the fault, counts, and asserts that every
 * value read from a machine is in the store exactly once and that the gateway's journal is
 * empty at the end. A failure keeps the rig's dir and prints the event log and the tails of
 * the hub's and the gateway's logs.
 */
import { expect, type TestContext } from 'vitest';
import { describeVerdict, type LossWindow } from './counting.js';
import { ChaosRig, type CountReport, type RigOptions } from './harness.js';

export type Fault = (rig: ChaosRig) => Promise<readonly LossWindow[] | undefined>;

export class ScenarioRunner {
  readonly #label: string;
  #rig: ChaosRig | undefined;
  #failed = false;

  /** `label` names the store in failure output. */
  constructor(label: string) {
    this.#label = label;
  }

  /** The count's report, for a scenario's own assertions beyond "stored exactly once, backlog 0". */
  async run(ctx: TestContext, options: RigOptions, fault: Fault): Promise<CountReport> {
    const r = await ChaosRig.create(options);
    this.#rig = r;
    try {
      await r.start();
      const windows = (await fault(r)) ?? [];
      const report = await r.finish(windows);
      const lines = report.verdicts.map(describeVerdict);
      const { backlog, replayed, dropped, released } = report.journal;
      const summary =
        `${report.read} values read from ${report.verdicts.length} machines; ` +
        `store caught up ${(report.drainMs / 1000).toFixed(1)} s after the counters stopped; ` +
        `journal: backlog ${backlog}, replayed ${replayed}, dropped ${dropped}` +
        (released === undefined ? '' : `, released ${released}`);
      await ctx.annotate(summary);
      if (process.env.WANJI_CHAOS_VERBOSE) {
        process.stderr.write(
          `\n[${this.#label} ${ctx.task.name}] ${summary}\n  ${r.events.join('\n  ')}\n  ${lines.join('\n  ')}\n`,
        );
      }
      expect(report.ok, `${summary}\n${lines.join('\n')}\nevents:\n  ${r.events.join('\n  ')}`).toBe(true);
      expect(backlog, "the gateway's journal backlog once everything is stored (acknowledged = freed)").toBe(
        0,
      );
      return report;
    } catch (err) {
      // The processes' own words: what the hub and the gateway logged before the end.
      this.#failed = true;
      process.stderr.write(`\n[${this.#label} ${ctx.task.name}] logs kept in ${r.dir}\n${r.diagnostics()}\n`);
      throw err;
    }
  }

  /** Closes the last rig (afterEach); keeps its dir when the scenario failed. */
  async cleanup(): Promise<void> {
    const r = this.#rig;
    this.#rig = undefined;
    const keep = this.#failed;
    this.#failed = false;
    await r?.close(keep);
  }
}
