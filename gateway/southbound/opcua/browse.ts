/**
 * Exploring a server for people writing a gateway config (`wanji browse`): its endpoints, its
 * address space as a tree, and a `tags:` list for the variables under a node.
 */
import {
  AttributeIds,
  BrowseDirection,
  browseAll,
  type ClientSession,
  DataType,
  findBasicDataType,
  MessageSecurityMode,
  NodeClass,
  NodeClassMask,
  type NodeId,
  OPCUAClient,
  ReferenceTypeIds,
  resolveNodeId,
  VariantArrayType,
} from 'node-opcua';
import type { Logger } from 'pino';
import { stringify } from 'yaml';
import { type OpenPki, openPki } from './pki.js';
import type { OpcuaConnectionConfig } from './schema.js';
import { type ConnectionSecurity, classifyConnectError, messageSecurity, userIdentity } from './security.js';

export type BrowseConnection = ConnectionSecurity &
  Pick<OpcuaConnectionConfig, 'acceptUnknownServerCertificate' | 'timeoutMs'> & {
    readonly pkiDir: string;
    /** Given on the command line: must be the PKI folder's (see openPki). */
    readonly applicationUri?: string;
    /** When the PKI folder has no certificate yet. */
    readonly defaultApplicationUri: string;
  };

function newClient(c: BrowseConnection, pki: OpenPki): OPCUAClient {
  return OPCUAClient.create({
    applicationName: 'wanji-browse',
    applicationUri: pki.applicationUri,
    clientCertificateManager: pki.manager,
    certificateFile: pki.paths.certificateFile,
    privateKeyFile: pki.paths.privateKeyFile,
    ...messageSecurity(c),
    endpointMustExist: false,
    defaultTransactionTimeout: c.timeoutMs,
    transportTimeout: c.timeoutMs,
    connectionStrategy: { maxRetry: 0, initialDelay: 100, maxDelay: 200 },
  });
}

/** Runs `fn` in a session with the connection's security and identity, then closes it. */
export async function withBrowseSession<T>(
  c: BrowseConnection,
  log: Logger,
  fn: (session: ClientSession) => Promise<T>,
): Promise<T> {
  const pki = await openPki(
    c.pkiDir,
    { applicationUri: c.applicationUri, defaultUri: c.defaultApplicationUri, who: 'wanji browse' },
    c.acceptUnknownServerCertificate,
    log,
  );
  const client = newClient(c, pki);
  try {
    let session: ClientSession;
    try {
      await client.connect(c.endpoint);
      session = await client.createSession(userIdentity(c));
    } catch (err) {
      throw classifyConnectError(err, c, pki.paths.root);
    }
    try {
      return await fn(session);
    } finally {
      await session.close().catch(() => undefined);
    }
  } finally {
    await client.disconnect().catch(() => undefined);
    await pki.manager.dispose().catch(() => undefined);
  }
}

const TOKEN_TYPES = ['Anonymous', 'UserName', 'Certificate', 'IssuedToken'];

/** NodeIds as people write them: "i=85" rather than "ns=0;i=85". */
function show(id: { toString(): string }): string {
  return id.toString().replace(/^ns=0;/, '');
}

export interface EndpointInfo {
  readonly url: string;
  readonly securityMode: string;
  readonly securityPolicy: string;
  readonly userTokens: readonly string[];
}

/** The server's endpoints, asked over an unsecured channel (GetEndpoints needs none). */
export async function listEndpoints(endpoint: string, timeoutMs: number): Promise<EndpointInfo[]> {
  const client = OPCUAClient.create({
    endpointMustExist: false,
    defaultTransactionTimeout: timeoutMs,
    transportTimeout: timeoutMs,
    connectionStrategy: { maxRetry: 0, initialDelay: 100, maxDelay: 200 },
  });
  try {
    await client.connect(endpoint);
    const endpoints = await client.getEndpoints();
    return endpoints.map((e) => ({
      url: e.endpointUrl ?? endpoint,
      securityMode: MessageSecurityMode[e.securityMode] ?? String(e.securityMode),
      securityPolicy: (e.securityPolicyUri ?? '').split('#').at(-1) ?? '',
      userTokens: [
        ...new Set((e.userIdentityTokens ?? []).map((t) => TOKEN_TYPES[t.tokenType] ?? String(t.tokenType))),
      ],
    }));
  } finally {
    await client.disconnect().catch(() => undefined);
  }
}

