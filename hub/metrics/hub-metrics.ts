/**
 * The hub's own figures as Prometheus metric families (`GET /metrics`; docs/metrics.md lists
 * them all): the counters the broker, the access policy, the host, the journal
 * acknowledgements and the ingest already keep, read as they stand (never reset), the
 * components' health, the registry's totals, and one series per gateway labelled with its
 * enterprise code and edge node id. Machines are never labels: a city has tens of thousands.
 *
 * The name tables are typed by the counters' own interfaces, so a counter added to the host,
 * the ingest or the policy does not compile until it has a metric name here.
 */

import type { OutboxCounters } from '../alerts/outbox.js';
import type { AlertCounters } from '../alerts/service.js';
import type { BrokerTrafficCounters } from '../broker/types.js';
import type { ComponentHealth } from '../errors.js';
import type { AckCounters, JournalStatus } from '../host/acks.js';
import type { HostCounters, MessageTypeCounts } from '../host/types.js';
import type { IngestCounters } from '../ingest/ingest.js';
import type { LiveCounters } from '../live/feed.js';
import { asOfGateway, type GatewaySummary } from '../registry/gateway-metrics.js';
import type { Gateway } from '../registry/types.js';
import type { MqttAccessPolicy } from '../security/mqtt-policy.js';
import type { StatsReport } from '../stats/stats.js';
import type { Histogram, Labels, MetricFamily, MetricSample, MetricType } from './exposition.js';

/** What /metrics reads of the running hub (hub.ts hands its parts in). */
export interface HubMetricsSource {
  /** Undefined before the host started. */
  readonly host: () =>
    | {
        readonly counters: Readonly<HostCounters>;
        readonly ackCounters: Readonly<Record<string, number>>;
        readonly messagesByType: Readonly<MessageTypeCounts>;
        journals(): readonly JournalStatus[];
      }
    | undefined;
  readonly ingest: {
    readonly counters: Readonly<IngestCounters>;
    readonly pendingSamples: number;
    readonly refusing: boolean;
    readonly writeSeconds: Histogram;
  };
  readonly broker: {
    readonly type: string;
    readonly counters?: Readonly<Record<string, number>>;
    readonly clients?: number;
    traffic?(): BrokerTrafficCounters;
  };
  readonly mqttAccess: { readonly counters: Readonly<MqttAccessPolicy['counters']> };
}

interface CounterDef {
  readonly name: string;
  readonly labels?: Labels;
}

interface FamilyMeta {
  readonly help: string;
  readonly type: MetricType;
}

/** Families from a counters object, by a table naming each counter's family (and labels). */
function fromCounters<K extends string>(
  values: Readonly<Partial<Record<K, number>>>,
  defs: Readonly<Record<K, CounterDef>>,
  meta: Readonly<Record<string, FamilyMeta>>,
): MetricFamily[] {
  const byName = new Map<string, MetricSample[]>();
  for (const key of Object.keys(defs) as K[]) {
    const def = defs[key];
    const list = byName.get(def.name) ?? [];
    byName.set(def.name, list);
    list.push({ value: values[key] ?? 0, ...(def.labels === undefined ? {} : { labels: def.labels }) });
  }
  return [...byName].map(([name, samples]) => {
    const m = meta[name];
    if (m === undefined) throw new Error(`metric ${name} has no HELP`);
    return { name, help: m.help, type: m.type, samples };
  });
}

const counter = (help: string): FamilyMeta => ({ help, type: 'counter' });
const gauge = (help: string): FamilyMeta => ({ help, type: 'gauge' });

// ---- host -------------------------------------------------------------------------------

