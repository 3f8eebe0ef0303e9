/**
 * Connection type → driver. Drivers load lazily, so a gateway with only Modbus machines never
 * loads node-opcua. A new protocol is a new folder, a schema in config/schema.ts and a line here.
 */
import type { ConnectionConfig, ConnectionType } from '../config/schema.js';
import { GATEWAY_ERROR_CODES, GatewayError } from '../errors.js';
import type { Driver, DriverContext, DriverFactory } from './types.js';

type ConnectionOf<T extends ConnectionType> = Extract<ConnectionConfig, { type: T }>;

export const DRIVERS: { readonly [T in ConnectionType]: () => Promise<DriverFactory<ConnectionOf<T>>> } = {
  opcua: async () => (await import('./opcua/driver.js')).createOpcuaDriver,
  'modbus-tcp': async () => (await import('./modbus/driver.js')).createModbusDriver,
  'modbus-rtu': async () => (await import('./modbus/driver.js')).createModbusDriver,
  'modbus-rtu-over-tcp': async () => (await import('./modbus/driver.js')).createModbusDriver,
};

export async function createDriver(ctx: DriverContext): Promise<Driver> {
  const load = DRIVERS[ctx.connection.type] as (() => Promise<DriverFactory>) | undefined;
  if (load === undefined) {
    throw new GatewayError(
      GATEWAY_ERROR_CODES.unknownDriver,
      `no southbound driver for connection type "${ctx.connection.type}"`,
    );
  }
  const factory = await load();
  return factory(ctx);
}
