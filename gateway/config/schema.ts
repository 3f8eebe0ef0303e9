/**
 * The gateway config: one TypeBox schema gives validation and the TypeScript type.
 * Properties with a `default` are filled in before validation, so the type has them.
 * Protocol-specific parts (connections, tags) live next to their drivers.
 */
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { DATA_DEPTHS, MACHINE_KINDS, MACHINE_STATES } from '../../protocol/index.js';
import {
  ModbusMachineOptionsSchema,
  ModbusRtuConnectionSchema,
  ModbusRtuOverTcpConnectionSchema,
  ModbusTagSchema,
  ModbusTcpConnectionSchema,
} from '../southbound/modbus/schema.js';
import { OpcuaConnectionSchema, OpcuaTagSchema } from '../southbound/opcua/schema.js';

export const DEFAULT_DATA_DIR = './wanji-gateway-data';

const literals = <T extends string>(values: readonly T[], description: string) =>
  Type.Union(
    values.map((v) => Type.Literal(v)),
    { description },
  );

/** Each connection type with the schema of its connection and of its machines' tags. */
export const PROTOCOL_SCHEMAS = {
  opcua: { connection: OpcuaConnectionSchema, tag: OpcuaTagSchema, machineKeys: [] as string[] },
  'modbus-tcp': {
    connection: ModbusTcpConnectionSchema,
    tag: ModbusTagSchema,
    machineKeys: ['unitId', 'modbus'],
  },
  'modbus-rtu': {
    connection: ModbusRtuConnectionSchema,
    tag: ModbusTagSchema,
    machineKeys: ['unitId', 'modbus'],
  },
  'modbus-rtu-over-tcp': {
    connection: ModbusRtuOverTcpConnectionSchema,
    tag: ModbusTagSchema,
    machineKeys: ['unitId', 'modbus'],
  },
} as const satisfies Record<string, { connection: TSchema; tag: TSchema; machineKeys: string[] }>;
export type ConnectionType = keyof typeof PROTOCOL_SCHEMAS;
export const CONNECTION_TYPES = Object.keys(PROTOCOL_SCHEMAS) as ConnectionType[];

const Id = (what: string) =>
  Type.String({ minLength: 1, description: `${what} (UTF-8, without + # / or control characters)` });

const StateMapSchema = Type.Object(
  {
    tag: Type.String({ minLength: 1, description: 'the name of the tag that holds the machine state' }),
    map: Type.Record(
      Type.String(),
      literals(
        MACHINE_STATES.filter((s) => s !== 'offline'),
        'a machine state',
      ),
      {
        description: 'tag value → machine state, e.g. { 0: stopped, 1: idle, 3: running, 4: alarm }',
      },
    ),
    default: Type.Optional(
      literals(
        MACHINE_STATES.filter((s) => s !== 'offline'),
        'the state for a value the map does not list',
      ),
    ),
  },
  { additionalProperties: false, description: 'derive the state from one tag through a value map' },
);

const StackLightSchema = Type.Object(
  {
    stackLight: Type.Object(
      {
        red: Type.Optional(Type.String({ minLength: 1, description: 'the tag of the red lamp' })),
        yellow: Type.Optional(Type.String({ minLength: 1, description: 'the tag of the yellow lamp' })),
        green: Type.Optional(Type.String({ minLength: 1, description: 'the tag of the green lamp' })),
      },
      { additionalProperties: false, description: 'the tags of the lamps (red, yellow, green)' },
    ),
  },
  { additionalProperties: false, description: 'derive the state from a three-colour stack light' },
);

export const MachineSchema = Type.Object(
  {
    id: Id('a machine id, used as the Sparkplug device id'),
    connection: Type.String({ minLength: 1, description: 'the id of one of the connections' }),
    kind: literals(MACHINE_KINDS, 'the kind of machine'),
    nc: Type.Boolean({ default: false, description: 'true for an NC (数控) machine' }),
    robot: Type.Boolean({ default: false, description: 'true for an industrial robot' }),
    dataDepth: literals(
      DATA_DEPTHS,
      'how much the machine tells: state (stack light only), state+count, or full',
    ),
    unitId: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 255, description: 'the Modbus unit id (0–255); default 1' }),
    ),
    modbus: Type.Optional(ModbusMachineOptionsSchema),
    pollIntervalMs: Type.Integer({
      minimum: 50,
      maximum: 3_600_000,
      default: 1000,
      description: 'the poll (Modbus) or sampling (OPC UA) interval in milliseconds (50–3600000)',
    }),
    state: Type.Union([StateMapSchema, StackLightSchema], {
      description: 'either { tag, map } or { stackLight: { red, yellow, green } }',
    }),
    tags: Type.Array(Type.Union([OpcuaTagSchema, ModbusTagSchema]), {
      description: 'a list of tags',
    }),
  },
  { additionalProperties: false },
);