export interface BrowseNode {
  readonly browseName: string;
  readonly nodeId: string;
  readonly nodeClass: string;
  /** Variables: the built-in type of their value ("Double", "LocalizedText", …), "[]" for arrays. */
  datatype?: string;
  /**
   * Variables whose DataType is abstract (BaseDataType, Number, …): that type's name. `datatype`
   * is then the type of the value the server holds now.
   */
  declaredType?: string;
  readonly children: BrowseNode[];
}

const BASIC_NAMES: Readonly<Partial<Record<DataType, string>>> = Object.fromEntries(
  Object.entries(DataType)
    .filter(([, v]) => typeof v === 'number')
    .map(([k, v]) => [v, k]),
);

/** DataTypes that say nothing of the value: its type is that of the Variant the server sends. */
const ABSTRACT: ReadonlySet<DataType> = new Set([DataType.Null, DataType.Variant]);

async function displayName(
  session: ClientSession,
  typeId: NodeId | undefined,
  cache: Map<string, string | undefined>,
): Promise<string | undefined> {
  if (typeId === undefined || typeId === null) return undefined;
  const key = typeId.toString();
  if (!cache.has(key)) {
    const [dv] = await session.read([{ nodeId: typeId, attributeId: AttributeIds.BrowseName }]);
    const name: unknown = dv?.value.value?.name;
    cache.set(key, typeof name === 'string' ? name : undefined);
  }
  return cache.get(key);
}

/**
 * Variables of an abstract DataType (open62541's `current-time-datasource` is a BaseDataType):
 * one Read of their values tells the built-in type they really carry, as a commissioning
 * engineer looking at the value would. One without a value yet is shown with its declared type.
 */
async function typeFromValue(session: ClientSession, nodes: readonly BrowseNode[]): Promise<void> {
  if (nodes.length === 0) return;
  const values = await session.read(
    nodes.map((n) => ({ nodeId: n.nodeId, attributeId: AttributeIds.Value })),
  );
  for (const [k, n] of nodes.entries()) {
    const variant = values[k]?.value;
    const name = variant === undefined ? undefined : BASIC_NAMES[variant.dataType];
    if (variant === undefined || variant.dataType === DataType.Null || name === undefined) {
      n.datatype = `${n.declaredType}, no value yet`;
      n.declaredType = undefined;
      continue;
    }
    n.datatype = `${name}${variant.arrayType === VariantArrayType.Scalar ? '' : '[]'}`;
  }
}

export interface BrowseOptions {
  readonly depth: number;
  /** Expand namespace-0 nodes below the start (the server's own model: large, rarely wanted). */
  readonly standard: boolean;
}

/** Browses `start` down to `depth` levels, one Browse and one Read request per level. */
export async function browseTree(
  session: ClientSession,
  start: NodeId,
  o: BrowseOptions,
): Promise<BrowseNode> {
  const [name] = await session.read([{ nodeId: start, attributeId: AttributeIds.BrowseName }]);
  const [cls] = await session.read([{ nodeId: start, attributeId: AttributeIds.NodeClass }]);
  const root: BrowseNode = {
    browseName: String(name?.value.value?.name ?? start.toString()),
    nodeId: show(start),
    nodeClass: NodeClass[Number(cls?.value.value)] ?? 'Object',
    children: [],
  };
  const basic = new Map<string, DataType>();
  const names = new Map<string, string | undefined>();
  let level: BrowseNode[] = [root];
  for (let d = 0; d < o.depth && level.length > 0; d++) {
    const expandable = level.filter((n) => n === root || o.standard || !/^i=\d+$/.test(n.nodeId));
    if (expandable.length === 0) break;
    const results = await browseAll(
      session,
      expandable.map((n) => ({
        nodeId: n.nodeId,
        referenceTypeId: ReferenceTypeIds.HierarchicalReferences,
        includeSubtypes: true,
        browseDirection: BrowseDirection.Forward,
        nodeClassMask: NodeClassMask.Object | NodeClassMask.Variable,
        resultMask: 0x3f,
      })),
    );
    const next: BrowseNode[] = [];
    const variables: BrowseNode[] = [];
    results.forEach((r, i) => {
      const parent = expandable[i]!;
      for (const ref of r.references ?? []) {
        const child: BrowseNode = {
          browseName: ref.browseName.name ?? '',
          nodeId: show(ref.nodeId),
          nodeClass: NodeClass[ref.nodeClass] ?? '?',
          children: [],
        };
        parent.children.push(child);
        next.push(child);
        if (ref.nodeClass === NodeClass.Variable) variables.push(child);
      }
    });
    if (variables.length === 0) {
      level = next;
      continue;
    }
    const attrs = await session.read(
      variables.flatMap((v) => [
        { nodeId: v.nodeId, attributeId: AttributeIds.DataType },
        { nodeId: v.nodeId, attributeId: AttributeIds.ValueRank },
      ]),
    );
    const abstract: BrowseNode[] = [];
    for (const [k, v] of variables.entries()) {
      const typeId = attrs[2 * k]?.value.value as NodeId | undefined;
      const rank = Number(attrs[2 * k + 1]?.value.value ?? -1);
      let type: DataType | undefined;
      if (typeId !== undefined && typeId !== null) {
        const key = typeId.toString();
        if (!basic.has(key))
          basic.set(key, await findBasicDataType(session, typeId).catch(() => DataType.Null));
        type = basic.get(key);
      }
      v.datatype = `${BASIC_NAMES[type ?? DataType.Null] ?? '?'}${rank >= 0 ? '[]' : ''}`;
      if (type === undefined || ABSTRACT.has(type)) {
        v.declaredType = (await displayName(session, typeId, names)) ?? v.datatype;
        abstract.push(v);
      }
    }
    await typeFromValue(session, abstract);
    level = next;
  }
  return root;
}

