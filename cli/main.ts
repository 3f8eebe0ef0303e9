/**
 * The `wanji` command. The only place that reads argv, handles signals and sets the exit code.
 */
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import type { CommandIo } from './io.js';
import { routeOpcuaLogs } from './opcua-logs.js';

type Command = (args: string[], io: CommandIo) => Promise<number>;

interface CommandEntry {
  /** Loaded on use, so `wanji --help` and `wanji hub` never load the OPC UA stack. */
  load: () => Promise<Command>;
  summary: string;
  /** Loads node-opcua, whose notices must be routed to the log before it is imported. */
  opcua: boolean;
  /** Reloads its config on SIGHUP (CommandIo.reload). */
  reload?: true;
}

const COMMANDS: Readonly<Record<string, CommandEntry>> = {
  demo: {
    load: async () => (await import('./demo.js')).runDemoCommand,
    summary: 'hub + simulated fleet + gateways on embedded defaults',
    opcua: true,
  },
  hub: {
    load: async () => (await import('./hub.js')).runHubCommand,
    summary: 'run the hub: MQTT broker, Sparkplug host, store, API and dashboard',
    opcua: false,
  },
  'mqtt-user': {
    load: async () => (await import('./mqtt-user.js')).runMqttUserCommand,
    summary: "add, list and revoke the gateways' MQTT credentials",
    opcua: false,
  },
  gateway: {
    load: async () => (await import('./gateway.js')).runGatewayCommand,
    summary: 'run an edge gateway from a YAML config (-c FILE)',
    opcua: true,
    reload: true,
  },
  sim: {
    load: async () => (await import('./sim.js')).runSimCommand,
    summary: 'run a simulated fleet of OPC UA and Modbus machines',
    opcua: true,
  },
  probe: {
    load: async () => (await import('./probe.js')).runProbeCommand,
    summary: 'read a Modbus range and print it in every type and byte order',
    opcua: false,
  },
  browse: {
    load: async () => (await import('./browse.js')).runBrowseCommand,
    summary: 'print an OPC UA address space, its endpoints, or a tags: snippet for a config',
    opcua: true,
  },
  pki: {
    load: async () => (await import('./pki.js')).runPkiCommand,
    summary: 'list the OPC UA certificates of a gateway; trust a rejected server certificate',
    opcua: true,
  },
  registry: {
    load: async () => (await import('./registry.js')).runRegistryCommand,
    summary: 'import enterprises and their equipment ledgers from CSV or XLSX',
    opcua: false,
  },
  machine: {
    load: async () => (await import('./machine.js')).runMachineCommand,
    summary: 'list machines; confirm, retire or merge them (what the statistics count)',
    opcua: false,
  },
  token: {
    load: async () => (await import('./token.js')).runTokenCommand,
    summary: 'create, list and revoke the hub API bearer tokens',
    opcua: false,
  },
  user: {
    load: async () => (await import('./user.js')).runUserCommand,
    summary: "create, list, change and delete the web app's user accounts",
    opcua: false,
  },
};

export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

function usage(): string {
  const lines = [
    'Usage: wanji <command> [options]',
    '',
    'Wanji (万机) — edge gateways, Sparkplug B over MQTT, and a hub for the 万机联网 programme.',
    '',
    'Commands:',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(9)} ${c.summary}`),
    '',
    'Options for every command:',
    '  --log-level L  trace | debug | info | warn | error (default: info; demo: warn)',
    '  --help         help for the command',
    '',
    'Run `wanji <command> --help` for its options.',
  ];
  return `${lines.join('\n')}\n`;
}

/** Pulls `--log-level L` out of the arguments, leaving the command's own options. */
function takeLogLevel(args: string[]): { level: string | undefined; rest: string[] } {
  const rest: string[] = [];
  let level: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--log-level') level = args[++i];
    else if (a.startsWith('--log-level=')) level = a.slice('--log-level='.length);
    else rest.push(a);
  }
  return { level, rest };
}

/** How long a stop may take before the process exits anyway (issue 10: 40 s and a second signal). */
const STOP_DEADLINE_MS = 20_000;
/** How long a stopped command's process may linger on open handles before it exits anyway. */
const LINGER_MS = 2_000;

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export async function runCli(argv: string[]): Promise<void> {
  const [name, ...args] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(`wanji ${version()}\n`);
    return;
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    process.stderr.write(`wanji: unknown command "${name}"\n\n${usage()}`);
    process.exitCode = 2;
    return;
  }
  const { level, rest } = takeLogLevel(args);
  const chosen = level ?? process.env.WANJI_LOG_LEVEL ?? (name === 'demo' ? 'warn' : 'info');
  if (!LEVELS.includes(chosen)) {
    process.stderr.write(`wanji: --log-level must be one of ${LEVELS.join(', ')}; got "${chosen}"\n`);
    process.exitCode = 2;
    return;
  }
  // Logs go to stderr as JSON lines; stdout is left for what the command prints for people.
  const logger = pino({ level: chosen, base: { cmd: name } }, pino.destination(2));
  const controller = new AbortController();
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    signals++;
    if (signals > 1) {
      process.stderr.write(`wanji: second ${sig}, exiting now\n`);
      logger.flush();
      process.exit(130);
    }
    logger.info({ signal: sig }, 'stopping');
    controller.abort();
    // A stop that hangs (a peer that never answers a close) must not need a second signal.
    setTimeout(() => {
      process.stderr.write(`wanji: still stopping ${STOP_DEADLINE_MS / 1000} s after ${sig}; exiting now\n`);
      logger.flush();
      process.exit(1);
    }, STOP_DEADLINE_MS).unref();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // SIGHUP: reload the config, for commands that can; the others keep the default (exit).
  const reload = command.reload === true ? new EventTarget() : undefined;
  const onHangup = (): void => {
    logger.info({ signal: 'SIGHUP' }, 'reloading the config');
    reload?.dispatchEvent(new Event('reload'));
  };
  if (reload !== undefined) process.on('SIGHUP', onHangup);
  try {
    if (command.opcua) routeOpcuaLogs(logger);
    const run = await command.load();
    process.exitCode = await run(rest, {
      stdout: process.stdout,
      stderr: process.stderr,
      logger,
      signal: controller.signal,
      ...(reload === undefined ? {} : { reload }),
    });
  } catch (err) {
    logger.fatal({ err }, 'wanji stopped on an unexpected error');
    process.stderr.write(`wanji ${name}: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  } finally {
    // After a stop, the handlers stay: a second signal still exits at once, with its message.
    if (signals === 0) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    process.off('SIGHUP', onHangup);
    logger.flush();
  }
  if (signals > 0) {
    // Everything is closed; work a library left running must not keep a stopped process alive
    // (node-opcua generates an RSA key pair when loaded, seconds on a busy machine; a stop during
    // start-up waited for it). Unref'd: a process with nothing left exits before it fires.
    setTimeout(() => {
      const handles = process.getActiveResourcesInfo();
      logger.info({ handles }, 'closed; exiting without waiting for what is still running');
      logger.flush();
      process.exit();
    }, LINGER_MS).unref();
  }
}
