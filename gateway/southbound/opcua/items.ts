/** Starts a session's items: the subscription and its monitored items, or the poller. */
import type { ClientSession, DataValue, NodeId } from 'node-opcua';
import type { Logger } from 'pino';
import type { Clock } from '../../../protocol/clock.js';
import type { LinkCounters, LinkTarget } from './link.js';
import { type ItemSpec, SubscriptionMonitor } from './monitor.js';
import { Poller } from './poller.js';
import type { OpcuaConnectionConfig } from './schema.js';

export interface ItemsContext {
  readonly conn: OpcuaConnectionConfig;
  readonly nodeIds: ReadonlyMap<number, NodeId>;
  readonly publishingInterval: number;
  readonly clock: Clock;
  readonly log: Logger;
  readonly counters: LinkCounters;
  /** True while node-opcua repairs the connection. */
  readonly reconnecting: () => boolean;
  onValue(index: number, dv: DataValue): void;
  onTagFailed(index: number, status: string): void;
  onRead(ms: number): void;
  onActivity(): void;
  /** The subscription ended outside a repair. */
  onLost(reason: string): void;
}

/** The monitored item of a tag: its sampling interval, queue, trigger and deadband. */
export function itemSpec(t: LinkTarget, nodeId: NodeId): ItemSpec {
  const { tag } = t;
  const deadband =
    tag.deadbandPercent !== undefined && tag.deadbandPercent > 0
      ? { kind: 'percent' as const, value: tag.deadbandPercent }
      : tag.deadband > 0
        ? { kind: 'absolute' as const, value: tag.deadband }
        : undefined;
  return {
    index: t.index,
    nodeId,
    samplingInterval: t.intervalMs,
    queueSize: tag.queueSize,
    trigger: tag.trigger,
    deadband,
  };
}

export async function startItems(
  session: ClientSession,
  live: readonly LinkTarget[],
  c: ItemsContext,
): Promise<{ monitor?: SubscriptionMonitor; poller?: Poller }> {
  const { conn, counters, log } = c;
  if (conn.mode === 'polling') {
    const poller = new Poller(
      session,
      live.map((t) => ({ index: t.index, nodeId: c.nodeIds.get(t.index)!, intervalMs: t.intervalMs })),
      { batch: conn.maxNodesPerRequest, clock: c.clock, paused: c.reconnecting },
      {
        onValue: (i, dv) => c.onValue(i, dv),
        onRead: (ms) => c.onRead(ms),
        onReadError: (err) => {
          counters.errors++;
          log.warn({ err }, 'OPC UA read failed');
        },
        onOverrun: () => counters.overruns++,
      },
    );
    poller.start();
    return { poller };
  }
  const byIndex = new Map(live.map((t) => [t.index, t]));
  const monitor = new SubscriptionMonitor(
    session,
    {
      publishingInterval: c.publishingInterval,
      keepAliveCount: conn.keepAliveCount,
      maxPerCall: conn.maxNodesPerRequest,
    },
    {
      onValue: (i, dv) => {
        counters.notifications++;
        c.onValue(i, dv);
      },
      onRefused: (i, status) => {
        counters.badItems++;
        const t = byIndex.get(i);
        log.warn(
          { machine: t?.machineId, tag: t?.tag.name, nodeId: t?.tag.nodeId, status: status.name },
          'monitored item refused; check the nodeId',
        );
        c.onTagFailed(i, status.name);
      },
      onFilterRefused: (i, status) => {
        const t = byIndex.get(i);
        log.warn(
          { machine: t?.machineId, tag: t?.tag.name, status: status.name },
          'the server refused the deadband or trigger of this tag; monitoring it without (every change is reported)',
        );
      },
      onActivity: () => c.onActivity(),
      onLost: (reason) => {
        if (!c.reconnecting()) c.onLost(reason);
      },
    },
  );
  await monitor.start(live.map((t) => itemSpec(t, c.nodeIds.get(t.index)!)));
  return { monitor };
}
