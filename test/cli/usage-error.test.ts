/**
 * Every command answers a bad command line the same way: the message on stderr and exit 2
 * (one UsageError, cli/io.ts, for all of them).
 */
import { describe, expect, it } from 'vitest';
import { runBrowseCommand } from '../../cli/browse.js';
import { runDemoCommand } from '../../cli/demo.js';
import { runGatewayCommand } from '../../cli/gateway.js';
import { runHubCommand } from '../../cli/hub.js';
import type { CommandIo } from '../../cli/io.js';
import { runMachineCommand } from '../../cli/machine.js';
import { runMqttUserCommand } from '../../cli/mqtt-user.js';
import { runPkiCommand } from '../../cli/pki.js';
import { runProbeCommand } from '../../cli/probe.js';
import { runSimCommand } from '../../cli/sim.js';
import { runTokenCommand } from '../../cli/token.js';
import { runCommand } from '../support/cli-io.js';

type Run = (args: string[], io: CommandIo) => Promise<number>;

const CASES: ReadonlyArray<readonly [string, Run, string[], string]> = [
  ['browse', runBrowseCommand, [], 'an endpoint such as opc.tcp://192.168.1.20:4840 is required'],
  ['demo', runDemoCommand, ['--machines', 'many'], '--machines must be a whole number'],
  ['gateway', runGatewayCommand, [], '-c FILE is required'],
  ['hub', runHubCommand, ['--http-port', 'x'], 'must be a port number 0–65535, got "x"'],
  ['machine', runMachineCommand, [], 'name a subcommand'],
  ['machine (its -c file)', runMachineCommand, ['list', '-c', '/nonexistent/wanji-hub.yaml'], 'cannot read'],
  ['mqtt-user', runMqttUserCommand, ['bogus'], 'unknown subcommand "bogus"'],
  ['pki', runPkiCommand, ['list', 'a', 'b'], 'unexpected argument "b"'],
  ['probe', runProbeCommand, ['modbus'], 'give either --host H (TCP) or --rtu PATH (serial)'],
  ['sim', runSimCommand, ['--host', ' '], '--host must not be empty'],
  ['token', runTokenCommand, ['bogus'], 'unknown subcommand "bogus"'],
];

describe('a bad command line', () => {
  for (const [name, run, args, message] of CASES) {
    it(`wanji ${name} ${args.join(' ')}: says what is wrong and exits 2`, async () => {
      const r = await runCommand(run, args);
      expect(r.err).toContain(message);
      expect(r.code).toBe(2);
    });
  }
});
