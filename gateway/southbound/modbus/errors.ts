/**
 * Typed Modbus errors with stable codes (the catalogue in protocol/errors.ts), carrying the
 * Modbus exception code and its name. docs/modbus.md lists them all.
 */
import { WanjiError, type WanjiErrorCode } from '../../../protocol/errors.js';

/** Short names for the Modbus codes; their meanings are in the catalogue. */
export const MODBUS_ERROR_CODES = {
  timeout: 'WANJI_E_MODBUS_TIMEOUT',
  exception: 'WANJI_E_MODBUS_EXCEPTION',
  connect: 'WANJI_E_MODBUS_CONNECT',
  /** The answer did not make sense (CRC error, wrong length). */
  frame: 'WANJI_E_MODBUS_FRAME',
  /** write(): no such machine or tag on this connection. */
  unknownTag: 'WANJI_E_MODBUS_UNKNOWN_TAG',
  /** write(): the tag is not `writable: true`, or its table cannot be written. */
  notWritable: 'WANJI_E_MODBUS_NOT_WRITABLE',
  /** write(): the value does not fit the tag's type. */
  badValue: 'WANJI_E_MODBUS_BAD_VALUE',
  /** The driver was closed while the request waited. */
  closed: 'WANJI_E_MODBUS_CLOSED',
} as const satisfies Readonly<Record<string, WanjiErrorCode>>;
export type ModbusErrorCode = (typeof MODBUS_ERROR_CODES)[keyof typeof MODBUS_ERROR_CODES];

/** Exception codes of the Modbus application protocol (V1.1b3, section 7). */
export const MODBUS_EXCEPTIONS: Readonly<Record<number, string>> = {
  1: 'illegal function',
  2: 'illegal data address',
  3: 'illegal data value',
  4: 'server device failure',
  5: 'acknowledge',
  6: 'server device busy',
  8: 'memory parity error',
  10: 'gateway path unavailable',
  11: 'gateway target device failed to respond',
};

export function exceptionName(code: number): string {
  return MODBUS_EXCEPTIONS[code] ?? 'unknown exception';
}

export interface ModbusErrorDetail {
  /** The Modbus exception code the device answered with. */
  readonly modbusCode?: number;
  /** Its name, e.g. "illegal data address". */
  readonly exception?: string;
}

export class ModbusError extends WanjiError<ModbusErrorCode, ModbusErrorDetail> {
  declare readonly detail: ModbusErrorDetail;

  constructor(
    code: ModbusErrorCode,
    message: string,
    detail: ModbusErrorDetail = {},
    options?: ErrorOptions,
  ) {
    super(code, message, { ...options, detail });
    this.name = 'ModbusError';
  }

  get modbusCode(): number | undefined {
    return this.detail.modbusCode;
  }
}

export function modbusException(code: number, context: string, cause?: unknown): ModbusError {
  return new ModbusError(
    MODBUS_ERROR_CODES.exception,
    `${context}: exception ${code} (${exceptionName(code)})`,
    { modbusCode: code, exception: exceptionName(code) },
    cause === undefined ? undefined : { cause },
  );
}

/** Classifies what modbus-serial rejects with. */
export function fromModbusSerial(err: unknown, context: string, timeoutMs: number): ModbusError {
  if (err instanceof ModbusError) return err;
  const e = (typeof err === 'object' && err !== null ? err : {}) as {
    message?: unknown;
    errno?: unknown;
    modbusCode?: unknown;
    name?: unknown;
  };
  const message = typeof e.message === 'string' ? e.message : String(err);
  if (typeof e.modbusCode === 'number') return modbusException(e.modbusCode, context, err);
  if (e.errno === 'ETIMEDOUT' || e.name === 'TransactionTimedOutError') {
    return new ModbusError(
      MODBUS_ERROR_CODES.timeout,
      `${context}: no answer within ${timeoutMs} ms`,
      {},
      { cause: err },
    );
  }
  if (/CRC error|Data length error|Unexpected data/i.test(message)) {
    return new ModbusError(MODBUS_ERROR_CODES.frame, `${context}: ${message}`, {}, { cause: err });
  }
  return new ModbusError(MODBUS_ERROR_CODES.connect, `${context}: ${message}`, {}, { cause: err });
}

/**
 * Whether the failure says the device itself is not there: no answer, a garbled answer, or a
 * TCP gateway saying its serial device did not answer (exceptions 10 and 11).
 */
export function isDeviceFailure(err: ModbusError): boolean {
  if (err.code === MODBUS_ERROR_CODES.timeout || err.code === MODBUS_ERROR_CODES.frame) return true;
  return err.code === MODBUS_ERROR_CODES.exception && (err.modbusCode === 10 || err.modbusCode === 11);
}

/**
 * Exceptions that refuse the request itself (1 illegal function, 2 illegal data address,
 * 3 illegal data value, which some devices answer for a read that is too long): the range or
 * the table, not the device, is the problem, and asking again will not change the answer.
 */
export function isRefusal(err: ModbusError): boolean {
  const c = err.modbusCode;
  return err.code === MODBUS_ERROR_CODES.exception && (c === 1 || c === 2 || c === 3);
}
