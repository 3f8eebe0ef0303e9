/**
 * V8 settings a hub's process runs best with. They belong to the process, not to one hub, so
 * they are set once, by the first hub that starts (Hub.start), before any gateway traffic.
 *
 * **Allocation-site pretenuring off.** A hub's per-message objects (each decoded metric, each
 * sample) wait in the ingest's buffer until the store's next batch, long enough for V8 to judge
 * their allocation sites long-lived and allocate them straight in the old generation. At 10,000
 * machines that was 10 MB a second of old-generation pages, each one new to the process (a page
 * fault and a zeroed page: 13 % of the hub's CPU in `perf`, 3,750 faults a second) and given
 * back by a full collection every 20 s or so. Left in the young generation, they die there:
 * the heap stays flat and a stored sample costs 0.85× the CPU (docs/bench.md, session 10).
 * Objects that really live long still reach the old generation, by surviving two scavenges.
 */
import v8 from 'node:v8';

/** The flags tuneRuntime() sets. */
export const HUB_V8_FLAGS: readonly string[] = ['--no-allocation-site-pretenuring'];

let tuned = false;

/** Sets HUB_V8_FLAGS once per process; returns the flags this call set (none after the first). */
export function tuneRuntime(): readonly string[] {
  if (tuned) return [];
  tuned = true;
  for (const flag of HUB_V8_FLAGS) v8.setFlagsFromString(flag);
  return HUB_V8_FLAGS;
}
