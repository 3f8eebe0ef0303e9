import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runBrowseCommand } from '../../cli/browse.js';
import { SimMachine } from '../../simulators/machine.js';
import { OpcuaSimServer } from '../../simulators/opcua/server.js';
import { runCommand } from '../support/cli-io.js';
import { freePort, opcuaConfig, quietOpcua, simTags, testLog } from './opcua-helpers.js';

async function browse(args: string[]) {
  return runCommand(runBrowseCommand, args, testLog());
}

describe('wanji browse', () => {
  const cnc = new SimMachine({ id: 'E001-CNC-001', kind: 'cnc', seed: 21 });
  const press = new SimMachine({ id: 'E001-PRS-002', kind: 'press', seed: 22, dataDepth: 'state+count' });
  const server = new OpcuaSimServer({ logger: testLog(), machines: [cnc, press] });
  let dir: string;
  const common = () => ['--data-dir', dir];

  beforeAll(async () => {
    quietOpcua();
    dir = await mkdtemp(join(tmpdir(), 'wanji-browse-'));
    cnc.tick(0);
    press.tick(0);
    await server.start();
  });

  afterAll(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('prints the address space as an indented tree with NodeIds and datatypes', async () => {
    const r = await browse([server.endpointUrl, ...common()]);

    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    expect(lines[0]).toBe('Objects  i=85');
    expect(lines).toContain('  Machines  ns=1;s=Machines');
    expect(lines).toContain('    E001-CNC-001  ns=1;s=E001-CNC-001');
    expect(lines).toContain('      spindleSpeed  ns=1;s=E001-CNC-001.spindleSpeed  Double');
    expect(lines).toContain('      lampRed  ns=1;s=E001-CNC-001.lampRed  Boolean');
    expect(lines).toContain('  Server  i=2253'); // the server's own model is listed, not expanded
    expect(r.out).not.toContain('ServerStatus');
    const shallow = await browse([
      server.endpointUrl,
      '--node',
      'ns=1;s=Machines',
      '--depth',
      '1',
      ...common(),
    ]);
    expect(shallow.out.split('\n').filter(Boolean)).toEqual([
      'Machines  ns=1;s=Machines',
      '  E001-CNC-001  ns=1;s=E001-CNC-001',
      '  E001-PRS-002  ns=1;s=E001-PRS-002',
    ]);
  });

  it('emits a tags: snippet for a machine that validates as a gateway config', async () => {
    const r = await browse([server.endpointUrl, '--snippet', '--machine', press.id, ...common()]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^# machine E001-PRS-002: the variables under ns=1;s=E001-PRS-002/);
    const { tags } = parse(r.out) as { tags: Array<Record<string, unknown>> };
    expect(tags).toEqual(simTags(press));
    const config = opcuaConfig({ endpoint: server.endpointUrl }, [{ id: press.id, kind: 'press', tags }]);
    expect(config.machines[0]!.tags).toHaveLength(press.signals.length);
  });

  it('lists the endpoints with their security and user tokens', async () => {
    const r = await browse([server.endpointUrl, '--endpoints']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^securityMode\s+securityPolicy\s+user identities\s+url$/m);
    expect(r.out).toMatch(/^None\s+None\s+UserName, Certificate, Anonymous\s/m);
    expect(r.out).toMatch(/^SignAndEncrypt\s+Aes256_Sha256_RsaPss\s/m);
    expect(r.out).toMatch(/^Sign\s+Basic256Sha256\s/m);
  });

  it('says what is wrong: bad arguments (2), an unreachable server or unknown node (1)', async () => {
    const sign = await browse([server.endpointUrl, '--security-mode', 'Sign']);
    expect(sign.code).toBe(2);
    expect(sign.err).toContain('--security-policy: securityMode Sign needs a security policy');
    expect((await browse(['localhost:4840'])).code).toBe(2);
    const dead = await browse([
      `opc.tcp://127.0.0.1:${await freePort()}`,
      '--timeout-ms',
      '1000',
      ...common(),
    ]);
    expect(dead.code).toBe(1);
    expect(dead.err).toContain('[WANJI_E_OPCUA_CONNECT]');
    const ghost = await browse([server.endpointUrl, '--snippet', '--machine', 'E001-NOPE-9', ...common()]);
    expect(ghost.code).toBe(1);
    expect(ghost.err).toContain('no node named "E001-NOPE-9"');
  });
});
