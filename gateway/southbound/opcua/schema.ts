/**
 * Config schema of OPC UA connections and tags, and the rules between keys that a schema
 * cannot say (Sign needs a policy, a user certificate needs its key, …). Pure TypeBox:
 * importing it never loads node-opcua, so the config loader stays light.
 */
import { type Static, Type } from '@sinclair/typebox';
import { Deadband, TagName } from '../../config/common.js';
import type { ConfigIssue } from '../../config/issues.js';

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
const NUMERIC_DATATYPES: readonly string[] = OPCUA_TAG_DATATYPES.filter(
  (d) => d !== 'Boolean' && d !== 'String' && d !== 'DateTime',
);

export const SECURITY_MODES = ['None', 'Sign', 'SignAndEncrypt'] as const;
/** The policies Wanji offers: the current OPC UA ones (the RSA-1.5 ones are deprecated). */
export const SECURITY_POLICIES = [
  'None',
  'Basic256Sha256',
  'Aes128_Sha256_RsaOaep',
  'Aes256_Sha256_RsaPss',
] as const;
export type SecurityModeName = (typeof SECURITY_MODES)[number];
export type SecurityPolicyName = (typeof SECURITY_POLICIES)[number];

export const DATA_CHANGE_TRIGGERS = ['status', 'status-value', 'status-value-timestamp'] as const;
export type DataChangeTriggerName = (typeof DATA_CHANGE_TRIGGERS)[number];

const literals = <T extends string>(values: readonly T[], description: string) =>
  Type.Union(
    values.map((v) => Type.Literal(v)),
    { description },
  );

const ms = (description: string, min: number, max: number, def?: number) =>
  Type.Integer({ minimum: min, maximum: max, description, ...(def === undefined ? {} : { default: def }) });

export const OpcuaConnectionSchema = Type.Object(
  {
    id: Type.String({ minLength: 1, description: 'a connection id, unique in this file' }),
    type: Type.Literal('opcua'),
    endpoint: Type.String({
      pattern: '^opc\\.tcp://',
      description: 'an OPC UA endpoint URL such as opc.tcp://192.168.1.20:4840',
    }),
    mode: Type.Union([Type.Literal('subscription'), Type.Literal('polling')], {
      default: 'subscription',
      description:
        'subscription (monitored items) or polling (batched Reads, for servers with weak subscriptions)',
    }),
    securityMode: Type.Union(
      SECURITY_MODES.map((m) => Type.Literal(m)),
      { default: 'None', description: 'the message security mode' },
    ),
    securityPolicy: Type.Optional(literals(SECURITY_POLICIES, 'the security policy')),
    username: Type.Optional(
      Type.String({ minLength: 1, description: 'a user name for UserName authentication' }),
    ),
    password: Type.Optional(Type.String({ description: 'the password for username' })),
    userCertificate: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'a PEM or DER file: the X.509 certificate of the user identity',
      }),
    ),
    userPrivateKey: Type.Optional(
      Type.String({ minLength: 1, description: 'a PEM file: the private key of userCertificate' }),
    ),
    applicationUri: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          "the client's application URI, also in its certificate (default urn:wanji:gateway:<node>)",
      }),
    ),
    pkiDir: Type.Optional(
      Type.String({
        minLength: 1,
        description: "a folder for the client's certificate and trust lists (default <dataDir>/pki)",
      }),
    ),
    acceptUnknownServerCertificate: Type.Boolean({
      default: false,
      description: 'true trusts any server certificate on first sight (commissioning only)',
    }),
    backoffMinMs: ms('the first pause before a reconnect attempt, in milliseconds', 100, 60_000, 1000),
    backoffMaxMs: ms(
      'the longest pause between reconnect attempts, in milliseconds (at most 60000)',
      100,
      60_000,
      30_000,
    ),
    timeoutMs: ms('the request timeout in milliseconds (100–600000)', 100, 600_000, 10_000),
    sessionTimeoutMs: ms(
      'how long the server keeps the session without a request, in milliseconds',
      1000,
      3_600_000,
      60_000,
    ),
    publishingIntervalMs: Type.Optional(
      ms(
        'the subscription publishing interval in ms (default: the fastest sampling interval)',
        10,
        3_600_000,
      ),
    ),
    keepAliveCount: Type.Integer({
      minimum: 1,
      maximum: 1000,
      default: 10,
      description: 'publishing intervals without data after which the server sends a keep-alive',
    }),
    watchdogMs: Type.Optional(
      ms(
        'silence after which the session is considered dead (default 2 × keep-alive + timeoutMs)',
        100,
        3_600_000,
      ),
    ),
    maxNodesPerRequest: Type.Integer({
      minimum: 1,
      maximum: 100_000,
      default: 1000,
      description: 'the most nodes in one Read, CreateMonitoredItems or TranslateBrowsePaths request',
    }),
    browseNamespace: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'the namespace URI of browse-path names without an "N:" prefix (default: the server namespace, 1)',
      }),
    ),
  },
  { additionalProperties: false },
);
export type OpcuaConnectionConfig = Static<typeof OpcuaConnectionSchema>;