const HOST: Readonly<Record<keyof HostCounters, CounterDef>> = {
  messages: { name: 'wanji_host_messages_total' },
  malformedTopics: { name: 'wanji_host_malformed_topics_total' },
  malformedPayloads: { name: 'wanji_host_malformed_payloads_total' },
  invalidMessages: { name: 'wanji_host_invalid_messages_total' },
  seqGaps: { name: 'wanji_host_sequence_gaps_total' },
  reorderedMessages: { name: 'wanji_host_reordered_messages_total' },
  rebirthRequests: { name: 'wanji_host_rebirth_requests_total' },
  rebirthsDeferred: { name: 'wanji_host_rebirths_deferred_total' },
  dataBeforeBirth: { name: 'wanji_host_data_before_birth_total' },
  unknownAliases: { name: 'wanji_host_unknown_aliases_total' },
  staleDeaths: { name: 'wanji_host_stale_deaths_total' },
  samples: { name: 'wanji_host_samples_total' },
  nodeMetrics: { name: 'wanji_host_node_metrics_total' },
  historicalSamples: { name: 'wanji_host_historical_samples_total' },
  transientMetrics: { name: 'wanji_host_transient_metrics_total' },
  unsupportedValues: { name: 'wanji_host_unsupported_values_total' },
  stateCorrections: { name: 'wanji_host_state_corrections_total' },
  handlerErrors: { name: 'wanji_host_handler_errors_total' },
  timestampsRefused: { name: 'wanji_host_timestamps_refused_total' },
  devicesRefused: { name: 'wanji_host_devices_refused_total' },
  birthsRefused: { name: 'wanji_host_births_refused_total' },
  metricsRefused: { name: 'wanji_host_metrics_refused_total' },
  oversizedValues: { name: 'wanji_host_oversized_values_total' },
  invalidMetricNames: { name: 'wanji_host_invalid_metric_names_total' },
};

const HOST_META: Readonly<Record<string, FamilyMeta>> = {
  wanji_host_messages_total: counter(
    'messages the Sparkplug host received on spBv1.0/# (its own STATE aside)',
  ),
  wanji_host_malformed_topics_total: counter('messages dropped for a topic that is not Sparkplug B'),
  wanji_host_malformed_payloads_total: counter(
    'messages dropped for a payload that is not Sparkplug B protobuf',
  ),
  wanji_host_invalid_messages_total: counter(
    'well-formed messages that break a Sparkplug rule (no bdSeq, no seq, ...), dropped',
  ),
  wanji_host_sequence_gaps_total: counter('seq gaps seen (a message missing between two others)'),
  wanji_host_reordered_messages_total: counter('messages that arrived late, within the reorder timeout'),
  wanji_host_rebirth_requests_total: counter('rebirth requests (NCMD Node Control/Rebirth) sent to gateways'),
  wanji_host_rebirths_deferred_total: counter('rebirth requests postponed by the per-gateway rate limit'),
  wanji_host_data_before_birth_total: counter('data messages from a gateway or machine not born yet'),
  wanji_host_unknown_aliases_total: counter('metric aliases no birth announced'),
  wanji_host_stale_deaths_total: counter("NDEATHs whose bdSeq did not match the gateway's current NBIRTH"),
  wanji_host_samples_total: counter('machine samples received from gateways and handed to the ingest'),
  wanji_host_node_metrics_total: counter(
    'gateway (node) metric values received, kept as their latest values',
  ),
  wanji_host_historical_samples_total: counter('samples marked historical (a journal replay among them)'),
  wanji_host_transient_metrics_total: counter('transient metric values, not stored'),
  wanji_host_unsupported_values_total: counter(
    'values the store cannot hold (bytes, data sets, templates, arrays), dropped',
  ),
  wanji_host_state_corrections_total: counter(
    'times the hub republished its own STATE (another wrote over it)',
  ),
  wanji_host_handler_errors_total: counter(
    'messages dropped because handling them failed (a bug: see the log)',
  ),
  wanji_host_timestamps_refused_total: counter(
    'timestamps outside limits.maxFutureSkewMs / maxPastMs, refused',
  ),
  wanji_host_devices_refused_total: counter('DBIRTHs of a new machine beyond limits.maxDevicesPerGateway'),
  wanji_host_births_refused_total: counter('births with more than limits.maxMetricsPerDevice metrics'),
  wanji_host_metrics_refused_total: counter('values of metrics no birth announced, once a birth is full'),
  wanji_host_oversized_values_total: counter('string values longer than limits.maxStringBytes, refused'),
  wanji_host_invalid_metric_names_total: counter('metric values refused for their name'),
};

