/** The edge gateway's public surface. */
export type { Clock } from '../protocol/clock.js';
export { systemClock } from '../protocol/clock.js';
export type { Quality } from '../protocol/quality.js';
export * from './config/index.js';
export { GATEWAY_ERROR_CODES, GatewayError, type GatewayErrorCode } from './errors.js';
export { Gateway, type GatewayOptions, type GatewayStatus } from './gateway.js';
export { DRIVERS } from './southbound/registry.js';
export type {
  Driver,
  DriverContext,
  DriverFactory,
  DriverSink,
  MachineStatus,
  TagSample,
} from './southbound/types.js';