/** The on-disk journal (gateway/journal/; README "Nothing lost"). */
export const JournalSchema = Type.Object(
  {
    dir: Type.Optional(
      Type.String({ minLength: 1, description: 'a directory for the journal (default <dataDir>/journal)' }),
    ),
    maxBytes: Type.Integer({
      minimum: 65_536,
      default: 1024 ** 3,
      description: 'the most disk the journal may use, in bytes (at least 65536)',
    }),
    maxAgeS: Type.Integer({
      minimum: 60,
      default: 7 * 86_400,
      description: 'how long an unacknowledged message is kept, in seconds (at least 60)',
    }),
    whenFull: Type.Union([Type.Literal('drop-oldest'), Type.Literal('stop-sampling')], {
      default: 'drop-oldest',
      description: 'what to do when the journal is full: drop-oldest or stop-sampling',
    }),
    replayPerSecond: Type.Integer({
      minimum: 1,
      maximum: 100_000,
      default: 500,
      description: 'how many journalled messages to publish again per second after a reconnect (1–100000)',
    }),
    replayWindow: Type.Integer({
      minimum: 1,
      maximum: 1_000_000,
      default: 1000,
      description:
        'how many replayed messages may wait for the hub to acknowledge them before the replay pauses (1–1000000)',
    }),
    fsyncIntervalMs: Type.Integer({
      minimum: 0,
      maximum: 60_000,
      default: 1000,
      description:
        'flush the journal to disk at least this often, in milliseconds (0 = before every publish)',
    }),
    acknowledgedBy: Type.Union([Type.Literal('hub'), Type.Literal('broker')], {
      default: 'hub',
      description:
        'hub: a message leaves the journal when a Wanji hub says its store holds it; broker: when the broker has it (for other Sparkplug hosts)',
    }),
  },
  { default: {}, additionalProperties: false },
);

export const GatewayConfigSchema = Type.Object(
  {
    gateway: Type.Object(
      {
        group: Id('the Sparkplug group id: the enterprise code'),
        node: Id('the Sparkplug edge node id: this gateway'),
      },
      { additionalProperties: false },
    ),
    mqtt: Type.Object(
      {
        url: Type.String({
          pattern: '^(mqtt|mqtts|tcp|tls|ws|wss)://',
          description: 'a broker URL such as mqtt://hub.example.com:1883 or mqtts://…:8883',
        }),
        username: Type.Optional(Type.String({ description: 'the MQTT user name' })),
        password: Type.Optional(Type.String({ description: 'the MQTT password' })),
        clientId: Type.Optional(Type.String({ minLength: 1, description: 'the MQTT client id' })),
        primaryHost: Type.Optional(Id('the primary host id whose STATE gates NBIRTH')),
        keepaliveS: Type.Integer({
          minimum: 5,
          maximum: 65535,
          default: 30,
          description: 'the MQTT keepalive in seconds (5–65535)',
        }),
        // Optional in the type (the default fills it on loading) so that code building an mqtt
        // section by hand need not name it; the session's default is the same 10 s.
        connectTimeoutMs: Type.Optional(
          Type.Integer({
            minimum: 1000,
            maximum: 300_000,
            default: 10_000,
            description:
              "how long one connection attempt waits for the broker's CONNACK before it is retried, in milliseconds (1000–300000; raise it for a broker that many gateways reach at once)",
          }),
        ),
        tls: Type.Optional(
          Type.Object(
            {
              ca: Type.Optional(
                Type.String({
                  minLength: 1,
                  description:
                    "a PEM file of the CA that signed the broker's certificate (default: the system CAs)",
                }),
              ),
              cert: Type.Optional(
                Type.String({
                  minLength: 1,
                  description: 'a PEM file of the client certificate, if the broker asks for one',
                }),
              ),
              key: Type.Optional(
                Type.String({ minLength: 1, description: "a PEM file of the client certificate's key" }),
              ),
              rejectUnauthorized: Type.Boolean({
                default: true,
                description:
                  'refuse a broker certificate that the CA did not sign (true or false; keep true)',
              }),
            },
            { additionalProperties: false, description: 'TLS options for an mqtts:// or wss:// url' },
          ),
        ),
      },
      { additionalProperties: false },
    ),
    heartbeatMs: Type.Integer({
      minimum: 1000,
      maximum: 86_400_000,
      default: 60_000,
      description: 'republish each machine state at least this often, in milliseconds',
    }),
    statusIntervalMs: Type.Integer({
      minimum: 100,
      maximum: 3_600_000,
      default: 10_000,
      description:
        "publish the gateway's own metrics (machine health, counters) at most this often, in milliseconds",
    }),
    dataDir: Type.Optional(Type.String({ minLength: 1, description: 'a directory for the gateway state' })),
    journal: JournalSchema,
    connections: Type.Array(
      Type.Union([
        OpcuaConnectionSchema,
        ModbusTcpConnectionSchema,
        ModbusRtuConnectionSchema,
        ModbusRtuOverTcpConnectionSchema,
      ]),
      {
        description: 'a list of connections',
      },
    ),
    machines: Type.Array(MachineSchema, { description: 'a list of machines' }),
  },
  { additionalProperties: false },
);

export type GatewayConfig = Static<typeof GatewayConfigSchema>;
export type MachineConfig = GatewayConfig['machines'][number];
export type ConnectionConfig = GatewayConfig['connections'][number];
export type TagConfig = MachineConfig['tags'][number];
export type StateConfig = MachineConfig['state'];
export type JournalConfig = GatewayConfig['journal'];