export const OpcuaTagSchema = Type.Object(
  {
    name: TagName,
    nodeId: Type.String({
      pattern: '^(/|(ns=\\d+;|nsu=[^;]+;)?[isgb]=.)',
      description:
        'an OPC UA NodeId such as "ns=2;s=Machine1.SpindleSpeed" or "ns=3;i=1001", or a browse path from the root such as "/Objects/Machines/E001-CNC-001/spindleSpeed"',
    }),
    datatype: Type.Union(
      OPCUA_TAG_DATATYPES.map((d) => Type.Literal(d)),
      { description: 'the Sparkplug datatype the value is published as' },
    ),
    deadband: Deadband,
    deadbandPercent: Type.Optional(
      Type.Number({
        minimum: 0,
        maximum: 100,
        description: "a change in percent of the variable's EURange the server must see to report (0–100)",
      }),
    ),
    samplingIntervalMs: Type.Optional(
      ms(
        "how often the server samples the value, in ms (default: the machine's pollIntervalMs)",
        0,
        3_600_000,
      ),
    ),
    queueSize: Type.Integer({
      minimum: 1,
      maximum: 10_000,
      default: 1,
      description: 'values the server keeps between publishes (1 = only the latest)',
    }),
    trigger: Type.Optional(
      literals(
        DATA_CHANGE_TRIGGERS,
        'what counts as a change: status, status-value (default), status-value-timestamp',
      ),
    ),
  },
  { additionalProperties: false },
);
export type OpcuaTagConfig = Static<typeof OpcuaTagSchema>;

/** True when a tag's nodeId is a browse path ("/Objects/…") rather than a NodeId. */
export function isBrowsePath(nodeId: string): boolean {
  return nodeId.startsWith('/');
}

const POLICY_FIX = 'add securityPolicy: Basic256Sha256 (or Aes128_Sha256_RsaOaep, Aes256_Sha256_RsaPss)';

/** Rules between the keys of one OPC UA connection; `path` is its JSON pointer. */
export function opcuaConnectionIssues(c: Record<string, unknown>, path: string): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const mode = c.securityMode ?? 'None';
  const policy = c.securityPolicy;
  if (mode !== 'None' && (policy === undefined || policy === 'None')) {
    issues.push({
      path: `${path}/securityPolicy`,
      message: `securityMode ${String(mode)} needs a security policy`,
      fix: POLICY_FIX,
    });
  }
  if (mode === 'None' && policy !== undefined && policy !== 'None') {
    issues.push({
      path: `${path}/securityMode`,
      message: `securityPolicy ${String(policy)} has no effect with securityMode None`,
      fix: 'set securityMode: SignAndEncrypt (or Sign), or remove securityPolicy',
    });
  }
  const hasCert = c.userCertificate !== undefined;
  const hasKey = c.userPrivateKey !== undefined;
  if (hasCert !== hasKey) {
    issues.push({
      path: `${path}/${hasCert ? 'userPrivateKey' : 'userCertificate'}`,
      message: `a certificate identity needs both userCertificate and userPrivateKey; only ${hasCert ? 'userCertificate' : 'userPrivateKey'} is given`,
      fix: hasCert
        ? 'add userPrivateKey: the PEM file of the private key of userCertificate'
        : 'add userCertificate: the PEM or DER file of the user certificate',
    });
  }
  if ((hasCert || hasKey) && c.username !== undefined) {
    issues.push({
      path: `${path}/username`,
      message: 'a connection has one user identity: both username and userCertificate are given',
      fix: 'remove username/password to log in with the certificate, or userCertificate/userPrivateKey to log in by name',
    });
  }
  if (c.password !== undefined && c.username === undefined) {
    issues.push({
      path: `${path}/password`,
      message: 'a password without a username',
      fix: 'add username, or remove password for an anonymous session',
    });
  }
  return issues;
}

/** Rules between the keys of one OPC UA tag, given its connection's mode. */
export function opcuaTagIssues(
  tag: Record<string, unknown>,
  path: string,
  connection: Record<string, unknown> | undefined,
): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const numeric = typeof tag.datatype === 'string' && NUMERIC_DATATYPES.includes(tag.datatype);
  const percent = tag.deadbandPercent;
  if (typeof tag.deadband === 'number' && tag.deadband > 0 && percent !== undefined) {
    issues.push({
      path: `${path}/deadbandPercent`,
      message: 'a tag has one deadband: both deadband and deadbandPercent are given',
      fix: 'keep deadband (absolute, in engineering units) or deadbandPercent (of the EURange), not both',
    });
  }
  for (const key of ['deadband', 'deadbandPercent'] as const) {
    const v = tag[key];
    if (typeof v === 'number' && v > 0 && typeof tag.datatype === 'string' && !numeric) {
      issues.push({
        path: `${path}/${key}`,
        message: `a deadband applies to numbers; this tag is ${tag.datatype}`,
        fix: `remove ${key}`,
      });
    }
  }
  if (typeof tag.nodeId === 'string' && isBrowsePath(tag.nodeId) && /\/\/|\/$/.test(tag.nodeId)) {
    issues.push({
      path: `${path}/nodeId`,
      message: `browse path "${tag.nodeId}" has an empty element`,
      fix: 'write it as /Objects/<folder>/<variable>, one browse name per element',
    });
  }
  if (connection?.mode === 'polling') {
    const subscriptionOnly = ['deadbandPercent', 'trigger'].filter((k) => tag[k] !== undefined);
    if (typeof tag.queueSize === 'number' && tag.queueSize > 1) subscriptionOnly.push('queueSize');
    for (const key of subscriptionOnly) {
      issues.push({
        path: `${path}/${key}`,
        message: `${key} applies to monitored items; connection "${String(connection.id)}" uses mode polling`,
        fix: `remove ${key}, or set mode: subscription on the connection`,
      });
    }
  }
  return issues;
}