const ACKS: Readonly<Record<keyof AckCounters, CounterDef>> = {
  acksSent: { name: 'wanji_journal_acks_sent_total' },
  replayRequests: { name: 'wanji_journal_replay_requests_total' },
  gapRebirths: { name: 'wanji_journal_gap_rebirths_total' },
};

const ACKS_META: Readonly<Record<string, FamilyMeta>> = {
  wanji_journal_acks_sent_total: counter('journal acknowledgements (NCMD Journal/Ack) sent to gateways'),
  wanji_journal_replay_requests_total: counter(
    'rebirths asked for so that gateways replay what the full ingest buffer refused',
  ),
  wanji_journal_gap_rebirths_total: counter('rebirths asked for because journal positions never arrived'),
};

function hostFamilies(source: HubMetricsSource): MetricFamily[] {
  const host = source.host();
  const byType = host?.messagesByType;
  const journals = host?.journals() ?? [];
  return [
    {
      name: 'wanji_sparkplug_messages_total',
      type: 'counter',
      help: 'Sparkplug messages the host received, by message type (STATE: host applications, the hub included)',
      samples: (Object.keys(byType ?? {}) as (keyof MessageTypeCounts)[]).map((type) => ({
        labels: { type },
        value: byType?.[type] ?? 0,
      })),
    },
    ...fromCounters(host?.counters ?? {}, HOST, HOST_META),
    ...fromCounters(host?.ackCounters ?? {}, ACKS, ACKS_META),
    {
      name: 'wanji_journals_stalled',
      type: 'gauge',
      help: 'gateway journals that do not drain (acknowledgement stuck or backlog growing for journalStallMs)',
      samples: [{ value: journals.filter((j) => j.stalled).length }],
    },
  ];
}

// ---- ingest and registry writes ---------------------------------------------------------

const INGEST: Readonly<Record<keyof IngestCounters, CounterDef>> = {
  flushes: { name: 'wanji_ingest_store_writes_total' },
  samplesWritten: { name: 'wanji_ingest_samples_stored_total' },
  samplesRejected: { name: 'wanji_ingest_samples_rejected_total' },
  samplesRefused: { name: 'wanji_ingest_samples_refused_total' },
  messagesRefused: { name: 'wanji_ingest_messages_refused_total' },
  samplesDropped: { name: 'wanji_ingest_samples_dropped_total' },
  storeErrors: { name: 'wanji_ingest_store_errors_total' },
  storeTimeouts: { name: 'wanji_ingest_store_timeouts_total' },
  registryErrors: { name: 'wanji_registry_batch_errors_total' },
  registryRowErrors: { name: 'wanji_registry_row_errors_total' },
  stateSpansClamped: { name: 'wanji_registry_state_spans_clamped_total' },
  nodeDeaths: { name: 'wanji_registry_gateway_deaths_total' },
  staleNodeDeaths: { name: 'wanji_registry_stale_gateway_deaths_total' },
  maxPendingSamples: { name: 'wanji_ingest_pending_samples_max' },
};

