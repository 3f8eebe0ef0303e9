/**
 * Subscription mode: one subscription per session, one monitored item per tag. Items with the
 * same settings (sampling interval, queue size, filter) are created together, in requests of at
 * most `maxPerCall` items. node-opcua carries the subscription and its items across reconnects
 * (republish, transfer, or re-creation on a new session).
 */
import {
  AttributeIds,
  ClientMonitoredItemGroup,
  type ClientSession,
  type ClientSubscription,
  DataChangeFilter,
  DataChangeTrigger,
  type DataValue,
  DeadbandType,
  type NodeId,
  type StatusCode,
  TimestampsToReturn,
} from 'node-opcua';
import type { DataChangeTriggerName } from './schema.js';

export interface ItemSpec {
  /** The driver's index of the tag. */
  readonly index: number;
  readonly nodeId: NodeId;
  readonly samplingInterval: number;
  readonly queueSize: number;
  readonly trigger: DataChangeTriggerName | undefined;
  readonly deadband: { readonly kind: 'absolute' | 'percent'; readonly value: number } | undefined;
}

export interface MonitorHandlers {
  onValue(index: number, dv: DataValue): void;
  /** The server refused to monitor the item (even without a filter, when it refused that). */
  onRefused(index: number, status: StatusCode): void;
  /** The server refused the item's filter; it is monitored without one. */
  onFilterRefused(index: number, status: StatusCode): void;
  /** Any publish response: data or keep-alive. */
  onActivity(): void;
  /** The subscription ended without close() (the server dropped it). */
  onLost(reason: string): void;
}

export interface SubscriptionSettings {
  readonly publishingInterval: number;
  readonly keepAliveCount: number;
  readonly maxPerCall: number;
}

const TRIGGERS: Readonly<Record<DataChangeTriggerName, DataChangeTrigger>> = {
  status: DataChangeTrigger.Status,
  'status-value': DataChangeTrigger.StatusValue,
  'status-value-timestamp': DataChangeTrigger.StatusValueTimestamp,
};

/** Status codes with which a server says "not with this filter" rather than "not this node". */
const FILTER_REFUSED = new Set([
  'BadFilterNotAllowed',
  'BadMonitoredItemFilterUnsupported',
  'BadMonitoredItemFilterInvalid',
  'BadDeadbandFilterInvalid',
]);

export function filterOf(spec: Pick<ItemSpec, 'trigger' | 'deadband'>): DataChangeFilter | null {
  if (spec.deadband === undefined && (spec.trigger === undefined || spec.trigger === 'status-value'))
    return null;
  return new DataChangeFilter({
    trigger: TRIGGERS[spec.trigger ?? 'status-value'],
    deadbandType:
      spec.deadband === undefined
        ? DeadbandType.None
        : spec.deadband.kind === 'percent'
          ? DeadbandType.Percent
          : DeadbandType.Absolute,
    deadbandValue: spec.deadband?.value ?? 0,
  });
}

/** Items that can share one CreateMonitoredItems request, keyed by their settings. */
export function groupBySettings(specs: readonly ItemSpec[]): Map<string, ItemSpec[]> {
  const groups = new Map<string, ItemSpec[]>();
  for (const s of specs) {
    const key = JSON.stringify([s.samplingInterval, s.queueSize, s.trigger ?? '', s.deadband ?? '']);
    const g = groups.get(key);
    if (g === undefined) groups.set(key, [s]);
    else g.push(s);
  }
  return groups;
}

export class SubscriptionMonitor {
  readonly #session: ClientSession;
  readonly #settings: SubscriptionSettings;
  readonly #handlers: MonitorHandlers;
  #subscription: ClientSubscription | undefined;
  /** The subscription being created (start() under way). */
  #creating: Promise<ClientSubscription> | undefined;
  readonly #groups: Array<{ group: ClientMonitoredItemGroup; specs: readonly ItemSpec[] }> = [];
  #closing = false;

  constructor(session: ClientSession, settings: SubscriptionSettings, handlers: MonitorHandlers) {
    this.#session = session;
    this.#settings = settings;
    this.#handlers = handlers;
  }

  /** The longest the server may stay silent: revised publishing interval × keep-alive count. */
  get keepAliveMs(): number {
    const s = this.#subscription;
    const interval = s?.publishingInterval ?? this.#settings.publishingInterval;
    const count = s?.maxKeepAliveCount ?? this.#settings.keepAliveCount;
    return interval * count;
  }

