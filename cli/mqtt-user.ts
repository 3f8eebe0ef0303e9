import { parseArgs } from 'node:util';
import { HubError } from '../hub/errors.js';
import { type MqttCredential, MqttCredentialStore } from '../hub/security/mqtt-credentials.js';
import { openHubRegistry, workOnRegistry } from './hub-data-dir.js';
import { type CommandIo, cliActor, table, UsageError, when } from './io.js';

const USAGE = `Usage: wanji mqtt-user <add|list|revoke> [options]

MQTT credentials for gateways (docs/security.md). Each binds a user name to one Sparkplug
group (the enterprise) and edge node (the gateway): it may publish and subscribe only as
that gateway. Only a hash of each password is stored.

  wanji mqtt-user add <group> <node> [--username U]
      prints the new password once: put it in the gateway's config (mqtt.username,
      mqtt.password); it cannot be shown again
      --username U    the user name (default: <group>.<node>)
      Ids and user names may hold spaces (Sparkplug allows them): quote them, as in
      wanji mqtt-user add "Sparkplug B Devices" "Python Edge Node 1"
  wanji mqtt-user list          every credential, with its gateway and status
  wanji mqtt-user revoke <user> refuses its next login; a running hub also drops its
                                connections within a few seconds

Options for every subcommand:
  -c, --config F    the hub's YAML config, to find its data directory
  -d, --data-dir D  the hub's data directory (default: ./wanji-data)
  --help            this help
`;

function listText(rows: MqttCredential[]): string {
  return table([
    ['USER', 'GROUP', 'NODE', 'STATUS', 'CREATED', 'BY', 'REVOKED'],
    ...rows.map((c) => [
      c.username,
      c.group,
      c.node,
      c.revokedAt === undefined ? 'active' : 'revoked',
      when(c.createdAt),
      c.createdBy,
      when(c.revokedAt),
    ]),
  ]);
}

export async function runMqttUserCommand(args: string[], io: CommandIo): Promise<number> {
  const [sub, ...rest] = args;
  let values: { username?: string; config?: string; 'data-dir'?: string; help?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: rest,
      options: {
        username: { type: 'string', short: 'u' },
        config: { type: 'string', short: 'c' },
        'data-dir': { type: 'string', short: 'd' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: true,
    }));
    if (sub === undefined || sub === '--help' || sub === '-h' || values.help) {
      io.stdout.write(USAGE);
      return sub === undefined ? 2 : 0;
    }
    if (!['add', 'list', 'revoke'].includes(sub)) throw new UsageError(`unknown subcommand "${sub}"`);
    const wanted = { add: 2, list: 0, revoke: 1 }[sub as 'add' | 'list' | 'revoke'];
    const what = { add: 'a group and an edge node id', list: 'no arguments', revoke: 'one user name' }[
      sub as 'add' | 'list' | 'revoke'
    ];
    if (positionals.length !== wanted) {
      throw new UsageError(
        `${sub} takes ${what}; got ${positionals.length === 0 ? 'none' : positionals.join(' ')}`,
      );
    }
    if (sub !== 'add' && values.username !== undefined) throw new UsageError('--username is only for add');
  } catch (err) {
    io.stderr.write(`wanji mqtt-user: ${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
    return 2;
  }

  const opened = await openHubRegistry(
    'mqtt-user',
    { dataDir: values['data-dir'], config: values.config },
    io,
    false,
  );
  if (typeof opened === 'number') return opened;
  const { registry, dataDir } = opened;
  const store = new MqttCredentialStore(registry.database);
  const by = cliActor();
  const refused = (err: unknown): number | undefined => {
    if (!(err instanceof HubError && err.code.startsWith('WANJI_E_MQTT_USER_'))) return undefined;
    io.logger.warn({ code: err.code, reason: err.message, actor: by.actor }, `mqtt-user ${sub} refused`);
    return err.code === 'WANJI_E_MQTT_USER_NOT_FOUND' ? 1 : 2;
  };
  return workOnRegistry('mqtt-user', registry, io, refused, async () => {
    if (sub === 'add') {
      const [group, node] = positionals as [string, string];
      const { credential: c, password } = store.create(
        { group, node, ...(values.username === undefined ? {} : { username: values.username }) },
        by,
      );
      io.logger.info({ username: c.username, group, node, actor: by.actor }, 'MQTT user created');
      io.stdout.write(
        `${password}\n\nMQTT user ${c.username} created for group ${group}, edge node ${node}, in ${dataDir}.\n` +
          'This is the only time the password is shown. In the gateway config:\n\n' +
          `mqtt:\n  username: ${JSON.stringify(c.username)}\n  password: ${JSON.stringify(password)}\n`,
      );
    } else if (sub === 'list') {
      const rows = store.list();
      io.stdout.write(rows.length === 0 ? `no MQTT users in ${dataDir}\n` : `${listText(rows)}\n`);
    } else {
      const c = store.revoke(positionals[0]!, by);
      io.logger.info({ username: c.username, actor: by.actor }, 'MQTT user revoked');
      io.stdout.write(
        `MQTT user ${c.username} (${c.group}/${c.node}) revoked${c.revokedAt === undefined ? '' : ` at ${when(c.revokedAt)} UTC`}; a running hub drops its connections within mqtt.revocationCheckMs (2 s by default)\n`,
      );
    }
    return 0;
  });
}