const INGEST_META: Readonly<Record<string, FamilyMeta>> = {
  wanji_ingest_store_writes_total: counter('store writes attempted (batches of samples)'),
  wanji_ingest_samples_stored_total: counter('samples the store holds durably'),
  wanji_ingest_samples_rejected_total: counter('samples the store refused as unstorable, given up'),
  wanji_ingest_samples_refused_total: counter(
    'samples not taken because the buffer was full (their gateway journal still has them)',
  ),
  wanji_ingest_messages_refused_total: counter('messages not taken because the buffer was full'),
  wanji_ingest_samples_dropped_total: counter('samples still buffered when closing gave up on the store'),
  wanji_ingest_store_errors_total: counter('store writes that failed (retried with backoff)'),
  wanji_ingest_store_timeouts_total: counter(
    'store writes that took longer than store.buffer.writeTimeoutMs',
  ),
  wanji_registry_batch_errors_total: counter('registry batches that failed whole (nothing of them applied)'),
  wanji_registry_row_errors_total: counter(
    'registry rows refused one by one (the rest of their batch applied)',
  ),
  wanji_registry_state_spans_clamped_total: counter(
    'machine-state intervals too long to split by day, counted for their last days only',
  ),
  wanji_registry_gateway_deaths_total: counter('gateway deaths (NDEATH) applied to the registry'),
  wanji_registry_stale_gateway_deaths_total: counter('gateway deaths ignored as older than its latest birth'),
  wanji_ingest_pending_samples_max: gauge('the most samples the ingest buffer has held'),
};

function ingestFamilies(source: HubMetricsSource): MetricFamily[] {
  const ingest = source.ingest;
  return [
    ...fromCounters(ingest.counters, INGEST, INGEST_META),
    {
      name: 'wanji_ingest_pending_samples',
      type: 'gauge',
      help: 'samples buffered, waiting for the store (the queue depth)',
      samples: [{ value: ingest.pendingSamples }],
    },
    {
      name: 'wanji_ingest_refusing',
      type: 'gauge',
      help: '1 while the ingest buffer is full and new messages are refused',
      samples: [{ value: ingest.refusing ? 1 : 0 }],
    },
    ingest.writeSeconds.family(
      'wanji_ingest_store_write_duration_seconds',
      'how long each store write (a flush of one batch) took, succeeded or not',
    ),
  ];
}

// ---- broker -----------------------------------------------------------------------------

type PolicyCounters = MqttAccessPolicy['counters'];

const POLICY: Readonly<Record<keyof PolicyCounters, CounterDef>> = {
  logins: { name: 'wanji_mqtt_logins_total' },
  refusedAnonymous: { name: 'wanji_mqtt_logins_refused_total', labels: { reason: 'anonymous' } },
  refusedUnknownUser: { name: 'wanji_mqtt_logins_refused_total', labels: { reason: 'unknown_user' } },
  refusedRevoked: { name: 'wanji_mqtt_logins_refused_total', labels: { reason: 'revoked' } },
  refusedBadPassword: { name: 'wanji_mqtt_logins_refused_total', labels: { reason: 'bad_password' } },
  refusedTooManyFailures: {
    name: 'wanji_mqtt_logins_refused_total',
    labels: { reason: 'too_many_failures' },
  },
  refusedWill: { name: 'wanji_mqtt_logins_refused_total', labels: { reason: 'will' } },
  refusedClientId: { name: 'wanji_mqtt_logins_refused_total', labels: { reason: 'client_id' } },
  throttledUserAddress: { name: 'wanji_mqtt_login_lockouts_total', labels: { limit: 'user_address' } },
  throttledAddress: { name: 'wanji_mqtt_login_lockouts_total', labels: { limit: 'address' } },
  refusedPublish: { name: 'wanji_mqtt_publishes_refused_total' },
  refusedRetained: { name: 'wanji_mqtt_retained_publishes_refused_total' },
  refusedSubscribe: { name: 'wanji_mqtt_subscriptions_refused_total' },
  droppedRevoked: { name: 'wanji_mqtt_revoked_connections_dropped_total' },
};

const POLICY_META: Readonly<Record<string, FamilyMeta>> = {
  wanji_mqtt_logins_total: counter('MQTT logins accepted with a credential'),
  wanji_mqtt_logins_refused_total: counter('MQTT logins refused, by reason'),
  wanji_mqtt_login_lockouts_total: counter(
    'times a failed-login limit was reached (user_address: one user name from one address; address: across user names)',
  ),
  wanji_mqtt_publishes_refused_total: counter('publishes refused by the topic ACL'),
  wanji_mqtt_retained_publishes_refused_total: counter('of those, retained publishes'),
  wanji_mqtt_subscriptions_refused_total: counter('subscriptions refused by the topic ACL'),
  wanji_mqtt_revoked_connections_dropped_total: counter(
    'connections dropped because their credential was revoked',
  ),
};