/** The tree, indented two spaces a level: browse name, NodeId, and the datatype of variables. */
export function formatTree(root: BrowseNode): string {
  const lines: string[] = [];
  const walk = (n: BrowseNode, indent: string) => {
    const declared = n.declaredType === undefined ? '' : ` (declared ${n.declaredType}; type of its value)`;
    const type = n.datatype === undefined ? '' : `  ${n.datatype}${declared}`;
    lines.push(`${indent}${n.browseName}  ${n.nodeId}${type}`);
    for (const c of n.children) walk(c, `${indent}  `);
  };
  walk(root, '');
  return `${lines.join('\n')}\n`;
}

/** The first node (breadth first) with this browse name. */
export function findByName(root: BrowseNode, name: string): BrowseNode | undefined {
  const queue = [root];
  for (let n = queue.shift(); n !== undefined; n = queue.shift()) {
    if (n.browseName === name) return n;
    queue.push(...n.children);
  }
  return undefined;
}

/** Built-in types → the tag datatype they are published as. */
const TAG_DATATYPE: Readonly<Record<string, string>> = {
  Boolean: 'Boolean',
  SByte: 'Int8',
  Byte: 'UInt8',
  Int16: 'Int16',
  UInt16: 'UInt16',
  Int32: 'Int32',
  UInt32: 'UInt32',
  Int64: 'Int64',
  UInt64: 'UInt64',
  Float: 'Float',
  Double: 'Double',
  String: 'String',
  LocalizedText: 'String',
  DateTime: 'DateTime',
};

export interface Snippet {
  readonly tags: Array<{ name: string; nodeId: string; datatype: string }>;
  /** Variables left out, with why. */
  readonly skipped: string[];
  /** Tags whose datatype was read from the value (their DataType is abstract). */
  readonly fromValue: string[];
}

/** A tag per scalar variable under `root`, named by its path below it ("Axis1.load"). */
export function tagsSnippet(root: BrowseNode): Snippet {
  const tags: Snippet['tags'] = [];
  const skipped: string[] = [];
  const fromValue: string[] = [];
  const used = new Set<string>();
  const walk = (n: BrowseNode, path: string[]) => {
    for (const c of n.children) {
      const p = [...path, c.browseName];
      if (c.nodeClass === 'Variable') {
        const datatype = TAG_DATATYPE[c.datatype ?? ''];
        if (datatype === undefined) skipped.push(`${c.nodeId} (${c.datatype ?? 'unknown type'})`);
        else {
          const base = p.join('.').replace(/[+#/\s\p{Cc}]/gu, '_');
          let name = base;
          for (let i = 2; used.has(name); i++) name = `${base}_${i}`;
          used.add(name);
          tags.push({ name, nodeId: c.nodeId, datatype });
          if (c.declaredType !== undefined)
            fromValue.push(`${name} is declared ${c.declaredType}: ${datatype} is the type of its value now`);
        }
      }
      walk(c, p);
    }
  };
  walk(root, []);
  return { tags, skipped, fromValue };
}

/** The snippet as YAML: a `tags:` list to paste under a machine. */
export function snippetYaml(s: Snippet, header: string): string {
  const skipped = s.skipped.map((x) => `# skipped ${x}: not a scalar of a publishable type\n`).join('');
  const fromValue = s.fromValue.map((x) => `# ${x}\n`).join('');
  return `# ${header}\n${skipped}${fromValue}${stringify({ tags: s.tags }, { lineWidth: 0 })}`;
}

export function parseNodeId(text: string): NodeId {
  return resolveNodeId(text);
}
