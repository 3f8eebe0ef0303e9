/**
 * `wanji browse <endpoint>`: the address space of an OPC UA server as a tree, its endpoints,
 * or a `tags:` list for a gateway config.
 */
import { homedir, hostname } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  type BrowseConnection,
  browseTree,
  findByName,
  formatTree,
  listEndpoints,
  parseNodeId,
  snippetYaml,
  tagsSnippet,
  withBrowseSession,
} from '../gateway/southbound/opcua/browse.js';
import { OpcuaError } from '../gateway/southbound/opcua/errors.js';
import {
  opcuaConnectionIssues,
  SECURITY_MODES,
  SECURITY_POLICIES,
  type SecurityModeName,
  type SecurityPolicyName,
} from '../gateway/southbound/opcua/schema.js';
import { type CommandIo, UsageError } from './io.js';

const USAGE = `Usage: wanji browse <endpoint> [options]

Prints the address space of an OPC UA server as a tree (browse name, NodeId, datatype of
variables), or a ready \`tags:\` list for the variables under a node.

  wanji browse opc.tcp://192.168.1.20:4840
  wanji browse opc.tcp://192.168.1.20:4840 --node "ns=2;s=Machines" --depth 2
  wanji browse opc.tcp://192.168.1.20:4840 --snippet --machine E001-CNC-001
  wanji browse opc.tcp://192.168.1.20:4840 --endpoints

Options:
  --node ID            the node to start from (default: the Objects folder, i=85)
  --depth N            levels below it, 1..20 (default 3)
  --all                also expand the server's own nodes (namespace 0), e.g. Server
  --snippet            print a YAML tags: list of the variables under the node
  --machine ID         with --snippet: the machine the tags are for; without --node, the
                       first node with browse name ID (below Objects) is used
  --endpoints          list the server's endpoints: security modes, policies, user tokens

Security, as in a connection of the gateway config (docs/opcua.md):
  --security-mode M       None, Sign or SignAndEncrypt (default None)
  --security-policy P     ${SECURITY_POLICIES.filter((p) => p !== 'None').join(', ')}
  --username U, --password P
  --user-certificate F, --user-private-key F
  --data-dir DIR          the gateway's data directory: its PKI folder DIR/pki is used, with the
                          gateway's own certificate and application URI, so a server that
                          trusts the gateway trusts browse, and the reverse
  --pki-dir DIR           the PKI folder itself (without either: browse's own,
                          $XDG_DATA_HOME/wanji/browse-pki or ~/.local/share/wanji/browse-pki)
  --application-uri URI   the client's application URI: the one in the PKI folder's certificate
                          (default); a different one is refused (see wanji pki renew). A new
                          folder gets this, else urn:wanji:gateway:<host name>
  --timeout-ms N          request timeout (default 10000)
  -h, --help              this text

Exit codes: 0 done, 1 failed (server unreachable, refused, node unknown), 2 bad arguments.
`;

/**
 * Browse's own PKI folder when no gateway's is named: a per-user place (XDG data directory),
 * never a folder made in whatever directory the command runs in.
 */
export function browsePkiDir(env: NodeJS.ProcessEnv = process.env): string {
  const base =
    env.XDG_DATA_HOME !== undefined && env.XDG_DATA_HOME !== ''
      ? env.XDG_DATA_HOME
      : join(homedir(), '.local', 'share');
  return join(base, 'wanji', 'browse-pki');
}

const OPTIONS = {
  node: { type: 'string' },
  depth: { type: 'string' },
  all: { type: 'boolean' },
  snippet: { type: 'boolean' },
  machine: { type: 'string' },
  endpoints: { type: 'boolean' },
  'security-mode': { type: 'string' },
  'security-policy': { type: 'string' },
  username: { type: 'string' },
  password: { type: 'string' },
  'user-certificate': { type: 'string' },
  'user-private-key': { type: 'string' },
  'data-dir': { type: 'string' },
  'pki-dir': { type: 'string' },
  'application-uri': { type: 'string' },
  'timeout-ms': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

interface BrowseArgs {
  readonly help: boolean;
  readonly connection: BrowseConnection;
  readonly node: string | undefined;
  readonly depth: number;
  readonly all: boolean;
  readonly snippet: boolean;
  readonly machine: string | undefined;
  readonly endpoints: boolean;
}

function oneOf<T extends string>(name: string, v: string | undefined, allowed: readonly T[]): T | undefined {
  if (v === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(v))
    throw new UsageError(`--${name} must be one of ${allowed.join(', ')}; got "${v}"`);
  return v as T;
}

function int(name: string, v: string | undefined, min: number, max: number, def: number): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < min || n > max)
    throw new UsageError(`--${name} must be an integer ${min}..${max}; got "${v}"`);
  return n;
}