/** The embedded broker's own counters (aedes/index.ts); other keys are not exposed. */
const BROKER: Readonly<Record<string, CounterDef>> = {
  tlsHandshakeErrors: { name: 'wanji_mqtt_tls_handshake_errors_total' },
  droppedOversized: { name: 'wanji_mqtt_oversized_packets_total' },
  droppedSlowSubscribers: { name: 'wanji_mqtt_slow_subscribers_dropped_total' },
};

const BROKER_META: Readonly<Record<string, FamilyMeta>> = {
  wanji_mqtt_tls_handshake_errors_total: counter('failed TLS handshakes on the MQTT TLS listener'),
  wanji_mqtt_oversized_packets_total: counter(
    'connections dropped for an MQTT packet above mqtt.maxPacketBytes',
  ),
  wanji_mqtt_slow_subscribers_dropped_total: counter(
    'subscribers dropped for a backlog above mqtt.maxSubscriberBacklogBytes (they stopped reading)',
  ),
};

function brokerFamilies(source: HubMetricsSource): MetricFamily[] {
  const b = source.broker;
  const families: MetricFamily[] = [...fromCounters(source.mqttAccess.counters, POLICY, POLICY_META)];
  if (b.counters !== undefined) families.push(...fromCounters(b.counters, BROKER, BROKER_META));
  if (b.clients !== undefined) {
    families.push({
      name: 'wanji_mqtt_clients',
      type: 'gauge',
      help: "MQTT clients connected to the hub's broker (the hub's own host included)",
      samples: [{ value: b.clients }],
    });
  }
  const t = b.traffic?.();
  if (t !== undefined) {
    families.push(
      {
        name: 'wanji_mqtt_messages_received_total',
        type: 'counter',
        help: 'PUBLISH messages the broker took from clients (wills included, refused ones not)',
        samples: [{ value: t.messagesReceived }],
      },
      {
        name: 'wanji_mqtt_messages_sent_total',
        type: 'counter',
        help: 'PUBLISH messages the broker forwarded to subscribing clients',
        samples: [{ value: t.messagesSent }],
      },
      {
        name: 'wanji_mqtt_received_bytes_total',
        type: 'counter',
        help: "bytes read from MQTT clients' connections (TLS and WebSocket framing included)",
        samples: [{ value: t.bytesReceived }],
      },
      {
        name: 'wanji_mqtt_sent_bytes_total',
        type: 'counter',
        help: "bytes written to MQTT clients' connections (TLS and WebSocket framing included)",
        samples: [{ value: t.bytesSent }],
      },
    );
  }
  return families;
}

// ---- health -----------------------------------------------------------------------------

const STATUSES: readonly ComponentHealth['status'][] = ['up', 'degraded', 'down', 'starting', 'closed'];

function healthFamilies(components: Readonly<Record<string, ComponentHealth | undefined>>): MetricFamily[] {
  const parts = Object.entries(components).flatMap(([name, c]) =>
    c === undefined ? [] : [[name, c] as const],
  );
  const store = components.store;
  return [
    {
      name: 'wanji_component_status',
      type: 'gauge',
      help: "each component's status as /healthz reports it: 1 for the current one",
      samples: parts.flatMap(([component, c]) =>
        STATUSES.map((status) => ({ labels: { component, status }, value: c.status === status ? 1 : 0 })),
      ),
    },
    {
      name: 'wanji_health_degraded',
      type: 'gauge',
      help: '1 for each component that makes /healthz say degraded (reason = the component; /healthz has the detail)',
      samples: parts.map(([reason, c]) => ({ labels: { reason }, value: c.status === 'up' ? 0 : 1 })),
    },
    {
      name: 'wanji_store_up',
      type: 'gauge',
      help: 'whether the sample store takes writes: 1 up or degraded, 0 otherwise',
      samples: [{ value: store?.status === 'up' || store?.status === 'degraded' ? 1 : 0 }],
    },
  ];
}

