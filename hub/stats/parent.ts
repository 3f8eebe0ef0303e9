/**
 * The child's side of multi-level platforms: every `intervalS` seconds, POSTs this hub's
 * aggregates (its own enterprises and what its own children forwarded) to the parent hub's
 * `/api/v1/statistics/children`. Runs never overlap; a failure is logged and retried at the
 * next interval (the parent keeps the last report it accepted).
 */
import type { Logger } from 'pino';
import { type Clock, REAL_CLOCK } from '../../protocol/clock.js';
import { HubError } from '../errors.js';
import type { Registry } from '../registry/registry.js';
import type { ChildReport, PlatformLevel } from './child-report.js';
import type { Activity } from './figures.js';
import { type StatsWindows, statsInputs } from './stats.js';

export interface ParentConfig {
  /** The parent hub's base URL, e.g. https://region-hub.example:8080 */
  readonly url: string;
  /**
   * A parent API token with role child-hub, issued for this hub's `hostId` and the regions
   * (or enterprise codes) it reports: `wanji token create --role child-hub` on the parent.
   */
  readonly token: string;
  readonly intervalS: number;
  /** The industrial internet platform this hub is, sent with each report for the parent's programme targets. */
  readonly platform?: { readonly name: string; readonly level: PlatformLevel };
}

/** A POST to the parent (answer included) still unfinished after this long is given up. */
const PARENT_TIMEOUT_MS = 30_000;

/** `a` with no count above `cap`, still nested (networked, online ≤ machines; …). */
function capped(a: Activity, cap: number): Activity {
  const machines = Math.min(a.machines, Math.max(0, cap));
  const networked = Math.min(a.networked, machines);
  const online = Math.min(a.online, machines);
  return {
    machines,
    networked,
    online,
    poweredOn: Math.min(a.poweredOn, online),
    networkedNc: Math.min(a.networkedNc, networked),
    networkedRobots: Math.min(a.networkedRobots, networked),
  };
}

/**
 * This hub's aggregates as a parent receives them: counts and ledgers, no telemetry. A parent
 * counts no more machines for an enterprise than its declared production equipment, nor more
 * in all than the report's ledgers declare (docs/statistics.md): machines beyond the ledger
 * stay in this hub's own figures and are not forwarded, so that an honest report is never
 * refused for them.
 */
export function childReport(
  registry: Registry,
  now: number,
  windows: StatsWindows,
  hubId: string,
  platform?: ParentConfig['platform'],
): ChildReport {
  const inputs = statsInputs(registry, now, windows);
  const enterprises = inputs.enterprises.map((e) => ({
    code: e.code,
    name: e.name,
    regionCode: e.regionCode,
    industryCode: e.industryCode,
    backbone: e.backbone,
    ledger: { ...e.ledger },
    activity: capped(e.activity, e.ledger.productionEquipment),
  }));
  const sum = (f: (e: (typeof enterprises)[number]) => number) => enterprises.reduce((n, e) => n + f(e), 0);
  const room = sum((e) => e.ledger.productionEquipment) - sum((e) => e.activity.machines);
  return {
    hubId,
    generatedAt: now,
    windows: { networkingMs: windows.networkingMs, onlineMs: windows.onlineMs },
    enterprises,
    unattributed: capped(inputs.unattributed, room),
    ...(platform === undefined ? {} : { platform: { name: platform.name, level: platform.level } }),
  };
}

export interface ForwarderOptions {
  readonly parent: ParentConfig;
  readonly hubId: string;
  readonly registry: Registry;
  readonly windows: StatsWindows;
  readonly logger: Logger;
  /** Default REAL_CLOCK. */
  readonly clock?: Clock;
  readonly fetch?: typeof fetch;
}

export class ParentForwarder {
  readonly #o: ForwarderOptions;
  readonly #log: Logger;
  readonly #clock: Clock;
  #timer: unknown;
  #running: Promise<void> | undefined;
  #started = false;
  /** Reports the parent accepted / refused or could not be reached for. */
  readonly counters = { sent: 0, failed: 0 };

  constructor(o: ForwarderOptions) {
    this.#o = o;
    this.#log = o.logger.child({ component: 'parent-forwarder', parent: o.parent.url });
    this.#clock = o.clock ?? REAL_CLOCK;
  }

  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    this.#schedule(0);
  }

  async close(): Promise<void> {
    this.#started = false;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  #schedule(ms: number): void {
    if (!this.#started) return;
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      void this.forward()
        .catch(() => undefined)
        .finally(() => this.#schedule(this.#o.parent.intervalS * 1000));
    }, ms);
  }

  /** Sends one report now; a call while one is under way waits for that one instead. */
  forward(): Promise<void> {
    this.#running ??= this.#send().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #send(): Promise<void> {
    const { registry, windows, hubId, parent } = this.#o;
    const report = childReport(registry, this.#clock.now(), windows, hubId, parent.platform);
    const url = new URL('/api/v1/statistics/children', parent.url).toString();
    // On the hub's clock rather than AbortSignal.timeout, like every other timer of the hub.
    const abort = new AbortController();
    const timeout = this.#clock.setTimeout(
      () => abort.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')),
      PARENT_TIMEOUT_MS,
    );
    try {
      const res = await (this.#o.fetch ?? fetch)(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${parent.token}` },
        body: JSON.stringify(report),
        signal: abort.signal,
      });
      if (!res.ok) {
        const text = (await res.text()).slice(0, 500);
        throw new HubError('WANJI_E_STATS_PARENT', `parent hub answered ${res.status}: ${text}`);
      }
      this.counters.sent++;
      this.#log.debug({ enterprises: report.enterprises.length }, 'aggregates forwarded to the parent hub');
    } catch (err) {
      this.counters.failed++;
      const e =
        err instanceof HubError
          ? err
          : new HubError('WANJI_E_STATS_PARENT', `cannot reach the parent hub at ${url}: ${String(err)}`, {
              cause: err,
            });
      this.#log.warn(
        { err: e, code: e.code },
        'forwarding aggregates to the parent hub failed; retrying next interval',
      );
      throw e;
    } finally {
      this.#clock.clearTimeout(timeout);
    }
  }
}
