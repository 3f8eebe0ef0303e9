/**
 * Turns Sparkplug messages into samples and registry events: birth/death tracking, alias
 * resolution, seq checking with a reorder timeout, and rate-limited rebirth requests.
 * No I/O of its own: the host hands messages in, the sink takes the output, and
 * `sendRebirth` publishes the NCMD. Cheap per message: map lookups, no awaits. What a gateway
 * sends is held to config `limits` on the way (bounds.ts): refused values never reach the sink.
 */
import type { Logger } from 'pino';
import type { Timers } from '../../protocol/clock.js';
import {
  type DeviceTopic,
  decodePayload,
  isMachineState,
  JOURNAL_METRIC,
  MACHINE_METRIC,
  type Metric,
  machineOf,
  NODE_METRIC,
  type NodeTopic,
  type Payload,
  TopicParser,
} from '../../protocol/index.js';
import type { DeviceActivity, GatewayMetric } from '../registry/types.js';
import type { HostSink, SampleSource } from '../sink.js';
import type { Sample } from '../store/types.js';
import { inner } from '../util/maps.js';
import { journalOf } from './acks.js';
import { FieldBounds, type HostLimits } from './bounds.js';
import { machineProperties, qualityOf, reinterpret, toNodeMetricValue, toSampleValue } from './convert.js';
import {
  type DeviceState,
  EdgeNodeState,
  type MetricDef,
  MetricDefs,
  MetricTable,
  metricDef,
} from './edge-node.js';
import { type HostCounters, type MessageTypeCounts, newCounters, newMessageTypeCounts } from './types.js';

export interface ProcessorOptions {
  readonly sink: HostSink;
  readonly logger: Logger;
  readonly clock: () => number;
  readonly timers: Timers;
  /** How long a seq gap may stay open before the host asks for a rebirth. */
  readonly reorderTimeoutMs: number;
  /** At most one rebirth request per edge node per this interval; later ones wait. */
  readonly rebirthMinIntervalMs: number;
  readonly sendRebirth: (group: string, edgeNode: string) => void;
  /** Gateway journals (acks.ts): told of each journal an NBIRTH announces and of its start moving. */
  readonly journals?: {
    birth(group: string, edgeNode: string, id: string, start: number, report?: { backlog?: number }): void;
    raise(group: string, edgeNode: string, start: number): void;
    /** Journal/Backlog of an NDATA, and the node's death (acks.ts: is the journal draining?). */
    report?(group: string, edgeNode: string, report: { backlog?: number }): void;
    death?(group: string, edgeNode: string): void;
  };
  /** Bounds on what gateways send (config `limits`); default DEFAULT_HOST_LIMITS. */
  readonly limits?: HostLimits;
}

function bdSeqOf(p: Payload): number | undefined {
  const m = p.metrics.find((x) => x.name === NODE_METRIC.bdSeq);
  if (m === undefined) return undefined;
  if (typeof m.value === 'number' && Number.isInteger(m.value)) return m.value;
  if (typeof m.value === 'bigint') return Number(m.value);
  return undefined;
}

export class MessageProcessor {
  readonly counters: HostCounters = newCounters();
  readonly messagesByType: MessageTypeCounts = newMessageTypeCounts();
  readonly #o: ProcessorOptions;
  readonly #log: Logger;
  /** Edge nodes by group, then by id: the topic's own strings as keys, nothing built per message. */
  readonly #nodes = new Map<string, Map<string, EdgeNodeState>>();
  readonly #topics = new TopicParser();
  /** Every birth's metric definitions, shared (edge-node.ts). */
  readonly #defs = new MetricDefs();
  readonly #bounds: FieldBounds;

