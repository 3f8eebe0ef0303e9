/**
 * Config schemas of Modbus connections (TCP, RTU on a serial port, RTU over TCP), of the
 * per-machine Modbus options and of Modbus tags (pure TypeBox, no I/O). Cross-field rules
 * (register or address, types per table, …) are in tags.ts, reported with the config's issues.
 */
import { type Static, Type } from '@sinclair/typebox';
import { Deadband, TagName } from '../../config/common.js';

export const MODBUS_TABLES = ['coil', 'discrete', 'input', 'holding'] as const;
export type ModbusTable = (typeof MODBUS_TABLES)[number];

export const MODBUS_TYPES = [
  'bool',
  'int16',
  'uint16',
  'int32',
  'uint32',
  'int64',
  'uint64',
  'float32',
  'float64',
  'string',
] as const;
export type ModbusType = (typeof MODBUS_TYPES)[number];

/**
 * Byte order of multi-register values, naming the bytes of the value A (most significant) to D
 * in the order they arrive: ABCD big-endian, CDAB word-swapped (common on PLCs), BADC
 * byte-swapped, DCBA little-endian. The 8-letter names are the same orders for 64-bit values.
 */
export const MODBUS_ORDERS = [
  'ABCD',
  'BADC',
  'CDAB',
  'DCBA',
  'ABCDEFGH',
  'BADCFEHG',
  'GHEFCDAB',
  'HGFEDCBA',
] as const;
export type ModbusOrder = (typeof MODBUS_ORDERS)[number];

const literals = <T extends string>(values: readonly T[], description: string, fallback?: T) =>
  Type.Union(
    values.map((v) => Type.Literal(v)),
    { description, ...(fallback !== undefined ? { default: fallback } : {}) },
  );

const int = (min: number, max: number, description: string, fallback?: number) =>
  Type.Integer({
    minimum: min,
    maximum: max,
    description,
    ...(fallback !== undefined ? { default: fallback } : {}),
  });

const POLL_DESCRIPTIONS = {
  timeoutMs: 'how long to wait for an answer, in milliseconds (10–60000)',
  retries: 'how often a request without an answer is sent again before the poll fails (0–10)',
  offlineAfter: 'failed polls in a row after which a device is offline (before that: degraded)',
  maxGap: 'unused registers (or bits) one read may span to join two tags (0–124)',
  maxRegisters: 'the most registers one read asks for (1–125)',
  maxBits: 'the most coils or discrete inputs one read asks for (1–2000)',
} as const;

const common = {
  id: Type.String({ minLength: 1, description: 'a connection id, unique in this file' }),
  timeoutMs: int(10, 60_000, POLL_DESCRIPTIONS.timeoutMs, 1000),
  retries: int(0, 10, POLL_DESCRIPTIONS.retries, 1),
  offlineAfter: int(1, 100, POLL_DESCRIPTIONS.offlineAfter, 3),
  maxGap: int(0, 124, POLL_DESCRIPTIONS.maxGap, 8),
  maxRegisters: int(1, 125, POLL_DESCRIPTIONS.maxRegisters, 125),
  maxBits: int(1, 2000, POLL_DESCRIPTIONS.maxBits, 2000),
  backoffMaxMs: int(
    100,
    600_000,
    'the longest pause between reconnects, and between polls of a device that does not answer, in milliseconds',
    30_000,
  ),
  illegalRetryMs: int(
    1000,
    86_400_000,
    'how often a tag the device refuses (illegal data address) is tried again, in milliseconds',
    300_000,
  ),
};

const tcpTarget = {
  host: Type.String({ minLength: 1, description: 'the host name or IP address of the Modbus server' }),
  port: int(1, 65535, 'a TCP port (1–65535)', 502),
};

export const ModbusTcpConnectionSchema = Type.Object(
  { ...common, type: Type.Literal('modbus-tcp'), ...tcpTarget },
  { additionalProperties: false },
);
export type ModbusTcpConnectionConfig = Static<typeof ModbusTcpConnectionSchema>;

