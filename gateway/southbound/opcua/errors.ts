/**
 * Typed errors of the OPC UA driver, browser and PKI tools (the catalogue in
 * protocol/errors.ts), listed in docs/opcua.md. Never rename a code, add one instead.
 */
import { WanjiError, type WanjiErrorCode } from '../../../protocol/errors.js';

/** Short names for the OPC UA codes; their meanings are in the catalogue. */
export const OPCUA_ERROR_CODES = {
  /** The connection or session could not be set up, or was lost. */
  connect: 'WANJI_E_OPCUA_CONNECT',
  /** The server's certificate is not trusted: it was put in <pki>/rejected. */
  certificateUntrusted: 'WANJI_E_OPCUA_CERT_UNTRUSTED',
  /** The server refused the secure channel: it may not trust the gateway's own certificate. */
  clientRejected: 'WANJI_E_OPCUA_CLIENT_REJECTED',
  /** The server offers no endpoint with the configured security mode and policy. */
  security: 'WANJI_E_OPCUA_SECURITY',
  /** The server refused the user identity (detail: `statusCode`). */
  identity: 'WANJI_E_OPCUA_IDENTITY',
  /** A tag's browse path does not resolve to a node (detail: `statusCode`). */
  browsePath: 'WANJI_E_OPCUA_BROWSE_PATH',
  /** No keep-alive or data from the server within the watchdog time. */
  keepAlive: 'WANJI_E_OPCUA_KEEPALIVE',
  /** The PKI folder or a certificate file could not be read, made or changed. */
  pki: 'WANJI_E_OPCUA_PKI',
} as const satisfies Readonly<Record<string, WanjiErrorCode>>;

export type OpcuaErrorCode = (typeof OPCUA_ERROR_CODES)[keyof typeof OPCUA_ERROR_CODES];

export interface OpcuaErrorDetail {
  /** OPC UA status code name, e.g. BadNodeIdUnknown. */
  readonly statusCode?: string;
  /** The machine and tag the error is about, when it is about one. */
  readonly machine?: string;
  readonly tag?: string;
  /** SHA-1 thumbprint (hex) of the certificate the error is about. */
  readonly thumbprint?: string;
}

export class OpcuaError extends WanjiError<OpcuaErrorCode, OpcuaErrorDetail> {
  declare readonly detail: OpcuaErrorDetail;

  constructor(code: OpcuaErrorCode, message: string, detail: OpcuaErrorDetail = {}, options?: ErrorOptions) {
    super(code, message, { ...options, detail });
    this.name = 'OpcuaError';
  }
}
