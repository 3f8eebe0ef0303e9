/** Config schema of Modbus TCP connections and tags (pure TypeBox, no I/O). */
import { type Static, Type } from '@sinclair/typebox';
import { Deadband, TagName } from '../../config/common.js';

export const MODBUS_TABLES = ['coil', 'discrete', 'input', 'holding'] as const;
export type ModbusTable = (typeof MODBUS_TABLES)[number];

/** Tag types read so far; 64-bit types and strings come with the production drivers. */
export const MODBUS_TYPES = ['bool', 'int16', 'uint16', 'int32', 'uint32', 'float32'] as const;
export type ModbusType = (typeof MODBUS_TYPES)[number];

/**
 * Byte order of multi-register values, naming the bytes of the value A (most significant)
 * to D in the order they arrive: ABCD big-endian, CDAB word-swapped (common on PLCs),
 * BADC byte-swapped, DCBA little-endian.
 */
export const MODBUS_ORDERS = ['ABCD', 'CDAB', 'BADC', 'DCBA'] as const;
export type ModbusOrder = (typeof MODBUS_ORDERS)[number];

export const ModbusTcpConnectionSchema = Type.Object(
  {
    id: Type.String({ minLength: 1, description: 'a connection id, unique in this file' }),
    type: Type.Literal('modbus-tcp'),
    host: Type.String({ minLength: 1, description: 'the host name or IP address of the Modbus TCP server' }),
    port: Type.Integer({ minimum: 1, maximum: 65535, default: 502, description: 'a TCP port (1–65535)' }),
    timeoutMs: Type.Integer({
      minimum: 10,
      maximum: 60_000,
      default: 1000,
      description: 'how long to wait for an answer, in milliseconds (10–60000)',
    }),
    backoffMaxMs: Type.Integer({
      minimum: 100,
      maximum: 600_000,
      default: 30_000,
      description: 'the longest pause between reconnect attempts, in milliseconds',
    }),
  },
  { additionalProperties: false },
);
export type ModbusTcpConnectionConfig = Static<typeof ModbusTcpConnectionSchema>;

export const ModbusTagSchema = Type.Object(
  {
    name: TagName,
    table: Type.Union(
      MODBUS_TABLES.map((t) => Type.Literal(t)),
      { description: 'the Modbus table: coil, discrete (input), input (register) or holding (register)' },
    ),
    address: Type.Integer({
      minimum: 0,
      maximum: 65535,
      description: 'the 0-based protocol address (register 40011 is holding address 10)',
    }),
    type: Type.Union(
      MODBUS_TYPES.map((t) => Type.Literal(t)),
      { description: 'how the bits are read' },
    ),
    order: Type.Union(
      MODBUS_ORDERS.map((o) => Type.Literal(o)),
      { default: 'ABCD', description: 'the byte order of 32-bit values' },
    ),
    scale: Type.Number({ default: 1, description: 'a factor applied to the raw value' }),
    deadband: Deadband,
  },
  { additionalProperties: false },
);
export type ModbusTagConfig = Static<typeof ModbusTagSchema>;
