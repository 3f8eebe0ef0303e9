/**
 * Typed hub errors with stable codes (CONVENTIONS.md §6). docs/hub.md lists them.
 */

export type HubErrorCode =
  | 'WANJI_E_HUB_CONFIG'
  | 'WANJI_E_HUB_STATE'
  | 'WANJI_E_BROKER_LISTEN'
  | 'WANJI_E_MQTT_USER_INVALID'
  | 'WANJI_E_MQTT_USER_EXISTS'
  | 'WANJI_E_MQTT_USER_NOT_FOUND'
  | 'WANJI_E_HOST_CONNECT'
  | 'WANJI_E_STORE'
  | 'WANJI_E_STORE_UNKNOWN_TYPE'
  | 'WANJI_E_STORE_UNAVAILABLE'
  | 'WANJI_E_STORE_REJECTED'
  | 'WANJI_E_STORE_AUTH'
  | 'WANJI_E_STORE_NOT_FOUND'
  | 'WANJI_E_STORE_TIMEOUT'
  | 'WANJI_E_STORE_QUERY'
  | 'WANJI_E_STORE_UNSUPPORTED'
  | 'WANJI_E_REGISTRY'
  | 'WANJI_E_REGISTRY_UNKNOWN_REGION'
  | 'WANJI_E_REGISTRY_UNKNOWN_INDUSTRY'
  | 'WANJI_E_REGISTRY_INVALID_DECLARATION'
  | 'WANJI_E_REGISTRY_IMPORT_FORMAT'
  | 'WANJI_E_REGISTRY_IMPORT_TOO_LARGE'
  | 'WANJI_E_REGISTRY_UNKNOWN_MACHINE'
  | 'WANJI_E_REGISTRY_MACHINE_CHANGE'
  | 'WANJI_E_REGISTRY_ROW'
  | 'WANJI_E_STATS_CHILD_REPORT'
  | 'WANJI_E_STATS_PARENT'
  | 'WANJI_E_API_VALIDATION'
  | 'WANJI_E_API_BAD_TIME'
  | 'WANJI_E_API_NOT_FOUND'
  | 'WANJI_E_API_INTERNAL';

export class HubError extends Error {
  readonly code: HubErrorCode;
  constructor(code: HubErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'HubError';
    this.code = code;
  }
}

/** A config value failed validation; `problems` name each path and what to do. */
export class HubConfigError extends HubError {
  readonly problems: readonly string[];
  constructor(source: string, problems: readonly string[]) {
    super('WANJI_E_HUB_CONFIG', `invalid hub config (${source}):\n  - ${problems.join('\n  - ')}`);
    this.name = 'HubConfigError';
    this.problems = problems;
  }
}

/**
 * What every long-lived hub component reports to /healthz. `degraded`: working, but refusing
 * part of what it is given persistently (the detail says what); /healthz still answers 200.
 */
export interface ComponentHealth {
  readonly status: 'up' | 'degraded' | 'down' | 'starting' | 'closed';
  readonly detail?: string;
}