  constructor(opts: ProcessorOptions) {
    this.#o = opts;
    this.#log = opts.logger;
    this.#bounds = new FieldBounds({
      counters: this.counters,
      logger: opts.logger,
      clock: opts.clock,
      ...(opts.limits === undefined ? {} : { limits: opts.limits }),
    });
  }

  /** Handles one message from spBv1.0/# (STATE topics are the host's business, not ours). */
  handle(topic: string, payload: Uint8Array): void {
    this.counters.messages++;
    const parsed = this.#topics.parse(topic);
    if (!parsed.ok) {
      this.counters.malformedTopics++;
      this.#bounds.malformedTopic(topic, parsed.reason);
      return;
    }
    const t = parsed.topic;
    this.messagesByType[t.kind === 'state' ? 'STATE' : t.type]++;
    if (t.kind === 'state' || t.type === 'NCMD' || t.type === 'DCMD') return;
    let p: Payload;
    try {
      p = decodePayload(payload);
    } catch (err) {
      this.counters.malformedPayloads++;
      this.#log.debug({ topic, err }, 'malformed Sparkplug payload dropped');
      return;
    }
    try {
      if (t.kind === 'node') this.#node(t, p);
      else this.#device(t, p);
    } catch (err) {
      this.counters.handlerErrors++;
      this.#log.error({ topic, err }, 'Sparkplug message handler failed; message dropped');
    }
  }

  /** What the host knows about an edge node (tests, diagnostics). */
  node(group: string, edgeNode: string): EdgeNodeState | undefined {
    return this.#nodes.get(group)?.get(edgeNode);
  }

  /** Asks an edge node for a rebirth (rate-limited like every other request). */
  requestRebirth(group: string, edgeNode: string, reason: string): void {
    this.#rebirth(this.#state(group, edgeNode), reason);
  }

  close(): void {
    for (const nodes of this.#nodes.values()) for (const n of nodes.values()) this.#cancelTimers(n);
  }

  /** Forgets the edge nodes of `group` (another cluster worker takes it in now). */
  forgetGroup(group: string): void {
    for (const n of this.#nodes.get(group)?.values() ?? []) this.#cancelTimers(n);
    this.#nodes.delete(group);
  }

  #state(group: string, edgeNode: string): EdgeNodeState {
    const nodes = inner(this.#nodes, group);
    let n = nodes.get(edgeNode);
    if (n === undefined) {
      n = new EdgeNodeState(group, edgeNode);
      nodes.set(edgeNode, n);
    }
    return n;
  }

  #node(t: NodeTopic, p: Payload): void {
    const now = this.#o.clock();
    const node = this.#state(t.group, t.edgeNode);
    switch (t.type) {
      case 'NBIRTH': {
        const bdSeq = bdSeqOf(p);
        if (bdSeq === undefined) {
          this.counters.invalidMessages++;
          this.#rebirth(node, 'NBIRTH without bdSeq');
          return;
        }
        if (!this.#bounds.birthSizeOk(t, p)) {
          // The node has left its previous session, and this one is not accepted: its data
          // is "before NBIRTH" (and asks for a rebirth, rate-limited) until a birth is.
          this.#cancelTimers(node);
          node.death();
          return;
        }
        if (p.seq !== 0) this.counters.invalidMessages++;
        this.#cancelTimers(node);
        node.birth(bdSeq, p.seq ?? 0);
        for (const m of p.metrics)
          if (m.name !== undefined) node.metrics.add(this.#defs.of(m.name, m.datatype), m.alias);
        // A wrong payload time refuses the birth's values; the session itself is the hub's to stamp.
        const timeOk = this.#bounds.payloadTimeOk(t, p, now);
        this.#o.sink.event({
          type: 'nodeBirth',
          group: t.group,
          edgeNode: t.edgeNode,
          bdSeq,
          at: now,
          metrics: timeOk ? this.#nodeMetrics(t, p.metrics, node.metrics, now) : [],
        });
        const journal = journalOf(p.metrics);
        if (journal !== undefined) {
          const report = journal.backlog === undefined ? {} : { backlog: journal.backlog };
          this.#o.journals?.birth(t.group, t.edgeNode, journal.id, journal.start, report);
        }
        this.#log.info({ group: t.group, edgeNode: t.edgeNode, bdSeq, journal }, 'edge node born');
        return;
      }
      case 'NDEATH': {
        const bdSeq = bdSeqOf(p);
        if (bdSeq === undefined) {
          this.counters.invalidMessages++;
          return;
        }
        if (node.bdSeq !== undefined && (node.bdSeq !== bdSeq || !node.born)) {
          // A late will from an earlier session: the node has been reborn since.
          this.counters.staleDeaths++;
          this.#log.debug(
            { group: t.group, edgeNode: t.edgeNode, bdSeq, current: node.bdSeq },
            'stale NDEATH',
          );
          return;
        }
        // Unknown to this host run (it restarted): the registry compares with the stored bdSeq.
        node.death();
        this.#cancelTimers(node);
        this.#o.journals?.death?.(t.group, t.edgeNode);
        this.#o.sink.event({ type: 'nodeDeath', group: t.group, edgeNode: t.edgeNode, bdSeq, at: now });
        this.#log.info({ group: t.group, edgeNode: t.edgeNode, bdSeq }, 'edge node dead');
        return;
      }
      case 'NDATA': {
        if (!this.#sequenced(node, p, now)) return;
        // A journal position on a node message: the gateway released it (data of a machine it
        // no longer has, docs/gateway.md); nothing to store, acknowledged like a stored message.
        if (p.journal !== undefined) {
          this.#o.sink.samples([], { group: t.group, edgeNode: t.edgeNode, position: p.journal });
        }
        // Node metrics describe the gateway (machine health, counters): the registry keeps
        // their latest values; they are not time series.
        if (p.metrics.some((m) => resolve(m, node.metrics) === undefined)) this.#unknownAlias(node);
        if (!this.#bounds.payloadTimeOk(t, p, now)) return;
        const metrics = this.#nodeMetrics(t, p.metrics, node.metrics, now);
        this.counters.nodeMetrics += metrics.length;
        if (metrics.length > 0) {
          this.#o.sink.event({ type: 'nodeMetrics', group: t.group, edgeNode: t.edgeNode, at: now, metrics });
          const start = metrics.find((m) => m.name === JOURNAL_METRIC.start)?.value;
          if (typeof start === 'number') this.#o.journals?.raise(t.group, t.edgeNode, start);
          const backlog = metrics.find((m) => m.name === JOURNAL_METRIC.backlog)?.value;
          if (typeof backlog === 'number' || typeof backlog === 'bigint') {
            this.#o.journals?.report?.(t.group, t.edgeNode, { backlog: Number(backlog) });
          }
        }
        return;
      }
    }
  }

  #device(t: DeviceTopic, p: Payload): void {
    const now = this.#o.clock();
    const node = this.#state(t.group, t.edgeNode);
    if (t.type === 'DDEATH') {
      if (node.born) this.#sequenced(node, p, now);
      const dev = node.devices.get(t.device);
      if (dev !== undefined) dev.born = false;
      this.#o.sink.event({
        type: 'deviceDeath',
        group: t.group,
        edgeNode: t.edgeNode,
        device: t.device,
        at: now,
      });
      return;
    }
    if (!this.#sequenced(node, p, now)) return;
    let dev: DeviceState | undefined;
    if (t.type === 'DBIRTH') {
      if (!this.#bounds.birthSizeOk(t, p) || !this.#bounds.deviceAllowed(t, node.knownDevices)) {
        // The device's earlier birth (if any) no longer describes what the gateway sends.
        const old = node.devices.get(t.device);
        if (old !== undefined) old.born = false;
        this.#holdPosition(t, p);
        return;
      }
      dev = { born: true, metrics: new MetricTable() };
      node.devices.set(t.device, dev);
      for (const m of p.metrics)
        if (m.name !== undefined) dev.metrics.add(this.#defs.of(m.name, m.datatype), m.alias);
      this.#o.sink.event({
        type: 'deviceBirth',
        group: t.group,
        edgeNode: t.edgeNode,
        device: t.device,
        at: now,
        properties: machineProperties(p.metrics),
      });
    } else {
      dev = node.devices.get(t.device);
      if (dev === undefined || !dev.born) {
        this.counters.dataBeforeBirth++;
        this.#rebirth(node, `${t.type} for device "${t.device}" before its DBIRTH`);
        return;
      }
    }
    if (!this.#bounds.payloadTimeOk(t, p, now)) {
      this.#holdPosition(t, p);
      return;
    }
    this.#deviceMetrics(t, p, node, dev, t.type === 'DBIRTH', now);
  }

  /**
   * A refused data message is handled for good (a replay would bring it back as it is), so its
   * journal position goes to the ingest with no samples: acknowledged like any stored message.
   */
  #holdPosition(t: DeviceTopic, p: Payload): void {
    if (p.journal === undefined) return;
    this.#o.sink.samples([], { group: t.group, edgeNode: t.edgeNode, position: p.journal });
  }

  /** Current (not historical) node metrics with values the registry can hold and the limits allow. */
  #nodeMetrics(t: NodeTopic, metrics: readonly Metric[], table: MetricTable, at: number): GatewayMetric[] {
    const out: GatewayMetric[] = [];
    for (const m of metrics) {
      const d = resolve(m, table);
      if (d === undefined || m.isHistorical || isBookkeeping(d.name)) continue;
      const value = toNodeMetricValue(reinterpret(m.value, m.datatype, d.datatype), d.datatype);
      if (value === undefined) {
        this.counters.unsupportedValues++;
        continue;
      }
      if (!this.#bounds.valueOk(t, d, value, m.timestamp, at)) continue;
      if (!this.#bounds.metricAdmitted(t, table, d)) continue;
      out.push({ name: d.name, value, at });
    }
    return out;
  }

  #deviceMetrics(
    t: DeviceTopic,
    p: Payload,
    node: EdgeNodeState,
    dev: DeviceState,
    birth: boolean,
    now: number,
  ): void {
    const samples: Sample[] = [];
    let current = birth;
    let sampleAt: number | undefined;
    let state: string | undefined;
    let stateAt: number | undefined;
    let unknown = false;
    // Sparkplug ids to the programme's (protocol/naming.ts): group = enterprise, device = machine.
    const { enterprise, machine } = machineOf(t);
    for (const m of p.metrics) {
      const d = resolve(m, dev.metrics);
      if (d === undefined) {
        unknown = true;
        continue;
      }
      if (d.property === true) continue;
      if (m.isTransient) {
        this.counters.transientMetrics++;
        if (!m.isHistorical) current = true;
        continue;
      }
      const value = toSampleValue(reinterpret(m.value, m.datatype, d.datatype), d.datatype);
      if (value === undefined) {
        this.counters.unsupportedValues++;
        continue;
      }
      if (!this.#bounds.valueOk(t, d, value, m.timestamp, now)) continue;
      if (!this.#bounds.metricAdmitted(t, dev.metrics, d)) continue;
      const ts = m.timestamp ?? p.timestamp ?? now;
      const quality = qualityOf(m.properties);
      const base = { enterprise, machine, metric: d.name, ts, value };
      samples.push(quality === undefined || quality === 'good' ? base : { ...base, quality });
      if (m.isHistorical) {
        // Late data (store and forward): stored with its own time, never "current".
        this.counters.historicalSamples++;
        continue;
      }
      current = true;
      if (value !== null && quality !== 'bad') sampleAt = now;
      if (
        d.name === MACHINE_METRIC.state &&
        isMachineState(value) &&
        (stateAt === undefined || ts >= stateAt)
      ) {
        state = value;
        stateAt = ts;
      }
    }
    // The journal position goes with the samples, even none: the store then "holds" it.
    const source: SampleSource | undefined =
      p.journal === undefined
        ? undefined
        : { group: node.group, edgeNode: node.edgeNode, position: p.journal };
    if (samples.length > 0 || source !== undefined) {
      this.counters.samples += samples.length;
      this.#o.sink.samples(samples, source);
    }
    if (current) {
      // Built field by field: once per message, on the path of every sample.
      const seen: DeviceActivity =
        sampleAt === undefined
          ? { enterprise, machine, gateway: node.edgeNode, seenAt: now }
          : { enterprise, machine, gateway: node.edgeNode, seenAt: now, sampleAt };
      this.#o.sink.deviceActivity(state === undefined ? seen : { ...seen, state, stateAt });
    }
    if (unknown) this.#unknownAlias(node);
  }

  /** Seq bookkeeping for a data message; false when it must be dropped (node not born). */
  #sequenced(node: EdgeNodeState, p: Payload, now: number): boolean {
    if (!node.born) {
      this.counters.dataBeforeBirth++;
      this.#rebirth(node, 'data before NBIRTH');
      return false;
    }
    this.#o.sink.gatewayActivity({ group: node.group, edgeNode: node.edgeNode, seenAt: now });
    if (p.seq === undefined) {
      this.counters.invalidMessages++;
      return true;
    }
    const r = node.checkSeq(p.seq);
    if (r.kind === 'gap') {
      this.counters.seqGaps++;
      this.#log.debug(
        { group: node.group, edgeNode: node.edgeNode, seq: p.seq, skipped: r.skipped },
        'seq gap',
      );
      if (node.reorderTimer === undefined) {
        node.reorderTimer = this.#o.timers.setTimeout(() => {
          node.reorderTimer = undefined;
          if (node.awaiting === 0 || !node.born) return;
          node.clearMissing();
          this.#rebirth(node, 'seq gap not filled within the reorder timeout');
        }, this.#o.reorderTimeoutMs);
      }
    } else if (r.kind === 'late') {
      this.counters.reorderedMessages++;
      if (r.filled && node.reorderTimer !== undefined) {
        this.#o.timers.clearTimeout(node.reorderTimer);
        node.reorderTimer = undefined;
      }
    }
    return true;
  }

  #unknownAlias(node: EdgeNodeState): void {
    this.counters.unknownAliases++;
    this.#rebirth(node, 'unknown metric alias');
  }

  #rebirth(node: EdgeNodeState, reason: string): void {
    if (node.rebirthTimer !== undefined) return;
    const wait = node.lastRebirthRequestAt + this.#o.rebirthMinIntervalMs - this.#o.clock();
    if (wait > 0) {
      this.counters.rebirthsDeferred++;
      node.rebirthTimer = this.#o.timers.setTimeout(() => {
        node.rebirthTimer = undefined;
        this.#sendRebirth(node, reason);
      }, wait);
      return;
    }
    this.#sendRebirth(node, reason);
  }

  #sendRebirth(node: EdgeNodeState, reason: string): void {
    node.lastRebirthRequestAt = this.#o.clock();
    this.counters.rebirthRequests++;
    this.#log.info({ group: node.group, edgeNode: node.edgeNode, reason }, 'requesting rebirth');
    this.#o.sendRebirth(node.group, node.edgeNode);
  }

  #cancelTimers(node: EdgeNodeState): void {
    if (node.reorderTimer !== undefined) this.#o.timers.clearTimeout(node.reorderTimer);
    if (node.rebirthTimer !== undefined) this.#o.timers.clearTimeout(node.rebirthTimer);
    node.reorderTimer = undefined;
    node.rebirthTimer = undefined;
  }
}

/** The bookkeeping metrics of a node: not worth keeping as its "latest" values. */
function isBookkeeping(name: string): boolean {
  return name === NODE_METRIC.bdSeq || name.startsWith('Node Control/');
}

/**
 * A data metric's definition: by alias from the birth, else by its own name (marked unannounced
 * when the birth did not name it: only those are counted against the metric limit).
 */
function resolve(m: Metric, table: MetricTable): MetricDef | undefined {
  if (m.alias !== undefined && m.name === undefined) return table.byAlias(m.alias);
  if (m.name === undefined) return undefined;
  return table.byName(m.name) ?? { ...metricDef(m.name, m.datatype), unannounced: true };
}