// ---- registry and programme -------------------------------------------------------------

function registryFamilies(stats: StatsReport, gateways: readonly Gateway[]): MetricFamily[] {
  const online = gateways.filter((g) => g.online).length;
  return [
    {
      name: 'wanji_enterprises',
      type: 'gauge',
      help: 'declared enterprises (with a ledger) in the registry',
      samples: [{ value: stats.enterprises }],
    },
    {
      name: 'wanji_machines',
      type: 'gauge',
      help: 'machines seen and not retired (machines of undeclared enterprises included)',
      samples: [{ value: stats.machines }],
    },
    {
      name: 'wanji_machines_networked',
      type: 'gauge',
      help: 'networked machines: counted = the official figure (each enterprise capped by its ledger), measured = before the cap',
      samples: [
        { labels: { count: 'counted' }, value: stats.networked },
        { labels: { count: 'measured' }, value: stats.networkedMeasured },
      ],
    },
    {
      name: 'wanji_machines_online',
      type: 'gauge',
      help: 'machines of declared enterprises heard within the online window',
      samples: [{ value: stats.online }],
    },
    {
      name: 'wanji_machines_target',
      type: 'gauge',
      help: "the programme's target of networked machines",
      samples: [{ value: stats.target }],
    },
    {
      name: 'wanji_gateways',
      type: 'gauge',
      help: 'gateways (Sparkplug edge nodes) the registry knows, by state',
      samples: [
        { labels: { state: 'online' }, value: online },
        { labels: { state: 'offline' }, value: gateways.length - online },
      ],
    },
  ];
}

// ---- per gateway ------------------------------------------------------------------------

/** Beyond this many gateways, the rest get no series of their own (counted instead). */
export const MAX_LABELLED_GATEWAYS = 5_000;

/** `Gateway/*` counters a Wanji gateway reports (protocol/metrics.ts GATEWAY_METRIC). */
const GATEWAY_COUNTERS: Readonly<Record<string, { name: string; meta: FamilyMeta }>> = {
  samples: {
    name: 'wanji_gateway_samples_total',
    meta: counter("samples the gateway's drivers delivered (as the gateway reports it)"),
  },
  suppressed: {
    name: 'wanji_gateway_suppressed_samples_total',
    meta: counter('samples within their deadband, not published (as the gateway reports it)'),
  },
  published: {
    name: 'wanji_gateway_published_messages_total',
    meta: counter('Sparkplug messages the gateway published (as it reports it)'),
  },
  publishErrors: {
    name: 'wanji_gateway_publish_errors_total',
    meta: counter('publishes the broker refused or that failed (as the gateway reports it)'),
  },
  queued: {
    name: 'wanji_gateway_queued_messages',
    meta: gauge('data messages in the gateway journal not yet acknowledged (Gateway/Queued)'),
  },
  dropped: {
    name: 'wanji_gateway_dropped_messages_total',
    meta: counter('unacknowledged data messages the gateway journal dropped (full or too old)'),
  },
  reloads: {
    name: 'wanji_gateway_reloads_total',
    meta: counter('config reloads the gateway applied since it started'),
  },
};

export interface GatewayFigures {
  readonly gateways: readonly Gateway[];
  readonly summaries: ReadonlyMap<string, GatewaySummary>;
  /** `Connections/<id>/<counter>` of one gateway, as kept by the registry. */
  readonly connections: (g: Gateway) => readonly { id: string; counters: Readonly<Record<string, number>> }[];
  readonly journals: readonly JournalStatus[];
}

