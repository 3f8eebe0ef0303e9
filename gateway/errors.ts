/**
 * Typed errors of the gateway, each with a stable code (CONVENTIONS.md §6). The codes are
 * listed in docs/gateway.md; never rename one, add a new one instead.
 */

export const GATEWAY_ERROR_CODES = {
  /** The gateway config file is unreadable or invalid. */
  config: 'WANJI_E_CONFIG',
  /** A connection names a `type` no southbound driver implements. */
  unknownDriver: 'WANJI_E_DRIVER_UNKNOWN',
  /** A Modbus request got no answer within the connection's timeoutMs. */
  modbusTimeout: 'WANJI_E_MODBUS_TIMEOUT',
  /** The Modbus server answered with an exception (detail: `modbusCode`). */
  modbusException: 'WANJI_E_MODBUS_EXCEPTION',
  /** The Modbus TCP connection could not be opened or was lost. */
  modbusConnect: 'WANJI_E_MODBUS_CONNECT',
  /** The OPC UA session could not be opened or was lost. */
  opcuaConnect: 'WANJI_E_OPCUA_CONNECT',
  /** The OPC UA server refused a request (detail: `statusCode`). */
  opcuaStatus: 'WANJI_E_OPCUA_STATUS',
  /** The MQTT connection failed or a publish was refused (detail: `reasonCode`). */
  mqtt: 'WANJI_E_MQTT',
  /** The TLS handshake with the MQTT broker failed (detail: `tlsCode`, Node's or OpenSSL's code). */
  mqttTls: 'WANJI_E_MQTT_TLS',
  /** The gateway's state file (bdSeq) could not be read or written. */
  stateFile: 'WANJI_E_STATE_FILE',
} as const;

export type GatewayErrorCode = (typeof GATEWAY_ERROR_CODES)[keyof typeof GATEWAY_ERROR_CODES];

export interface GatewayErrorDetail {
  /** Modbus exception code (1 illegal function, 2 illegal data address, …). */
  readonly modbusCode?: number;
  /** OPC UA status code name, e.g. BadNodeIdUnknown. */
  readonly statusCode?: string;
  /** MQTT reason code. */
  readonly reasonCode?: number;
  /** TLS failure code from Node or OpenSSL, e.g. UNABLE_TO_VERIFY_LEAF_SIGNATURE. */
  readonly tlsCode?: string;
}

export class GatewayError extends Error {
  readonly code: GatewayErrorCode;
  readonly detail: GatewayErrorDetail;

  constructor(
    code: GatewayErrorCode,
    message: string,
    detail: GatewayErrorDetail = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'GatewayError';
    this.code = code;
    this.detail = detail;
  }
}

/** Turns anything thrown into an Error for `{ err }` logging. */
export function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