function parseRaw(args: string[]) {
  try {
    return parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
}

function parse(args: string[]): BrowseArgs {
  const parsed = parseRaw(args);
  const v = parsed.values;
  const [endpoint, ...extra] = parsed.positionals;
  if (v.help === true) return { help: true } as BrowseArgs;
  if (endpoint === undefined || !endpoint.startsWith('opc.tcp://')) {
    throw new UsageError('an endpoint such as opc.tcp://192.168.1.20:4840 is required');
  }
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
  if (v.machine !== undefined && v.snippet !== true) throw new UsageError('--machine goes with --snippet');
  const securityMode: SecurityModeName = oneOf('security-mode', v['security-mode'], SECURITY_MODES) ?? 'None';
  const securityPolicy: SecurityPolicyName | undefined = oneOf(
    'security-policy',
    v['security-policy'],
    SECURITY_POLICIES,
  );
  const connection = {
    endpoint,
    securityMode,
    securityPolicy,
    username: v.username,
    password: v.password,
    userCertificate: v['user-certificate'],
    userPrivateKey: v['user-private-key'],
    acceptUnknownServerCertificate: false,
    timeoutMs: int('timeout-ms', v['timeout-ms'], 100, 600_000, 10_000),
    pkiDir: v['pki-dir'] ?? (v['data-dir'] === undefined ? browsePkiDir() : join(v['data-dir'], 'pki')),
    ...(v['application-uri'] === undefined ? {} : { applicationUri: v['application-uri'] }),
    defaultApplicationUri: `urn:wanji:gateway:${hostname()}`,
  };
  const issues = opcuaConnectionIssues(connection, '');
  if (issues.length > 0) {
    const flag = (path: string) => `--${path.slice(1).replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
    throw new UsageError(issues.map((i) => `${flag(i.path)}: ${i.message} (${i.fix})`).join('\n'));
  }
  return {
    help: false,
    connection,
    node: v.node,
    depth: int('depth', v.depth, 1, 20, 3),
    all: v.all === true,
    snippet: v.snippet === true,
    machine: v.machine,
    endpoints: v.endpoints === true,
  };
}

async function browse(a: BrowseArgs, io: CommandIo): Promise<string> {
  if (a.endpoints) {
    const list = await listEndpoints(a.connection.endpoint, a.connection.timeoutMs);
    const row = (mode: string, policy: string, tokens: string, url: string) =>
      `${mode.padEnd(15)} ${policy.padEnd(22)} ${tokens.padEnd(33)} ${url}\n`;
    return [
      row('securityMode', 'securityPolicy', 'user identities', 'url'),
      ...list.map((e) => row(e.securityMode, e.securityPolicy, e.userTokens.join(', '), e.url)),
    ].join('');
  }
  return withBrowseSession(a.connection, io.logger, async (session) => {
    const options = { depth: a.depth, standard: a.all };
    let start = parseNodeId(a.node ?? 'i=85');
    if (a.snippet && a.node === undefined && a.machine !== undefined) {
      const found = findByName(
        await browseTree(session, start, { ...options, depth: Math.max(a.depth, 4) }),
        a.machine,
      );
      if (found === undefined) {
        throw new OpcuaError(
          'WANJI_E_OPCUA_BROWSE_PATH',
          `no node named "${a.machine}" below Objects; give --node`,
        );
      }
      start = parseNodeId(found.nodeId);
    }
    const tree = await browseTree(session, start, options);
    if (!a.snippet) return formatTree(tree);
    const who = a.machine === undefined ? '' : `machine ${a.machine}: `;
    return snippetYaml(
      tagsSnippet(tree),
      `${who}the variables under ${tree.nodeId} (${tree.browseName}) on ${a.connection.endpoint}; paste under the machine`,
    );
  });
}

export async function runBrowseCommand(args: string[], io: CommandIo): Promise<number> {
  let a: BrowseArgs;
  try {
    a = parse(args);
  } catch (err) {
    io.stderr.write(`wanji browse: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (a.help) {
    io.stdout.write(USAGE);
    return 0;
  }
  try {
    io.stdout.write(await browse(a, io));
    return 0;
  } catch (err) {
    const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
    const code = err instanceof OpcuaError ? ` [${err.code}]` : '';
    io.stderr.write(`wanji browse: ${message}${code}\n`);
    return 1;
  }
}