function gatewayFamilies(f: GatewayFigures): MetricFamily[] {
  const listed = f.gateways.slice(0, MAX_LABELLED_GATEWAYS);
  const journals = new Map(f.journals.map((j) => [`${j.group}/${j.edgeNode}`, j]));
  const online: MetricSample[] = [];
  const lastSeen: MetricSample[] = [];
  const machines: MetricSample[] = [];
  const backlog: MetricSample[] = [];
  const stalled: MetricSample[] = [];
  const connections: MetricSample[] = [];
  const counters = new Map<string, MetricSample[]>();
  for (const g of listed) {
    const key = `${g.group}/${g.edgeNode}`;
    const labels = { enterprise: g.group, gateway: g.edgeNode };
    online.push({ labels, value: g.online ? 1 : 0 });
    if (g.lastSeenAt !== null) lastSeen.push({ labels, value: g.lastSeenAt / 1000 });
    const s = f.summaries.get(key);
    if (s !== undefined) {
      // A dead gateway reads nothing: its machines count as offline (as /api/v1/gateways says).
      const d = asOfGateway(s, g.online).devices;
      for (const health of ['online', 'degraded', 'offline'] as const) {
        machines.push({ labels: { ...labels, health }, value: d[health] });
      }
      for (const [k, v] of Object.entries(s.counters)) {
        const def = GATEWAY_COUNTERS[k];
        if (def === undefined) continue;
        const list = counters.get(def.name) ?? [];
        counters.set(def.name, list);
        list.push({ labels, value: v });
      }
    }
    const j = journals.get(key);
    if (j !== undefined) {
      if (j.backlog !== undefined) backlog.push({ labels, value: j.backlog });
      stalled.push({ labels, value: j.stalled ? 1 : 0 });
    }
    for (const c of f.connections(g)) {
      for (const [name, v] of Object.entries(c.counters)) {
        connections.push({ labels: { ...labels, connection: c.id, counter: name }, value: v });
      }
    }
  }
  return [
    {
      name: 'wanji_gateway_online',
      type: 'gauge',
      help: 'whether the gateway is online (born, not dead), by enterprise code and edge node id',
      samples: online,
    },
    {
      name: 'wanji_gateway_last_seen_timestamp_seconds',
      type: 'gauge',
      help: 'when the hub last heard from the gateway, seconds since the Unix epoch',
      samples: lastSeen,
    },
    {
      name: 'wanji_gateway_machines',
      type: 'gauge',
      help: "the gateway's machines by the health it reports (all offline while the gateway is offline)",
      samples: machines,
    },
    {
      name: 'wanji_gateway_journal_backlog_messages',
      type: 'gauge',
      help: "messages in the gateway's journal not yet acknowledged, as it last reported (Journal/Backlog)",
      samples: backlog,
    },
    {
      name: 'wanji_gateway_journal_stalled',
      type: 'gauge',
      help: "1 while the gateway's journal does not drain (/healthz journals names it)",
      samples: stalled,
    },
    ...Object.values(GATEWAY_COUNTERS).map((d) => ({
      name: d.name,
      help: d.meta.help,
      type: d.meta.type,
      samples: counters.get(d.name) ?? [],
    })),
    {
      name: 'wanji_gateway_connection_events_total',
      type: 'counter',
      help: "each connection's driver counters as the gateway reports them (Connections/<id>/<counter>: reads, errors, timeouts, ...)",
      samples: connections,
    },
    {
      name: 'wanji_gateways_unlisted',
      type: 'gauge',
      help: `gateways beyond the first ${MAX_LABELLED_GATEWAYS} (by enterprise and id), left without series of their own`,
      samples: [{ value: f.gateways.length - listed.length }],
    },
  ];
}

// ---- alerts -----------------------------------------------------------------------------

/** What /metrics reads of the alert service (hub/alerts/service.ts). */
export interface AlertMetricsSource {
  readonly counters: Readonly<AlertCounters>;
  readonly outboxCounters: Readonly<OutboxCounters>;
}

