/**
 * Tags addressed by browse path ("/Objects/Machines/E001-CNC-001/spindleSpeed"): resolved to
 * NodeIds with TranslateBrowsePathsToNodeIds, once per session (a restarted server may number
 * its namespaces differently).
 *
 * A path starts at the Root folder; each element is a browse name, optionally prefixed with its
 * namespace index ("2:Machines"). Without a prefix the first element (Objects, Types, Views) is
 * in namespace 0 and the others in the connection's `browseNamespace` (default 1, the server's
 * own namespace).
 */
import {
  BrowsePath,
  type BrowsePathResult,
  type ClientSession,
  type NodeId,
  ReferenceTypeIds,
  resolveNodeId,
  StatusCodes,
} from 'node-opcua';
import { OPCUA_ERROR_CODES, OpcuaError } from './errors.js';

export interface PathElement {
  readonly namespaceIndex: number | undefined;
  readonly name: string;
}

export function parseBrowsePath(path: string): PathElement[] {
  return path
    .split('/')
    .slice(1)
    .map((raw) => {
      const m = /^(\d+):(.+)$/.exec(raw);
      return m === null
        ? { namespaceIndex: undefined, name: raw }
        : { namespaceIndex: Number(m[1]), name: m[2]! };
    });
}

function toBrowsePath(elements: readonly PathElement[], defaultNs: number): BrowsePath {
  return new BrowsePath({
    startingNode: resolveNodeId('RootFolder'),
    relativePath: {
      elements: elements.map((e, i) => ({
        referenceTypeId: resolveNodeId(ReferenceTypeIds.HierarchicalReferences),
        isInverse: false,
        includeSubtypes: true,
        targetName: { namespaceIndex: e.namespaceIndex ?? (i === 0 ? 0 : defaultNs), name: e.name },
      })),
    },
  });
}

function show(elements: readonly PathElement[], defaultNs: number): string {
  return `/${elements.map((e, i) => `${e.namespaceIndex ?? (i === 0 ? 0 : defaultNs)}:${e.name}`).join('/')}`;
}

type Translator = Pick<ClientSession, 'translateBrowsePath' | 'readNamespaceArray'>;

export type Resolution = { readonly nodeId: NodeId } | { readonly error: OpcuaError };

async function translate(
  session: Translator,
  paths: BrowsePath[],
  batch: number,
): Promise<BrowsePathResult[]> {
  const out: BrowsePathResult[] = [];
  for (let i = 0; i < paths.length; i += batch) {
    out.push(...(await session.translateBrowsePath(paths.slice(i, i + batch))));
  }
  return out;
}

/** The namespace index of unprefixed names, from the connection's browseNamespace URI. */
export async function defaultNamespace(session: Translator, uri: string | undefined): Promise<number> {
  if (uri === undefined) return 1;
  const array = await session.readNamespaceArray();
  const index = array.indexOf(uri);
  if (index < 0) {
    throw new OpcuaError(
      OPCUA_ERROR_CODES.browsePath,
      `browseNamespace "${uri}" is not in the server's namespace array: ${array.join(', ')}`,
    );
  }
  return index;
}

/**
 * Resolves each distinct path; a path that does not resolve gets an error naming how far it
 * did resolve, so the message points at the wrong element.
 */
export async function resolveBrowsePaths(
  session: Translator,
  paths: readonly string[],
  defaultNs: number,
  batch = 500,
): Promise<Map<string, Resolution>> {
  const unique = [...new Set(paths)];
  const parsed = unique.map(parseBrowsePath);
  const results = await translate(
    session,
    parsed.map((p) => toBrowsePath(p, defaultNs)),
    batch,
  );
  const out = new Map<string, Resolution>();
  const failed: number[] = [];
  results.forEach((r, i) => {
    const target = r.targets?.[0]?.targetId;
    if (r.statusCode.isGood() && target !== undefined) {
      out.set(unique[i]!, { nodeId: resolveNodeId(target.toString()) });
    } else failed.push(i);
  });
  if (failed.length === 0) return out;
  // Which prefix of each failed path resolves: one more request for all of them.
  const prefixes = failed.flatMap((i) => parsed[i]!.slice(0, -1).map((_, n) => ({ i, n: n + 1 })));
  const prefixResults = await translate(
    session,
    prefixes.map(({ i, n }) => toBrowsePath(parsed[i]!.slice(0, n), defaultNs)),
    batch,
  );
  for (const i of failed) {
    const elements = parsed[i]!;
    let deepest = 0;
    prefixes.forEach((p, k) => {
      if (p.i === i && prefixResults[k]?.statusCode.isGood() && p.n > deepest) deepest = p.n;
    });
    const status = results[i]?.statusCode ?? StatusCodes.BadNoMatch;
    const missing = elements[deepest];
    const where = deepest === 0 ? 'the Root folder' : show(elements.slice(0, deepest), defaultNs);
    out.set(unique[i]!, {
      error: new OpcuaError(
        OPCUA_ERROR_CODES.browsePath,
        `browse path ${unique[i]} does not resolve (${status.name}): ${where} has no child "${missing?.name ?? '?'}" in namespace ${missing?.namespaceIndex ?? (deepest === 0 ? 0 : defaultNs)}`,
        { statusCode: status.name },
      ),
    });
  }
  return out;
}
