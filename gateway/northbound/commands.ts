/**
 * Commands from the hub, parsed. A node command (NCMD: parseNodeCommand) asks for a rebirth or
 * acknowledges the journal; the edge node acts on it. A device command (DCMD) writes to a
 * machine's tags.
 *
 * Gateways are read-only by default; writing is opt-in per tag (`writable: true` in the
 * config). A DCMD `spBv1.0/<group>/DCMD/<node>/<device>` carries metrics by name or by the
 * device's alias; each `Signals/<tag>` metric becomes one write of its value, coerced to the
 * tag's datatype. Parsing and resolving are pure (parseDeviceCommand); DeviceCommands hands
 * each write to the gateway's handler, which knows the drivers, and counts what happened:
 *
 * - dcmdWrites: the device confirmed the write;
 * - dcmdRefused: nothing was sent to the device (unknown device or metric, not a signal, not
 *   writable, the driver cannot write, a value that does not fit the tag);
 * - dcmdFailed: the device or its connection failed (exception, timeout, no connection);
 * - dcmdMalformed: the payload could not be decoded, or had no metrics;
 * - dcmdIgnored: no handler (an edge node without a gateway behind it).
 */
import type { Logger } from 'pino';
import {
  DataType,
  decodePayload,
  JOURNAL_METRIC,
  type Metric,
  type MetricValue,
  NODE_METRIC,
  SIGNAL_PREFIX,
  WanjiError,
} from '../../protocol/index.js';
import type { DeviceDefinition, MetricDefinition } from './device-model.js';

/** Thrown by a handler for a write it refuses before anything reaches the device. */
export const COMMAND_REFUSED = 'WANJI_E_DCMD_REFUSED';

export class CommandRefusedError extends WanjiError<typeof COMMAND_REFUSED> {
  constructor(message: string) {
    super(COMMAND_REFUSED, message);
    this.name = 'CommandRefusedError';
  }
}

/** One write a DCMD asks for: `value` is already of the tag's datatype. */
export interface TagWrite {
  readonly device: string;
  /** The tag's `name` in the config. */
  readonly tag: string;
  /** The Sparkplug metric it came as, `Signals/<tag>`. */
  readonly metric: string;
  readonly value: MetricValue;
}

/** A metric of the DCMD that does not become a write, and why. */
export interface Refusal {
  /** Its name, or `alias <n>`. */
  readonly metric: string;
  readonly reason: string;
}

export type ParsedCommand =
  | { readonly ok: true; readonly writes: readonly TagWrite[]; readonly refused: readonly Refusal[] }
  | { readonly ok: false; readonly reason: string };

/** Writes it performs; rejects with CommandRefusedError, or the driver's error. */
export type DeviceCommandHandler = (write: TagWrite) => Promise<void>;

const INT_RANGES: ReadonlyMap<DataType, readonly [number, number]> = new Map([
  [DataType.Int8, [-128, 127]],
  [DataType.Int16, [-32_768, 32_767]],
  [DataType.Int32, [-2_147_483_648, 2_147_483_647]],
  [DataType.UInt8, [0, 255]],
  [DataType.UInt16, [0, 65_535]],
  [DataType.UInt32, [0, 4_294_967_295]],
]);
const LONG_RANGES: ReadonlyMap<DataType, readonly [bigint, bigint]> = new Map([
  [DataType.Int64, [-(2n ** 63n), 2n ** 63n - 1n]],
  [DataType.UInt64, [0n, 2n ** 64n - 1n]],
]);

function describe(v: MetricValue): string {
  if (v === null) return 'null';
  if (v instanceof Uint8Array) return 'bytes';
  return typeof v === 'string' ? `text "${v.slice(0, 40)}"` : `${typeof v} ${String(v)}`;
}

/**
 * `value` as the datatype `type`, or a reason it does not fit. Text is never read as a number:
 * a DCMD says what it means with the metric's own datatype.
 */
export function coerceValue(type: DataType, value: MetricValue): { value: MetricValue } | { reason: string } {
  const refuse = (what: string) => ({ reason: `takes ${what}, not ${describe(value)}` });
  if (type === DataType.Boolean) {
    if (typeof value === 'boolean') return { value };
    if (value === 0 || value === 1 || value === 0n || value === 1n) return { value: Number(value) === 1 };
    return refuse('true or false (or 0/1)');
  }
  if (type === DataType.String || type === DataType.Text) {
    return typeof value === 'string' ? { value } : refuse('text');
  }
  if (type === DataType.Float || type === DataType.Double) {
    const n = typeof value === 'number' ? value : typeof value === 'bigint' ? Number(value) : Number.NaN;
    return Number.isFinite(n) ? { value: n } : refuse('a finite number');
  }
  const int = INT_RANGES.get(type);
  if (int !== undefined) {
    const n = typeof value === 'number' || typeof value === 'bigint' ? Number(value) : Number.NaN;
    if (!Number.isInteger(n)) return refuse('an integer');
    if (n < int[0] || n > int[1]) return { reason: `${n} is outside ${int[0]}..${int[1]}` };
    return { value: n };
  }
  const long = LONG_RANGES.get(type);
  if (long !== undefined) {
    if (typeof value !== 'bigint' && !(typeof value === 'number' && Number.isSafeInteger(value))) {
      return refuse('an integer');
    }
    const n = BigInt(value);
    if (n < long[0] || n > long[1]) return { reason: `${n} is outside ${long[0]}..${long[1]}` };
    return { value: n };
  }
  return { reason: `its datatype ${type} cannot be written` };
}

function metricLabel(m: Metric): string {
  return m.name ?? (m.alias === undefined ? 'a metric without name or alias' : `alias ${m.alias}`);
}

