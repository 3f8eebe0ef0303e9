import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Registry } from '../hub/registry/registry.js';
import { AuditLog } from '../hub/security/audit.js';
import {
  generatePassword,
  PASSWORD_MIN,
  USER_ROLES,
  UserError,
  type UserRecord,
  UserStore,
} from '../hub/security/users.js';
import { openHubRegistry, workOnRegistry } from './hub-data-dir.js';
import { type CommandIo, cliActor, keptSecretFile, table, UsageError, when } from './io.js';

const USAGE = `Usage: wanji user <create|list|passwd|delete> [options]

The web app's user accounts (docs/api.md, "Signing in"). Only a hash of each password is
stored. Roles and scopes are those of API tokens; child-hub is for tokens only.

  wanji user create NAME --role R [--regions C,C] [--enterprise E] [--password-file F]
      without --password-file a password is generated and printed once
      --role R        admin | operator | bureau | enterprise
      --regions C,C   role bureau: the region codes it is limited to (none = the whole city)
      --enterprise E  role enterprise: the one enterprise it may see
      --password-file F
                      a file holding the password (at least ${PASSWORD_MIN} characters; a
                      trailing line break is ignored)
  wanji user list                    every user, with role, scope, state and last sign-in
  wanji user passwd NAME [--password-file F]
                                     sets a new password (generated and printed when no
                                     file); ends the user's sessions
  wanji user delete NAME             deletes the user; its sessions end at once

Failed sign-ins are throttled in the running hub's memory (as MQTT logins): they end with
their one-minute window, so there is nothing to unlock.

Options for every subcommand:
  -c, --config F    the hub's YAML config, to find its data directory
  -d, --data-dir D  the hub's data directory (default: ./wanji-data)
  --help            this help
`;

const SUBCOMMANDS = ['create', 'list', 'passwd', 'delete'];

/** `a,b, c` → ['a', 'b', 'c']. */
const list = (text: string | undefined): string[] =>
  text === undefined
    ? []
    : text
        .split(',')
        .map((x) => x.trim())
        .filter((x) => x !== '');

function scopeText(u: UserRecord): string {
  if (u.enterprise !== null) return `enterprise ${u.enterprise}`;
  if (u.regions.length > 0) return `regions ${u.regions.join(',')}`;
  return u.role === 'bureau' ? 'whole city' : '-';
}

/** The password in `file`, without its trailing line break; throws UsageError. */
async function passwordFrom(file: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new UsageError(
      `cannot read --password-file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
    );
  }
  return text.replace(/\r?\n$/, '');
}

export async function runUserCommand(args: string[], io: CommandIo): Promise<number> {
  const [sub, ...rest] = args;
  let values: {
    role?: string;
    regions?: string;
    enterprise?: string;
    'password-file'?: string;
    config?: string;
    'data-dir'?: string;
    help?: boolean;
  };
  let positionals: string[];
  let password: string | undefined;
  try {
    ({ values, positionals } = parseArgs({
      args: rest,
      options: {
        role: { type: 'string' },
        regions: { type: 'string' },
        enterprise: { type: 'string' },
        'password-file': { type: 'string' },
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
    if (!SUBCOMMANDS.includes(sub)) throw new UsageError(`unknown subcommand "${sub}"`);
    const wanted = sub === 'list' ? 0 : 1;
    if (positionals.length !== wanted) {
      throw new UsageError(
        wanted === 0 ? `unexpected argument "${positionals[0]}"` : `${sub} needs one user name`,
      );
    }
    if (sub === 'create' && values.role === undefined) {
      throw new UsageError(`create needs --role (${USER_ROLES.join(', ')})`);
    }
    if (sub !== 'create' && (values.role ?? values.regions ?? values.enterprise) !== undefined) {
      throw new UsageError('--role, --regions and --enterprise are for create');
    }
    if (sub !== 'create' && sub !== 'passwd' && values['password-file'] !== undefined) {
      throw new UsageError('--password-file is for create and passwd');
    }
    if (values['password-file'] !== undefined) password = await passwordFrom(values['password-file']);
  } catch (err) {
    io.stderr.write(`wanji user: ${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
    return 2;
  }

  const opened = await openHubRegistry('user', { dataDir: values['data-dir'], config: values.config }, io);
  if (typeof opened === 'number') return opened;
  const { registry, dataDir } = opened;
  const users = new UserStore(registry.database, new AuditLog(registry.database));
  const by = cliActor();
  const name = positionals[0]!;
  const refused = (err: unknown): number | undefined =>
    err instanceof UserError ? (err.code === 'WANJI_E_USER_INVALID' ? 2 : 1) : undefined;
  return workOnRegistry('user', registry, io, refused, async () => {
    if (sub === 'create') {
      const regions = list(values.regions);
      const { record, password: generated } = users.create(
        {
          name,
          role: values.role!,
          ...(regions.length === 0 ? {} : { regions }),
          ...(values.enterprise === undefined ? {} : { enterprise: values.enterprise }),
          ...(password === undefined ? {} : { password }),
        },
        by,
      );
      io.stdout.write(
        generated === undefined
          ? `user ${record.name} (${record.role}, ${scopeText(record)}) created in ${dataDir}\n`
          : `${generated}\n\nUser ${record.name} (${record.role}, ${scopeText(record)}) created in ${dataDir}.\nThat is its password, shown this once: sign in with it on the hub's web page.\n`,
      );
    } else if (sub === 'list') {
      const rows = users.list();
      io.stdout.write(
        rows.length === 0
          ? `no users in ${dataDir}\n`
          : `${table([
              ['NAME', 'ROLE', 'SCOPE', 'STATE', 'SESSIONS', 'CREATED', 'LAST SIGN-IN'],
              ...rows.map((u) => [
                u.name,
                u.role,
                scopeText(u),
                u.disabledAt === null ? 'active' : 'disabled',
                String(u.sessions),
                when(u.createdAt),
                when(u.lastLoginAt),
              ]),
            ])}\n`,
      );
    } else if (sub === 'passwd') {
      const generated = password === undefined ? generatePassword() : undefined;
      const record = users.update(name, { password: password ?? generated! }, by);
      io.stdout.write(
        generated === undefined
          ? `password of user ${record.name} changed; its sessions have ended\n`
          : `${generated}\n\nNew password of user ${record.name}, shown this once; its sessions have ended.\n`,
      );
    } else {
      const record = users.delete(name, by);
      io.stdout.write(`user ${record.name} deleted; its sessions have ended\n`);
    }
    return 0;
  });
}

/**
 * The demo's web user `admin` (role admin) and its password in `<dataDir>/admin-password`
 * (mode 0600): the one there if it still signs in, else a new one (the user created, or given
 * the new password). Returns the password and the file.
 */
export async function ensureDemoAdminUser(
  registry: Registry,
  dataDir: string,
): Promise<{ name: string; password: string; path: string }> {
  const name = 'admin';
  const path = join(dataDir, 'admin-password');
  const users = new UserStore(registry.database, new AuditLog(registry.database));
  const { secret: password } = await keptSecretFile(
    path,
    (kept) => users.checkPassword(name, kept),
    () => {
      const fresh = generatePassword();
      const by = cliActor();
      if (users.get(name) === undefined) users.create({ name, role: 'admin', password: fresh }, by);
      else users.update(name, { password: fresh, role: 'admin', disabled: false }, by);
      return fresh;
    },
  );
  return { name, password, path };
}
