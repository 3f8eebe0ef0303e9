import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ROLES } from '../hub/api/access.js';
import type { Registry } from '../hub/registry/registry.js';
import { AuditLog } from '../hub/security/audit.js';
import { parseExpiry, TokenError, type TokenRecord, TokenStore } from '../hub/security/tokens.js';
import { openHubRegistry, workOnRegistry } from './hub-data-dir.js';
import { type CommandIo, cliActor, keptSecretFile, table, UsageError, when } from './io.js';

const USAGE = `Usage: wanji token <create|list|revoke> [options]

API bearer tokens for the hub (docs/api.md). Only a hash of each token is stored.

  wanji token create --role R [--enterprise E] [--region C ...] [--name N] [--expires 90d]
  wanji token create --role child-hub --hub-id H [--regions C,C] [--enterprises E,E] ...
      prints the new token once: keep it, it cannot be shown again
      --role R        admin | operator | bureau | enterprise | child-hub
      --enterprise E  role enterprise: the one enterprise it may see
      --region C      role bureau: a region code it is limited to (repeat for several;
                      none = the whole city); role child-hub: a region it may report
      --regions C,C   the same, several at once
      --hub-id H      role child-hub: the child hub's hostId, the only hub id its
                      reports may carry
      --enterprises E,E
                      role child-hub: enterprise codes it may report besides its
                      regions' (a child-hub token needs regions, enterprises or both)
      --name N        who or what holds it (shown in the list and the audit log)
      --expires T     a duration (90d, 12h, 30m) or a date (2027-06-30); default: never
  wanji token list      every token, with its role, scope, status and last use
  wanji token revoke ID refuses the token from the hub's next request on

Options for every subcommand:
  -c, --config F    the hub's YAML config, to find its data directory
  -d, --data-dir D  the hub's data directory (default: ./wanji-data)
  --help            this help
`;

/** `a,b, c` → ['a', 'b', 'c']. */
const list = (text: string | undefined): string[] =>
  text === undefined
    ? []
    : text
        .split(',')
        .map((x) => x.trim())
        .filter((x) => x !== '');

function status(t: TokenRecord, now: number): string {
  if (t.revokedAt !== null) return 'revoked';
  if (t.expiresAt !== null && t.expiresAt <= now) return 'expired';
  return 'active';
}

function scopeText(t: TokenRecord): string {
  if (t.role === 'child-hub') {
    return [
      `hub ${t.hubId ?? '?'}`,
      ...(t.regions.length > 0 ? [`regions ${t.regions.join(',')}`] : []),
      ...(t.enterprises.length > 0 ? [`enterprises ${t.enterprises.join(',')}`] : []),
    ].join(' ');
  }
  if (t.enterprise !== null) return `enterprise ${t.enterprise}`;
  if (t.regions.length > 0) return `regions ${t.regions.join(',')}`;
  return t.role === 'bureau' ? 'whole city' : '-';
}

export async function runTokenCommand(args: string[], io: CommandIo): Promise<number> {
  const [sub, ...rest] = args;
  let values: {
    role?: string;
    enterprise?: string;
    region?: string[];
    regions?: string;
    'hub-id'?: string;
    enterprises?: string;
    name?: string;
    expires?: string;
    config?: string;
    'data-dir'?: string;
    help?: boolean;
  };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: rest,
      options: {
        role: { type: 'string' },
        enterprise: { type: 'string' },
        region: { type: 'string', multiple: true },
        regions: { type: 'string' },
        'hub-id': { type: 'string' },
        enterprises: { type: 'string' },
        name: { type: 'string' },
        expires: { type: 'string' },
        config: { type: 'string', short: 'c' },
        'data-dir': { type: 'string', short: 'd' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: true,
    }));
    if (sub === undefined) {
      io.stderr.write(USAGE);
      return 2;
    }
    if (sub === '--help' || sub === '-h' || values.help) {
      io.stdout.write(USAGE);
      return 0;
    }
    if (!['create', 'list', 'revoke'].includes(sub)) throw new UsageError(`unknown subcommand "${sub}"`);
    if (sub === 'create' && values.role === undefined) {
      throw new UsageError(`create needs --role (${ROLES.join(', ')})`);
    }
    if (sub === 'revoke' && positionals.length !== 1) throw new UsageError('revoke needs one token id');
    if (sub !== 'revoke' && positionals.length > 0) {
      throw new UsageError(`unexpected argument "${positionals[0]}"`);
    }
  } catch (err) {
    io.stderr.write(`wanji token: ${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
    return 2;
  }

  const opened = await openHubRegistry('token', { dataDir: values['data-dir'], config: values.config }, io);
  if (typeof opened === 'number') return opened;
  const { registry, dataDir } = opened;
  const audit = new AuditLog(registry.database);
  const tokens = new TokenStore(registry.database, audit);
  const by = cliActor();
  const now = Date.now();
  const regions = [...(values.region ?? []), ...list(values.regions)];
  const enterprises = list(values.enterprises);
  const refused = (err: unknown): number | undefined =>
    err instanceof TokenError ? (err.code === 'WANJI_E_TOKEN_NOT_FOUND' ? 1 : 2) : undefined;
  return workOnRegistry('token', registry, io, refused, async () => {
    if (sub === 'create') {
      const { token, record } = tokens.create(
        {
          role: values.role!,
          ...(values.name === undefined ? {} : { name: values.name }),
          ...(values.enterprise === undefined ? {} : { enterprise: values.enterprise }),
          ...(regions.length === 0 ? {} : { regions }),
          ...(values['hub-id'] === undefined ? {} : { hubId: values['hub-id'] }),
          ...(enterprises.length === 0 ? {} : { enterprises }),
          ...(values.expires === undefined ? {} : { expiresAt: parseExpiry(values.expires, now) }),
        },
        by,
      );
      io.stdout.write(
        `${token}\n\nToken ${record.id} (${record.role}, ${scopeText(record)}, expires ${when(record.expiresAt)}) created in ${dataDir}.\nThis is the only time it is shown; send it as "Authorization: Bearer <token>".\n`,
      );
    } else if (sub === 'list') {
      const rows = tokens.list();
      if (rows.length === 0) {
        io.stdout.write(`no tokens in ${dataDir}\n`);
      } else {
        io.stdout.write(
          `${table([
            ['ID', 'ROLE', 'SCOPE', 'STATUS', 'NAME', 'CREATED', 'EXPIRES', 'LAST USED'],
            ...rows.map((t) => [
              t.id,
              t.role,
              scopeText(t),
              status(t, now),
              t.name,
              when(t.createdAt),
              when(t.expiresAt),
              when(t.lastUsedAt),
            ]),
          ])}\n`,
        );
      }
    } else {
      const record = tokens.revoke(positionals[0]!, by);
      io.stdout.write(`token ${record.id} (${record.name}) revoked\n`);
    }
    return 0;
  });
}

/**
 * The demo's admin token in `<dataDir>/admin-token` (mode 0600): the one there if it still
 * works, else a new one. Returns the token and the file.
 */
export async function ensureAdminTokenFile(
  registry: Registry,
  dataDir: string,
): Promise<{ token: string; path: string; created: boolean }> {
  const path = join(dataDir, 'admin-token');
  const tokens = new TokenStore(registry.database, new AuditLog(registry.database));
  const { secret: token, created } = await keptSecretFile(
    path,
    async (t) => (await tokens.verify(t)).ok,
    () => tokens.create({ role: 'admin', name: 'wanji demo admin' }, cliActor()).token,
  );
  return { token, path, created };
}
