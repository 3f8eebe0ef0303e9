import { parseArgs } from 'node:util';
import { HubError } from '../hub/errors.js';
import type { MachineChangeBy, MachineChangeResult } from '../hub/registry/machine-status.js';
import { MACHINE_STATUSES, type MachineRecord, type MachineStatus } from '../hub/registry/types.js';
import { openHubRegistry, workOnRegistry } from './hub-data-dir.js';
import { type CommandIo, cliActor, table, UsageError, when } from './io.js';

const USAGE = `Usage: wanji machine <list|confirm|retire|merge> [options]

What counts in the statistics (docs/statistics.md, "What is counted"): a machine a gateway
announced is unconfirmed until an operator confirms it; a retired machine is in no count,
whatever its gateway sends, until it is confirmed again.

  wanji machine list [--enterprise E] [--status S]
      every machine with its status (confirmed | unconfirmed | retired)
  wanji machine confirm ENTERPRISE MACHINE [--reason R]
      a real machine of the enterprise (also brings a retired one back)
  wanji machine retire ENTERPRISE MACHINE [--reason R]
      gone, invented or not the enterprise's: out of every count
  wanji machine retire ENTERPRISE --unconfirmed [--gateway G] [--reason R]
      every unconfirmed machine of the enterprise (only those last announced by gateway G):
      the clean-up after a gateway credential announced invented machines. Confirm the real
      ones first; confirmed machines are not touched. One audit entry with the count.
  wanji machine merge ENTERPRISE MACHINE --into OTHER [--reason R]
      MACHINE is a duplicate id of OTHER (same enterprise): MACHINE is retired, merged into OTHER

Options for every subcommand:
  -c, --config F    the hub's YAML config, to find its data directory
  -d, --data-dir D  the hub's data directory (default: ./wanji-data)
  --help            this help

Exit code: 0 done, 1 no such machine (enterprise, gateway) or the change refused, 2 usage.
`;

const SUBCOMMANDS = ['list', 'confirm', 'retire', 'merge'] as const;
type Sub = (typeof SUBCOMMANDS)[number];

function statusText(m: MachineRecord): string {
  return m.mergedInto === null ? m.status : `${m.status} (merged into ${m.mergedInto})`;
}

interface Parsed {
  readonly sub: Sub;
  readonly positionals: string[];
  readonly values: {
    enterprise?: string;
    status?: string;
    into?: string;
    reason?: string;
    unconfirmed?: boolean;
    gateway?: string;
    config?: string;
    'data-dir'?: string;
  };
}

