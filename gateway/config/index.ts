export { loadGatewayConfig, parseGatewayConfig } from './load.js';
export type {
  ConnectionConfig,
  ConnectionType,
  GatewayConfig,
  MachineConfig,
  StateConfig,
  TagConfig,
} from './schema.js';
export { CONNECTION_TYPES, DEFAULT_DATA_DIR, GatewayConfigSchema } from './schema.js';
export { ConfigError, type ConfigIssue, formatIssues, validateGatewayConfig } from './validate.js';