function resolve(def: DeviceDefinition, m: Metric): MetricDefinition | undefined {
  if (m.name !== undefined) return def.metrics.find((d) => d.name === m.name);
  if (m.alias !== undefined) return def.metrics.find((d) => d.alias === m.alias);
  return undefined;
}

/** The metrics of an NCMD the edge node acts on, as sent: the edge node judges their values. */
export interface NodeCommand {
  /** Node Control/Rebirth. */
  readonly rebirth?: MetricValue;
  /** Journal/Ack: the journal position the hub's store holds up to. */
  readonly ack?: MetricValue;
  /** Journal/Id: which journal the acknowledgement is for. */
  readonly journalId?: MetricValue;
}

/** Decodes an NCMD; throws what decodePayload throws on a payload that is not Sparkplug B. */
export function parseNodeCommand(payload: Uint8Array): NodeCommand {
  const command: { rebirth?: MetricValue; ack?: MetricValue; journalId?: MetricValue } = {};
  for (const m of decodePayload(payload).metrics) {
    if (m.name === NODE_METRIC.rebirth) command.rebirth = m.value;
    else if (m.name === JOURNAL_METRIC.ack) command.ack = m.value;
    else if (m.name === JOURNAL_METRIC.id) command.journalId = m.value;
  }
  return command;
}

/**
 * Decodes a DCMD for the device `deviceId` (undefined `def`: not a device of this node) and
 * resolves each metric to a write of one of its tags, or a refusal.
 */
export function parseDeviceCommand(
  deviceId: string,
  def: DeviceDefinition | undefined,
  payload: Uint8Array,
): ParsedCommand {
  let metrics: readonly Metric[];
  try {
    metrics = decodePayload(payload).metrics;
  } catch (err) {
    return { ok: false, reason: err instanceof Error ? err.message : String(err) };
  }
  if (metrics.length === 0) return { ok: false, reason: 'a DCMD without metrics' };
  const writes: TagWrite[] = [];
  const refused: Refusal[] = [];
  for (const m of metrics) {
    const metric = metricLabel(m);
    const refuse = (reason: string) => refused.push({ metric, reason });
    if (def === undefined) {
      refuse(`unknown device "${deviceId}"`);
      continue;
    }
    const target = resolve(def, m);
    if (target === undefined) {
      refuse(`unknown metric of ${deviceId}`);
      continue;
    }
    if (!target.name.startsWith(SIGNAL_PREFIX) || target.fixed !== undefined) {
      refuse(`${target.name} is not a tag (only ${SIGNAL_PREFIX}<tag> metrics can be written)`);
      continue;
    }
    const coerced = coerceValue(target.datatype, m.value);
    if ('reason' in coerced) {
      refuse(`bad value: ${target.name} ${coerced.reason}`);
      continue;
    }
    const tag = target.name.slice(SIGNAL_PREFIX.length);
    writes.push({ device: deviceId, tag, metric: target.name, value: coerced.value });
  }
  return { ok: true, writes, refused };
}

/** Codes of driver errors that refuse a write without reaching the device. */
const REFUSAL_CODE = /_(NOT_WRITABLE|BAD_VALUE|UNKNOWN_TAG|DCMD_REFUSED)$/;

function isRefusal(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && REFUSAL_CODE.test(code);
}

export interface DeviceCommandCounters {
  dcmdWrites: number;
  dcmdRefused: number;
  dcmdFailed: number;
  dcmdMalformed: number;
  dcmdIgnored: number;
}

/** Turns DCMDs into writes through the handler, one at a time per DCMD, and counts them. */
export class DeviceCommands {
  readonly #log: Logger;
  readonly #handler: DeviceCommandHandler | undefined;
  readonly #counters: DeviceCommandCounters = {
    dcmdWrites: 0,
    dcmdRefused: 0,
    dcmdFailed: 0,
    dcmdMalformed: 0,
    dcmdIgnored: 0,
  };

  constructor(logger: Logger, handler: DeviceCommandHandler | undefined) {
    this.#log = logger;
    this.#handler = handler;
  }

  get counters(): Readonly<DeviceCommandCounters> {
    return { ...this.#counters };
  }

  /** Handles one DCMD; never rejects. Resolves once its writes are done. */
  async handle(deviceId: string, def: DeviceDefinition | undefined, payload: Uint8Array): Promise<void> {
    const handler = this.#handler;
    if (handler === undefined) {
      // Gateways are read-only by default (docs/domain.md); writes need a gateway behind the node.
      this.#counters.dcmdIgnored++;
      this.#log.debug({ device: deviceId }, 'DCMD ignored: writing to machines is not enabled');
      return;
    }
    const parsed = parseDeviceCommand(deviceId, def, payload);
    if (!parsed.ok) {
      this.#counters.dcmdMalformed++;
      this.#log.warn({ device: deviceId, reason: parsed.reason }, 'malformed DCMD dropped');
      return;
    }
    for (const r of parsed.refused) {
      this.#counters.dcmdRefused++;
      this.#log.warn({ device: deviceId, metric: r.metric, reason: r.reason }, 'DCMD write refused');
    }
    for (const w of parsed.writes) await this.#write(handler, w);
  }

  async #write(handler: DeviceCommandHandler, w: TagWrite): Promise<void> {
    try {
      await handler(w);
      this.#counters.dcmdWrites++;
      this.#log.info({ device: w.device, tag: w.tag }, 'DCMD write done');
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      if (isRefusal(err)) {
        this.#counters.dcmdRefused++;
        this.#log.warn({ device: w.device, metric: w.metric, reason }, 'DCMD write refused');
      } else {
        this.#counters.dcmdFailed++;
        this.#log.warn({ device: w.device, metric: w.metric, reason, err }, 'DCMD write failed');
      }
    }
  }
}