function parse(args: string[]): Parsed | 'help' {
  const [sub, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    options: {
      enterprise: { type: 'string' },
      status: { type: 'string' },
      into: { type: 'string' },
      reason: { type: 'string' },
      unconfirmed: { type: 'boolean' },
      gateway: { type: 'string' },
      config: { type: 'string', short: 'c' },
      'data-dir': { type: 'string', short: 'd' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: true,
  });
  if (sub === '--help' || sub === '-h' || values.help) return 'help';
  if (sub === undefined) throw new UsageError('name a subcommand');
  if (!(SUBCOMMANDS as readonly string[]).includes(sub)) throw new UsageError(`unknown subcommand "${sub}"`);
  const s = sub as Sub;
  if (s === 'list') {
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    if (values.status !== undefined && !(MACHINE_STATUSES as readonly string[]).includes(values.status)) {
      throw new UsageError(`--status must be one of ${MACHINE_STATUSES.join(', ')}; got "${values.status}"`);
    }
  } else if (s === 'retire' && values.unconfirmed === true) {
    if (positionals.length !== 1) {
      throw new UsageError(
        `retire --unconfirmed needs ENTERPRISE only (got ${positionals.length} arguments); to retire one machine, leave out --unconfirmed`,
      );
    }
    if (values.gateway === '') throw new UsageError('--gateway needs a gateway (edge node) id');
  } else if (positionals.length !== 2) {
    const bulk = s === 'retire' ? ' (or ENTERPRISE --unconfirmed, for every unconfirmed machine)' : '';
    throw new UsageError(`${s} needs ENTERPRISE and MACHINE${bulk} (got ${positionals.length} arguments)`);
  }
  if (values.unconfirmed === true && s !== 'retire') throw new UsageError('--unconfirmed belongs to retire');
  if (values.gateway !== undefined && values.unconfirmed !== true) {
    throw new UsageError('--gateway belongs to retire --unconfirmed');
  }
  if (s === 'merge' && (values.into === undefined || values.into === '')) {
    throw new UsageError('merge needs --into OTHER: the machine it is a duplicate of');
  }
  if (s !== 'merge' && values.into !== undefined) throw new UsageError('--into belongs to merge');
  return { sub: s, positionals, values };
}

export async function runMachineCommand(args: string[], io: CommandIo): Promise<number> {
  let parsed: Parsed;
  try {
    const p = parse(args);
    if (p === 'help') {
      io.stdout.write(USAGE);
      return 0;
    }
    parsed = p;
  } catch (err) {
    io.stderr.write(`wanji machine: ${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
    return 2;
  }
  const { sub, positionals, values } = parsed;

  const opened = await openHubRegistry('machine', { dataDir: values['data-dir'], config: values.config }, io);
  if (typeof opened === 'number') return opened;
  const { registry, dataDir } = opened;
  const by: MachineChangeBy = {
    ...cliActor(),
    ...(values.reason === undefined ? {} : { reason: values.reason }),
  };
  const refused = (err: unknown): number | undefined =>
    err instanceof HubError &&
    (err.code === 'WANJI_E_REGISTRY_UNKNOWN_MACHINE' || err.code === 'WANJI_E_REGISTRY_MACHINE_CHANGE')
      ? 1
      : undefined;
  return workOnRegistry('machine', registry, io, refused, async () => {
    if (sub === 'list') {
      const machines = registry.machines({
        ...(values.enterprise === undefined ? {} : { enterprise: values.enterprise }),
        ...(values.status === undefined ? {} : { status: values.status as MachineStatus }),
      });
      if (machines.length === 0) {
        io.stdout.write(`no machines in ${dataDir}\n`);
        return 0;
      }
      io.stdout.write(
        `${table([
          ['ENTERPRISE', 'MACHINE', 'STATUS', 'GATEWAY', 'FIRST SEEN', 'LAST SAMPLE', 'BY'],
          ...machines.map((m) => [
            m.enterprise,
            m.id,
            statusText(m),
            m.gateway,
            when(m.firstSeen),
            when(m.lastSampleAt),
            (m.status === 'retired' ? m.retiredBy : m.confirmedBy) ?? '-',
          ]),
        ])}\n`,
      );
      return 0;
    }
    if (sub === 'retire' && values.unconfirmed === true) {
      const enterprise = positionals[0]!;
      const b = registry.retireUnconfirmedMachines(
        enterprise,
        values.gateway === undefined ? {} : { gateway: values.gateway },
        by,
      );
      const of = b.gateway === null ? '' : ` last announced by gateway ${b.gateway}`;
      const shown = b.retired > b.ids.length ? ` (the first ${b.ids.length})` : '';
      io.stdout.write(
        b.retired === 0
          ? `${enterprise}: no unconfirmed machines${of} to retire\n`
          : `${enterprise}: retired ${b.retired} unconfirmed machine${b.retired === 1 ? '' : 's'}${of}: ${b.ids.join(', ')}${shown}\n`,
      );
      return 0;
    }
    const [enterprise, id] = positionals as [string, string];
    let r: MachineChangeResult;
    if (sub === 'confirm') r = registry.confirmMachine(enterprise, id, by);
    else if (sub === 'retire') r = registry.retireMachine(enterprise, id, by);
    else r = registry.mergeMachine(enterprise, id, values.into!, by);
    const what = `${r.machine.enterprise}/${r.machine.id}`;
    io.stdout.write(
      r.changed
        ? `${what} is now ${statusText(r.machine)}\n`
        : `${what} was already ${statusText(r.machine)}\n`,
    );
    return 0;
  });
}
