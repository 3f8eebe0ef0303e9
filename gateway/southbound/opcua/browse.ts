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
} from 'node-opcua';
import type { Logger } from 'pino';
import { stringify } from 'yaml';
import { openPki } from './pki.js';
import type { OpcuaConnectionConfig } from './schema.js';
import { classifyConnectError, messageSecurity, userIdentity } from './security.js';

export type BrowseConnection = Pick<
  OpcuaConnectionConfig,
  | 'endpoint'
  | 'securityMode'
  | 'securityPolicy'
  | 'username'
  | 'password'
  | 'userCertificate'
  | 'userPrivateKey'
  | 'acceptUnknownServerCertificate'
  | 'timeoutMs'
> & { readonly pkiDir: string; readonly applicationUri: string };

function newClient(c: BrowseConnection, pki?: Awaited<ReturnType<typeof openPki>>): OPCUAClient {
  return OPCUAClient.create({
    applicationName: 'wanji-browse',
    applicationUri: c.applicationUri,
    ...(pki === undefined
      ? {}
      : {
          clientCertificateManager: pki.manager,
          certificateFile: pki.paths.certificateFile,
          privateKeyFile: pki.paths.privateKeyFile,
        }),
    ...messageSecurity(c as OpcuaConnectionConfig),
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
  const pki = await openPki(c.pkiDir, c.applicationUri, c.acceptUnknownServerCertificate, log);
  const client = newClient(c, pki);
  try {
    let session: ClientSession;
    try {
      await client.connect(c.endpoint);
      session = await client.createSession(userIdentity(c as OpcuaConnectionConfig));
    } catch (err) {
      throw classifyConnectError(err, c as OpcuaConnectionConfig, pki.paths.root);
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
  readonly children: BrowseNode[];
}

const BASIC_NAMES: Readonly<Partial<Record<DataType, string>>> = Object.fromEntries(
  Object.entries(DataType)
    .filter(([, v]) => typeof v === 'number')
    .map(([k, v]) => [v, k]),
);

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
    }
    level = next;
  }
  return root;
}

/** The tree, indented two spaces a level: browse name, NodeId, and the datatype of variables. */
export function formatTree(root: BrowseNode): string {
  const lines: string[] = [];
  const walk = (n: BrowseNode, indent: string) => {
    const type = n.datatype === undefined ? '' : `  ${n.datatype}`;
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
}

/** A tag per scalar variable under `root`, named by its path below it ("Axis1.load"). */
export function tagsSnippet(root: BrowseNode): Snippet {
  const tags: Snippet['tags'] = [];
  const skipped: string[] = [];
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
        }
      }
      walk(c, p);
    }
  };
  walk(root, []);
  return { tags, skipped };
}

/** The snippet as YAML: a `tags:` list to paste under a machine. */
export function snippetYaml(s: Snippet, header: string): string {
  const skipped = s.skipped.map((x) => `# skipped ${x}: not a scalar of a publishable type\n`).join('');
  return `# ${header}\n${skipped}${stringify({ tags: s.tags }, { lineWidth: 0 })}`;
}

export function parseNodeId(text: string): NodeId {
  return resolveNodeId(text);
}
