/** The alerts' coded errors (protocol/errors.ts, docs/errors.md). */
import { HubError } from '../errors.js';

export type AlertErrorCode = 'WANJI_E_ALERT_RULE_INVALID' | 'WANJI_E_ALERT_CHANNEL_FAILED';

export class AlertError extends HubError {
  declare readonly code: AlertErrorCode;
  constructor(code: AlertErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options);
    this.name = 'AlertError';
  }
}
