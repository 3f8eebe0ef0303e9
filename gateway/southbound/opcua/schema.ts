/**
 * Config schema of OPC UA connections and tags. Pure TypeBox: importing it never loads
 * node-opcua, so the config loader stays light.
 */
import { type Static, Type } from '@sinclair/typebox';
import { Deadband, TagName } from '../../config/common.js';

export const OPCUA_TAG_DATATYPES = [
  'Boolean',
  'Int8',
  'Int16',
  'Int32',
  'Int64',
  'UInt8',
  'UInt16',
  'UInt32',
  'UInt64',
  'Float',
  'Double',
  'String',
  'DateTime',
] as const;

export const OpcuaConnectionSchema = Type.Object(
  {
    id: Type.String({ minLength: 1, description: 'a connection id, unique in this file' }),
    type: Type.Literal('opcua'),
    endpoint: Type.String({
      pattern: '^opc\\.tcp://',
      description: 'an OPC UA endpoint URL such as opc.tcp://192.168.1.20:4840',
    }),
    username: Type.Optional(Type.String({ description: 'a user name for UserName authentication' })),
    password: Type.Optional(Type.String({ description: 'the password for username' })),
    pkiDir: Type.Optional(
      Type.String({
        minLength: 1,
        description: "a folder for the client's certificate and trust lists (default <dataDir>/pki)",
      }),
    ),
    backoffMaxMs: Type.Integer({
      minimum: 100,
      maximum: 600_000,
      default: 30_000,
      description: 'the longest pause between reconnect attempts, in milliseconds',
    }),
    timeoutMs: Type.Integer({
      minimum: 100,
      maximum: 600_000,
      default: 10_000,
      description: 'the request timeout in milliseconds (100–600000)',
    }),
  },
  { additionalProperties: false },
);
export type OpcuaConnectionConfig = Static<typeof OpcuaConnectionSchema>;

export const OpcuaTagSchema = Type.Object(
  {
    name: TagName,
    nodeId: Type.String({
      minLength: 1,
      description: 'an OPC UA NodeId such as "ns=2;s=Machine1.SpindleSpeed" or "ns=3;i=1001"',
    }),
    datatype: Type.Union(
      OPCUA_TAG_DATATYPES.map((d) => Type.Literal(d)),
      { description: 'the Sparkplug datatype the value is published as' },
    ),
    deadband: Deadband,
  },
  { additionalProperties: false },
);
export type OpcuaTagConfig = Static<typeof OpcuaTagSchema>;
