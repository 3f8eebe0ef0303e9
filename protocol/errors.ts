/**
 * The one catalogue of Wanji's error codes and the base every typed
 * error extends. A code is stable: never rename one, add a new one instead. docs/errors.md
 * documents each code for users; test/docs/errors.test.ts checks the two agree.
 */

/** Every `WANJI_E_*` code, with its one-line meaning. */
export const ERROR_CATALOGUE = {
  // gateway
  WANJI_E_CONFIG: 'the gateway config file is unreadable or invalid',
  WANJI_E_DRIVER_UNKNOWN: 'a connection names a type no southbound driver implements',
  WANJI_E_STATE_FILE: "the gateway's state file (bdSeq) could not be read or written",
  WANJI_E_RELOAD_RESTART: 'a reload changed a key that needs a restart; nothing was reloaded',
  WANJI_E_DCMD_REFUSED: 'a DCMD write was refused before it reached the machine',
  WANJI_E_MQTT_TLS: 'the TLS handshake with the MQTT broker failed',
  WANJI_E_MODBUS_TIMEOUT: "a Modbus request got no answer within the connection's timeoutMs",
  WANJI_E_MODBUS_EXCEPTION: 'the Modbus device answered with an exception',
  WANJI_E_MODBUS_CONNECT: 'the Modbus connection could not be opened or was lost',
  WANJI_E_MODBUS_FRAME: 'a Modbus answer that makes no sense (CRC error, wrong length)',
  WANJI_E_MODBUS_UNKNOWN_TAG: 'a Modbus write names a machine or tag the connection does not have',
  WANJI_E_MODBUS_NOT_WRITABLE: 'a Modbus write to a tag that is not writable',
  WANJI_E_MODBUS_BAD_VALUE: "a Modbus write with a value that does not fit the tag's type",
  WANJI_E_MODBUS_CLOSED: 'the Modbus driver was closed while a request waited',
  WANJI_E_OPCUA_CONNECT: 'the OPC UA connection or session could not be set up, or was lost',
  WANJI_E_OPCUA_CERT_UNTRUSTED: "the OPC UA server's certificate is not trusted",
  WANJI_E_OPCUA_CLIENT_REJECTED: 'the OPC UA server refused the secure channel',
  WANJI_E_OPCUA_SECURITY: 'the OPC UA server offers no endpoint with the configured security',
  WANJI_E_OPCUA_IDENTITY: 'the OPC UA server refused the user identity',
  WANJI_E_OPCUA_BROWSE_PATH: "an OPC UA tag's browse path does not resolve",
  WANJI_E_OPCUA_KEEPALIVE: 'no OPC UA keep-alive or data within the watchdog time',
  WANJI_E_OPCUA_PKI: 'the OPC UA PKI folder or a certificate file could not be read, made or changed',
  // protocol
  WANJI_E_SPARKPLUG_PAYLOAD: 'a Sparkplug payload could not be decoded',
  WANJI_E_SPARKPLUG_ENCODE: "a value does not fit the metric's datatype",
  // hub
  WANJI_E_HUB_CONFIG: 'an invalid hub option',
  WANJI_E_HUB_STATE: 'a hub part was used before start()',
  WANJI_E_BROKER_LISTEN: 'an MQTT port could not be opened',
  WANJI_E_MQTT_USER_INVALID: 'an MQTT credential request with an unusable id or user name',
  WANJI_E_MQTT_USER_EXISTS: 'the MQTT user name is taken',
  WANJI_E_MQTT_USER_NOT_FOUND: 'no MQTT credential has that user name',
  WANJI_E_HOST_CONNECT: 'the Sparkplug host could not reach the broker within the connect timeout',
  WANJI_E_STORE: 'the sample store failed to open, write or read',
  WANJI_E_STORE_UNKNOWN_TYPE: 'a store type that no implementation provides',
  WANJI_E_STORE_UNAVAILABLE: 'the store server is unreachable or answered 5xx or 429',
  WANJI_E_STORE_TIMEOUT: 'the store server did not answer in time',
  WANJI_E_STORE_AUTH: 'the store server refused the credentials (401/403)',
  WANJI_E_STORE_NOT_FOUND: "the store server's database or bucket is missing (404)",
  WANJI_E_STORE_REJECTED: 'the store server refused the data itself (400/413/422)',
  WANJI_E_STORE_QUERY: 'a history query to the store server failed',
  WANJI_E_STORE_UNSUPPORTED: 'a history query to a store configured without history',
  WANJI_E_REGISTRY: 'the registry database failed',
  WANJI_E_REGISTRY_UNKNOWN_REGION: 'a declaration names a region the registry does not have',
  WANJI_E_REGISTRY_UNKNOWN_INDUSTRY: 'a declaration names an industry the registry does not have',
  WANJI_E_REGISTRY_INVALID_DECLARATION: 'an enterprise declaration that cannot be stored',
  WANJI_E_REGISTRY_UNKNOWN_MACHINE: 'no machine with that id in that enterprise',
  WANJI_E_REGISTRY_MACHINE_CHANGE: 'a confirm, retire or merge of a machine that cannot be done',
  WANJI_E_REGISTRY_IMPORT_FORMAT: 'an import file that cannot be read as a whole',
  WANJI_E_REGISTRY_IMPORT_TOO_LARGE: 'an import file over the size limits',
  WANJI_E_REGISTRY_ALIAS: 'an industry alias that another industry already answers to',
  WANJI_E_REGISTRY_ROW: 'one row of an ingest batch could not be applied to the registry',
  WANJI_E_REGISTRY_PROGRAMME:
    'a programme target, or a workshop, factory or platform declaration, that cannot be stored',
  WANJI_E_STATS_CHILD_REPORT: "a child hub's aggregates were refused",
  WANJI_E_STATS_PARENT: "forwarding this hub's aggregates to its parent failed",
  WANJI_E_TOKEN_INVALID: 'an API token request that cannot be met',
  WANJI_E_TOKEN_NOT_FOUND: 'no API token with that id, or it is already revoked',
  WANJI_E_USER_INVALID: 'a user account request that cannot be met',
  WANJI_E_USER_EXISTS: 'a user with that name exists already',
  WANJI_E_USER_NOT_FOUND: 'no user with that name',
  WANJI_E_SIGN_IN_FAILED: 'a sign-in with a wrong user name or password, or of a disabled user',
  WANJI_E_SIGN_IN_LOCKED: 'too many failed sign-ins for that user name or from that address',
  WANJI_E_CROSS_SITE: 'a change sent with the session cookie from another site',
  WANJI_E_ALERT_RULE_INVALID: 'an alert rule that cannot be used (scope, threshold or channels)',
  WANJI_E_ALERT_CHANNEL_FAILED: 'a notification channel did not take a message (test send)',
  // hub HTTP API
  WANJI_E_API_VALIDATION: 'a query or path parameter fails its schema',
  WANJI_E_API_BAD_TIME: 'from / to is neither milliseconds nor ISO 8601',
  WANJI_E_API_NOT_FOUND: 'unknown route, or nothing with that id',
  WANJI_E_API_INTERNAL: 'an unexpected error, logged on the hub',
  WANJI_E_API_UNAUTHORIZED: 'no usable bearer token or sign-in session',
  WANJI_E_API_FORBIDDEN: "the token's role may not use the route",
  WANJI_E_API_RATE_LIMITED: 'too many requests',
  WANJI_E_API_BODY_TOO_LARGE: 'a request body over http.bodyLimit',
  WANJI_E_API_BAD_BODY: 'a request body that is not valid JSON',
  WANJI_E_API_UNSUPPORTED_MEDIA_TYPE: 'a request body in a format the route does not read',
  WANJI_E_API_REQUEST: 'a request the server cannot use otherwise',
} as const satisfies Readonly<Record<`WANJI_E_${string}`, string>>;

export type WanjiErrorCode = keyof typeof ERROR_CATALOGUE;

export function isWanjiErrorCode(code: string): code is WanjiErrorCode {
  return Object.hasOwn(ERROR_CATALOGUE, code);
}

export interface WanjiErrorOptions<Detail extends object> extends ErrorOptions {
  /** The protocol's own detail (Modbus exception code, OPC UA status code, TLS code, …). */
  readonly detail?: Detail;
}

/**
 * The base of every error Wanji raises on purpose: a catalogue `code` (a typo does not
 * compile) and, when there is one, the protocol's own `detail`. Subclasses keep their own
 * `name`.
 */
export class WanjiError<
  Code extends WanjiErrorCode = WanjiErrorCode,
  Detail extends object = object,
> extends Error {
  readonly code: Code;
  // Declared, not initialised: an error without detail has no `detail` key in its logs.
  declare readonly detail?: Detail;

  constructor(code: Code, message: string, options?: WanjiErrorOptions<Detail>) {
    const { detail, ...errorOptions } = options ?? {};
    super(message, errorOptions);
    this.name = 'WanjiError';
    this.code = code;
    if (detail !== undefined) this.detail = detail;
  }
}
