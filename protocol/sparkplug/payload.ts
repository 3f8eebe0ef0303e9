/**
 * Sparkplug B payload: what Wanji holds of a decoded payload, and the codec's errors.
 * The codec (payload-encode.ts, payload-decode.ts) is written from the specification's
 * sparkplug_b.proto (proto2, package org.eclipse.tahu.protobuf) on reader.ts and writer.ts (the
 * protobuf wire format, without per-field allocations).
 */
import { WanjiError } from '../errors.js';
import type { DataType } from './datatype.js';

export type MetricValue = number | bigint | boolean | string | Uint8Array | null;

export interface PropertyValue {
  readonly type: DataType;
  readonly value: MetricValue;
}

export type PropertySet = Readonly<Record<string, PropertyValue>>;

export interface Metric {
  /** Present in births; data messages may use `alias` alone. */
  readonly name?: string;
  readonly alias?: number;
  /** Milliseconds since the epoch when the value was sampled. */
  readonly timestamp?: number;
  readonly datatype: DataType;
  readonly isHistorical?: boolean;
  readonly isTransient?: boolean;
  /** `value` is `null` exactly when the metric is null. */
  readonly value: MetricValue;
  readonly properties?: PropertySet;
}

export interface Payload {
  /** Send time, milliseconds since the epoch. */
  readonly timestamp?: number;
  readonly metrics: readonly Metric[];
  /** 0–255; absent in NDEATH and STATE-independent payloads. */
  readonly seq?: number;
  readonly uuid?: string;
  readonly body?: Uint8Array;
  /**
   * Wanji's extension (field JOURNAL_POSITION_FIELD, in the range the specification's proto
   * reserves for extensions): the gateway journal position of a data message, which the hub
   * acknowledges once the store holds it. Other Sparkplug hosts skip the field.
   */
  readonly journal?: number;
}

/**
 * Payload field number of Wanji's journal position (uint64). The proto declares
 * `extensions 6 to max`; 22346 is "WJ" in ASCII, far from fields others are likely to use.
 */
export const JOURNAL_POSITION_FIELD = 22_346;

export class PayloadDecodeError extends WanjiError<'WANJI_E_SPARKPLUG_PAYLOAD'> {
  constructor(message: string, options?: ErrorOptions) {
    super('WANJI_E_SPARKPLUG_PAYLOAD', `malformed Sparkplug payload: ${message}`, options);
    this.name = 'PayloadDecodeError';
  }
}

export class PayloadEncodeError extends WanjiError<'WANJI_E_SPARKPLUG_ENCODE'> {
  constructor(message: string) {
    super('WANJI_E_SPARKPLUG_ENCODE', message);
    this.name = 'PayloadEncodeError';
  }
}
