/**
 * Typed hub errors with stable codes from the one catalogue,
 * protocol/errors.ts; docs/errors.md lists them.
 */
import { WanjiError, type WanjiErrorCode } from '../protocol/errors.js';

/**
 * The codes a HubError carries. `WanjiError<HubErrorCode>` below makes each one a catalogue
 * code (protocol/errors.ts): a misspelt code does not compile.
 */
export type HubErrorCode =
  | 'WANJI_E_HUB_CONFIG'
  | 'WANJI_E_HUB_STATE'
  | 'WANJI_E_BROKER_LISTEN'
  | 'WANJI_E_MQTT_USER_INVALID'
  | 'WANJI_E_MQTT_USER_EXISTS'
  | 'WANJI_E_MQTT_USER_NOT_FOUND'
  | 'WANJI_E_HOST_CONNECT'
  | Extract<
      WanjiErrorCode,
      | `WANJI_E_STORE${string}`
      | `WANJI_E_REGISTRY${string}`
      | `WANJI_E_STATS_${string}`
      | `WANJI_E_ALERT_${string}`
    >
  | 'WANJI_E_API_VALIDATION'
  | 'WANJI_E_API_BAD_TIME'
  | 'WANJI_E_API_NOT_FOUND'
  | 'WANJI_E_API_INTERNAL';

export class HubError extends WanjiError<HubErrorCode> {
  constructor(code: HubErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options);
    this.name = 'HubError';
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
