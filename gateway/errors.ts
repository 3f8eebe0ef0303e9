/**
 * Typed errors of the gateway, each with a stable code from the one catalogue,
 * protocol/errors.ts; docs/errors.md and docs/gateway.md list them.
 */
import { WanjiError, type WanjiErrorCode } from '../protocol/errors.js';

/** Short names for the gateway's own codes; their meanings are in the catalogue. */
export const GATEWAY_ERROR_CODES = {
  config: 'WANJI_E_CONFIG',
  unknownDriver: 'WANJI_E_DRIVER_UNKNOWN',
  mqttTls: 'WANJI_E_MQTT_TLS',
  stateFile: 'WANJI_E_STATE_FILE',
} as const satisfies Readonly<Record<string, WanjiErrorCode>>;

export type GatewayErrorCode = (typeof GATEWAY_ERROR_CODES)[keyof typeof GATEWAY_ERROR_CODES];

export interface GatewayErrorDetail {
  /** TLS failure code from Node or OpenSSL, e.g. UNABLE_TO_VERIFY_LEAF_SIGNATURE. */
  readonly tlsCode?: string;
}

export class GatewayError extends WanjiError<GatewayErrorCode, GatewayErrorDetail> {
  declare readonly detail: GatewayErrorDetail;

  constructor(
    code: GatewayErrorCode,
    message: string,
    detail: GatewayErrorDetail = {},
    options?: ErrorOptions,
  ) {
    super(code, message, { ...options, detail });
    this.name = 'GatewayError';
  }
}

/** Turns anything thrown into an Error for `{ err }` logging. */
export function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
