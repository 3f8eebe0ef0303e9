import type { MessageType } from '../../protocol/index.js';

/** Counters the host keeps; on /healthz and, as Prometheus metrics, on /metrics. */
export interface HostCounters {
  /** Every message received on spBv1.0/#. */
  messages: number;
  malformedTopics: number;
  malformedPayloads: number;
  /** Well-formed protobuf that breaks a Sparkplug rule (NBIRTH without bdSeq, no seq, …). */
  invalidMessages: number;
  seqGaps: number;
  /** Messages that arrived late but within the reorder timeout, filling a gap. */
  reorderedMessages: number;
  rebirthRequests: number;
  /** Rebirth requests postponed by the per-node rate limit. */
  rebirthsDeferred: number;
  dataBeforeBirth: number;
  unknownAliases: number;
  /** NDEATHs whose bdSeq did not match the current NBIRTH. */
  staleDeaths: number;
  samples: number;
  /** Gateway (node) metric values from NBIRTH and NDATA, kept as their latest values. */
  nodeMetrics: number;
  historicalSamples: number;
  transientMetrics: number;
  /** Values the store cannot hold (bytes, data sets, templates). */
  unsupportedValues: number;
  /** Our own STATE seen offline or with another timestamp while we are online. */
  stateCorrections: number;
  handlerErrors: number;
  /**
   * Timestamps outside limits.maxFutureSkewMs / maxPastMs: one per metric refused for its own
   * timestamp, one per message refused for its payload timestamp.
   */
  timestampsRefused: number;
  /** DBIRTHs of a new device beyond limits.maxDevicesPerGateway. */
  devicesRefused: number;
  /** NBIRTHs and DBIRTHs with more than limits.maxMetricsPerDevice metrics. */
  birthsRefused: number;
  /** Values of metrics a birth did not announce, once a device or node has maxMetricsPerDevice. */
  metricsRefused: number;
  /** String values longer than limits.maxStringBytes (UTF-8). */
  oversizedValues: number;
  /** Metric values refused for their name (empty, too long, control, bidi or invisible characters). */
  invalidMetricNames: number;
}

export function newCounters(): HostCounters {
  return {
    messages: 0,
    malformedTopics: 0,
    malformedPayloads: 0,
    invalidMessages: 0,
    seqGaps: 0,
    reorderedMessages: 0,
    rebirthRequests: 0,
    rebirthsDeferred: 0,
    dataBeforeBirth: 0,
    unknownAliases: 0,
    staleDeaths: 0,
    samples: 0,
    nodeMetrics: 0,
    historicalSamples: 0,
    transientMetrics: 0,
    unsupportedValues: 0,
    stateCorrections: 0,
    handlerErrors: 0,
    timestampsRefused: 0,
    devicesRefused: 0,
    birthsRefused: 0,
    metricsRefused: 0,
    oversizedValues: 0,
    invalidMetricNames: 0,
  };
}

/** Messages the host received, by Sparkplug message type (STATE: host applications' STATE, its own included). */
export type MessageTypeCounts = Record<MessageType | 'STATE', number>;

export function newMessageTypeCounts(): MessageTypeCounts {
  return { NBIRTH: 0, NDEATH: 0, NDATA: 0, NCMD: 0, DBIRTH: 0, DDEATH: 0, DDATA: 0, DCMD: 0, STATE: 0 };
}