  async start(specs: readonly ItemSpec[]): Promise<void> {
    const creating = this.#session.createSubscription2({
      requestedPublishingInterval: this.#settings.publishingInterval,
      requestedMaxKeepAliveCount: this.#settings.keepAliveCount,
      requestedLifetimeCount: this.#settings.keepAliveCount * 6,
      maxNotificationsPerPublish: 0,
      publishingEnabled: true,
      priority: 1,
    });
    this.#creating = creating;
    const subscription = await creating;
    this.#creating = undefined;
    // Closed meanwhile: close() took the subscription from `creating` and ends it.
    if (this.#closing) return;
    this.#subscription = subscription;
    subscription.on('keepalive', () => this.#handlers.onActivity());
    subscription.on('received_notifications', () => this.#handlers.onActivity());
    subscription.on('terminated', () => {
      if (!this.#closing) this.#handlers.onLost('the server ended the subscription');
    });
    subscription.on('status_changed', (status: StatusCode) => {
      if (!this.#closing && status.isBad()) this.#handlers.onLost(`subscription status ${status.name}`);
    });
    const chunks: ItemSpec[][] = [];
    for (const group of groupBySettings(specs).values()) {
      for (let i = 0; i < group.length; i += this.#settings.maxPerCall) {
        chunks.push(group.slice(i, i + this.#settings.maxPerCall));
      }
    }
    const refusedFilters = (
      await Promise.all(chunks.map((c) => this.#monitor(subscription, c, true)))
    ).flat();
    if (refusedFilters.length > 0) await this.#monitor(subscription, refusedFilters, false);
  }

  /**
   * Points items at new NodeIds (a browse path that resolves differently in a new session)
   * before node-opcua re-creates them there.
   */
  retarget(nodeIds: ReadonlyMap<number, NodeId>): number {
    let changed = 0;
    for (const { group, specs } of this.#groups) {
      group.monitoredItems.forEach((item, i) => {
        const next = nodeIds.get(specs[i]!.index);
        if (next !== undefined && next.toString() !== item.itemToMonitor.nodeId.toString()) {
          item.itemToMonitor.nodeId = next;
          changed++;
        }
      });
    }
    return changed;
  }

  /** Creates one request's items; returns those whose filter was refused (when `withFilter`). */
  async #monitor(
    subscription: ClientSubscription,
    specs: readonly ItemSpec[],
    withFilter: boolean,
  ): Promise<ItemSpec[]> {
    const first = specs[0]!;
    const group = ClientMonitoredItemGroup.create(
      subscription,
      specs.map((s) => ({ nodeId: s.nodeId, attributeId: AttributeIds.Value })),
      {
        samplingInterval: first.samplingInterval,
        queueSize: first.queueSize,
        discardOldest: true,
        filter: withFilter ? filterOf(first) : null,
      },
      TimestampsToReturn.Both,
    );
    // Listen before the first notification can arrive: an unchanging value is sent only once.
    group.on('changed', (_item, dv: DataValue, i: number) => {
      const spec = specs[i];
      if (spec !== undefined) this.#handlers.onValue(spec.index, dv);
    });
    await new Promise<void>((resolve, reject) => {
      group.once('initialized', () => resolve());
      group.once('err', (message: string) => reject(new Error(`CreateMonitoredItems failed: ${message}`)));
    });
    this.#groups.push({ group, specs });
    const refused: ItemSpec[] = [];
    group.monitoredItems.forEach((item, i) => {
      const status = item.statusCode;
      const spec = specs[i]!;
      if (status === undefined || status.isGood()) return;
      if (withFilter && FILTER_REFUSED.has(status.name)) {
        this.#handlers.onFilterRefused(spec.index, status);
        refused.push(spec);
      } else this.#handlers.onRefused(spec.index, status);
    });
    return refused;
  }

  /**
   * Ends the subscription; one still being created is waited for first, so the session is not
   * closed under it (node-opcua then throws "expecting a valid session" from a timer, which no
   * caller can catch).
   */
  async close(): Promise<void> {
    this.#closing = true;
    const s = this.#subscription ?? (await this.#creating?.catch(() => undefined));
    this.#subscription = undefined;
    this.#creating = undefined;
    if (s !== undefined) await s.terminate();
  }
}