export const ModbusRtuOverTcpConnectionSchema = Type.Object(
  { ...common, type: Type.Literal('modbus-rtu-over-tcp'), ...tcpTarget },
  {
    additionalProperties: false,
    description: 'RTU frames (with CRC) over TCP, as serial device servers in transparent mode carry them',
  },
);
export type ModbusRtuOverTcpConnectionConfig = Static<typeof ModbusRtuOverTcpConnectionSchema>;

export const SERIAL_PARITIES = ['none', 'even', 'odd'] as const;

export const ModbusRtuConnectionSchema = Type.Object(
  {
    ...common,
    type: Type.Literal('modbus-rtu'),
    path: Type.String({ minLength: 1, description: 'the serial port, e.g. /dev/ttyUSB0 or COM3' }),
    baudRate: int(300, 4_000_000, 'the baud rate, e.g. 9600, 19200 or 115200', 9600),
    parity: literals(SERIAL_PARITIES, 'none, even or odd', 'none'),
    dataBits: Type.Union([Type.Literal(7), Type.Literal(8)], { default: 8, description: '7 or 8' }),
    stopBits: Type.Union([Type.Literal(1), Type.Literal(2)], { default: 1, description: '1 or 2' }),
  },
  { additionalProperties: false },
);
export type ModbusRtuConnectionConfig = Static<typeof ModbusRtuConnectionSchema>;

export type ModbusConnectionConfig =
  | ModbusTcpConnectionConfig
  | ModbusRtuOverTcpConnectionConfig
  | ModbusRtuConnectionConfig;

/** A machine's own poll options (`modbus:` on the machine), overriding its connection's. */
export const ModbusMachineOptionsSchema = Type.Object(
  {
    timeoutMs: Type.Optional(int(10, 60_000, POLL_DESCRIPTIONS.timeoutMs)),
    retries: Type.Optional(int(0, 10, POLL_DESCRIPTIONS.retries)),
    offlineAfter: Type.Optional(int(1, 100, POLL_DESCRIPTIONS.offlineAfter)),
    maxGap: Type.Optional(int(0, 124, POLL_DESCRIPTIONS.maxGap)),
    maxRegisters: Type.Optional(int(1, 125, POLL_DESCRIPTIONS.maxRegisters)),
    maxBits: Type.Optional(int(1, 2000, POLL_DESCRIPTIONS.maxBits)),
  },
  {
    additionalProperties: false,
    description:
      'Modbus poll options of this device: timeoutMs, retries, offlineAfter, maxGap, maxRegisters, maxBits',
  },
);
export type ModbusMachineOptions = Static<typeof ModbusMachineOptionsSchema>;

export const ModbusTagSchema = Type.Object(
  {
    name: TagName,
    table: Type.Optional(
      literals(
        MODBUS_TABLES,
        'the Modbus table: coil, discrete (input), input (register) or holding (register)',
      ),
    ),
    address: Type.Optional(
      int(0, 65535, 'the 0-based protocol address, with table (holding register 40011 is address 10)'),
    ),
    register: Type.Optional(
      Type.Union([Type.Integer({ minimum: 1 }), Type.String({ pattern: '^[0-9]{5,6}$' })], {
        description:
          'a Modicon register number instead of table + address: 00001 coil, 10001 discrete, 30001 input, 40001 holding (or 6 digits: 400001)',
      }),
    ),
    type: literals(MODBUS_TYPES, 'how the bits are read'),
    order: Type.Union(
      MODBUS_ORDERS.map((o) => Type.Literal(o)),
      { default: 'ABCD', description: 'the byte order: ABCD, BADC, CDAB or DCBA' },
    ),
    bit: Type.Optional(
      int(0, 15, 'for type bool on a holding or input register: the bit (0 = least significant)'),
    ),
    length: Type.Optional(int(1, 125, 'for type string: its length in registers (2 characters each)')),
    scale: Type.Number({ default: 1, description: 'value = raw × scale + offset' }),
    offset: Type.Number({ default: 0, description: 'value = raw × scale + offset' }),
    writable: Type.Boolean({ default: false, description: 'allow writes to this tag (coil or holding)' }),
    writeMultiple: Type.Boolean({
      default: false,
      description: 'write with function 15/16 even for one coil or register (for devices without 5/6)',
    }),
    deadband: Deadband,
  },
  { additionalProperties: false },
);
export type ModbusTagConfig = Static<typeof ModbusTagSchema>;