const ALERTS: Readonly<Record<keyof AlertCounters, CounterDef>> = {
  evaluations: { name: 'wanji_alert_evaluations_total' },
  evaluationErrors: { name: 'wanji_alert_evaluation_errors_total' },
  overlapsSkipped: { name: 'wanji_alert_evaluations_skipped_total' },
  fired: { name: 'wanji_alerts_fired_total' },
  cleared: { name: 'wanji_alerts_cleared_total' },
};

const ALERTS_META: Readonly<Record<string, FamilyMeta>> = {
  wanji_alert_evaluations_total: counter('evaluations of the alert rules (every alerts.intervalMs)'),
  wanji_alert_evaluation_errors_total: counter('alert evaluations that failed (see the hub log)'),
  wanji_alert_evaluations_skipped_total: counter(
    'alert evaluations skipped because the previous one was still running',
  ),
  wanji_alerts_fired_total: counter('alerts fired'),
  wanji_alerts_cleared_total: counter('alerts cleared'),
};

const OUTBOX: Readonly<Record<keyof OutboxCounters, CounterDef>> = {
  sent: { name: 'wanji_alert_notifications_sent_total' },
  failedAttempts: { name: 'wanji_alert_notification_failed_attempts_total' },
  givenUp: { name: 'wanji_alert_notifications_given_up_total' },
};

const OUTBOX_META: Readonly<Record<string, FamilyMeta>> = {
  wanji_alert_notifications_sent_total: counter('alert notifications a channel took'),
  wanji_alert_notification_failed_attempts_total: counter(
    'attempts to send an alert notification that a channel did not take (retried with backoff)',
  ),
  wanji_alert_notifications_given_up_total: counter(
    'alert notifications given up after alerts.retry.maxAttempts (kept as failed on their rule)',
  ),
};

function alertFamilies(source: AlertMetricsSource): MetricFamily[] {
  return [
    ...fromCounters(source.counters, ALERTS, ALERTS_META),
    ...fromCounters(source.outboxCounters, OUTBOX, OUTBOX_META),
  ];
}

// ---- live values (server-sent events) ----------------------------------------------------

const LIVE: Readonly<Record<keyof LiveCounters, CounterDef>> = {
  streams: { name: 'wanji_live_streams' },
  subscriptions: { name: 'wanji_live_subscriptions' },
  streamsOpened: { name: 'wanji_live_streams_opened_total' },
  streamsRefused: { name: 'wanji_live_streams_refused_total' },
  eventsSent: { name: 'wanji_live_events_sent_total' },
  eventsDropped: { name: 'wanji_live_events_dropped_total' },
  bufferedBytes: { name: 'wanji_live_buffered_bytes' },
};

const LIVE_META: Readonly<Record<string, FamilyMeta>> = {
  wanji_live_streams: { type: 'gauge', help: "machine pages' live value streams open now" },
  wanji_live_subscriptions: { type: 'gauge', help: 'machines the open live streams follow' },
  wanji_live_streams_opened_total: counter('live value streams opened'),
  wanji_live_streams_refused_total: counter(
    'live value streams refused (too many per user or token, or overall)',
  ),
  wanji_live_events_sent_total: counter('events written to live value streams'),
  wanji_live_events_dropped_total: counter(
    'live events a slow client could not take (its send buffer was full): dropped, never queued',
  ),
  wanji_live_buffered_bytes: {
    type: 'gauge',
    help: "bytes waiting in the live streams' send buffers (bounded by streams × http.live.maxBufferedBytes)",
  },
};

function liveFamilies(counters: Readonly<LiveCounters>): MetricFamily[] {
  return fromCounters(counters, LIVE, LIVE_META);
}

export const hubFamilies = {
  live: liveFamilies,
  host: hostFamilies,
  ingest: ingestFamilies,
  broker: brokerFamilies,
  health: healthFamilies,
  registry: registryFamilies,
  gateways: gatewayFamilies,
  alerts: alertFamilies,
};
