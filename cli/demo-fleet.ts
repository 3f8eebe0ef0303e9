/**
 * What `wanji demo` remembers of its fleet in its data directory, so a rerun on the same
 * directory runs the same fleet (issue 10: a rerun with another size silently re-declared
 * E001–E003 under new names and regions, and left the old machines' data behind).
 *
 * The fleet is a pure function of (machines, seed) (simulators/fleet.ts); the record holds both.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Enterprise } from '../hub/registry/types.js';
import type { EnterpriseDeclaration } from '../protocol/domain.js';

export const DEMO_FLEET_FILE = 'demo-fleet.json';

export interface DemoFleetRecord {
  readonly machines: number;
  readonly seed: number;
}

/** The record in `dataDir`, undefined when there is none; throws naming the file when unreadable. */
export async function readDemoFleetRecord(dataDir: string): Promise<DemoFleetRecord | undefined> {
  const file = join(dataDir, DEMO_FLEET_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const o = parsed as Partial<Record<keyof DemoFleetRecord, unknown>> | undefined;
  if (typeof o !== 'object' || o === null || !Number.isInteger(o.machines) || !Number.isInteger(o.seed)) {
    throw new Error(
      `${file} is not a demo fleet record ({"machines": N, "seed": S}); fix it, or delete it to run the fleet that --machines and --seed give`,
    );
  }
  return { machines: o.machines as number, seed: o.seed as number };
}

export async function writeDemoFleetRecord(dataDir: string, record: DemoFleetRecord): Promise<void> {
  const text = `${JSON.stringify({ machines: record.machines, seed: record.seed }, null, 2)}\n`;
  await writeFile(join(dataDir, DEMO_FLEET_FILE), text, { mode: 0o600 });
}

export interface DemoFleetRequest {
  /** --machines, when given. */
  readonly machines: number | undefined;
  /** --seed, when given. */
  readonly seed: number | undefined;
}

export type DemoFleetChoice =
  | { readonly ok: true; readonly fleet: DemoFleetRecord; readonly resumed: boolean }
  | { readonly ok: false; readonly message: string };

/**
 * The fleet to run: the directory's own when it has one (options left out take its values),
 * else the options' (or the defaults). Options that ask for another fleet than the directory
 * holds are refused: that fleet would re-declare the same enterprise codes differently.
 */
export function chooseDemoFleet(
  dataDir: string,
  request: DemoFleetRequest,
  record: DemoFleetRecord | undefined,
  defaults: DemoFleetRecord,
): DemoFleetChoice {
  if (record === undefined) {
    return {
      ok: true,
      resumed: false,
      fleet: { machines: request.machines ?? defaults.machines, seed: request.seed ?? defaults.seed },
    };
  }
  const machines = request.machines ?? record.machines;
  const seed = request.seed ?? record.seed;
  if (machines === record.machines && seed === record.seed) return { ok: true, resumed: true, fleet: record };
  const asked = [
    ...(machines !== record.machines ? [`--machines ${machines}`] : []),
    ...(seed !== record.seed ? [`--seed ${seed}`] : []),
  ].join(' ');
  return {
    ok: false,
    message: [
      `${dataDir} holds the demo fleet of ${record.machines} machines (seed ${record.seed}) from an earlier run;`,
      `${asked} would make another fleet, declaring the same enterprise codes under other names and regions.`,
      `To keep that fleet, rerun without --machines and --seed. For a new fleet, give another directory`,
      `(e.g. --data-dir ${dataDir}-${machines}), or delete ${dataDir} first.`,
    ].join('\n'),
  };
}

/**
 * Enterprises of the plan that the registry already holds with another name, region or
 * industry: a directory written by something else than this fleet (an older demo, a real hub).
 */
export function conflictingEnterprises(
  plan: readonly EnterpriseDeclaration[],
  existing: (code: string) => Enterprise | undefined,
): { planned: EnterpriseDeclaration; held: Enterprise }[] {
  const out: { planned: EnterpriseDeclaration; held: Enterprise }[] = [];
  for (const planned of plan) {
    const held = existing(planned.code);
    if (held === undefined) continue;
    if (
      held.name !== planned.name ||
      held.regionCode !== planned.regionCode ||
      held.industryCode !== planned.industryCode
    ) {
      out.push({ planned, held });
    }
  }
  return out;
}
