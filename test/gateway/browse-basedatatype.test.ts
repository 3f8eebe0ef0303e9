/**
 * Variables of an abstract DataType (issue 10): open62541's `current-time-datasource` is a
 * BaseDataType variable holding a DateTime, and `wanji browse --snippet` skipped it as "not a
 * scalar of a publishable type". Browse now reads the value to find the type it really carries.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataType, OPCUACertificateManager, OPCUAServer, Variant } from 'node-opcua';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runBrowseCommand } from '../../cli/browse.js';
import { defaultPkiDir } from '../../simulators/opcua/server.js';
import { runCommand } from '../support/cli-io.js';
import { waitFor } from './helpers.js';
import { opcuaConfig, quietOpcua, runOpcua, testLog } from './opcua-helpers.js';

describe('wanji browse and variables of an abstract DataType', () => {
  let dir: string;
  let server: OPCUAServer;
  let endpoint: string;

  beforeAll(async () => {
    quietOpcua();
    dir = await mkdtemp(join(tmpdir(), 'wanji-browse-basedatatype-'));
    server = new OPCUAServer({
      port: 0,
      host: '127.0.0.1',
      hostname: '127.0.0.1',
      serverCertificateManager: new OPCUACertificateManager({
        rootFolder: defaultPkiDir(),
        automaticallyAcceptUnknownCertificate: true,
        disableFileWatchers: true,
      }),
    });
    await server.initialize();
    const addressSpace = server.engine.addressSpace!;
    const ns = addressSpace.getOwnNamespace();
    const folder = ns.addObject({
      organizedBy: addressSpace.rootFolder.objects,
      browseName: 'Demo',
      nodeId: 's=Demo',
    });
    // As open62541's example server declares it: DataType BaseDataType, a DateTime value.
    ns.addVariable({
      componentOf: folder,
      browseName: 'current-time-datasource',
      nodeId: 's=current-time-datasource',
      dataType: 'BaseDataType',
      value: { get: () => new Variant({ dataType: DataType.DateTime, value: new Date() }) },
    });
    ns.addVariable({
      componentOf: folder,
      browseName: 'load',
      nodeId: 's=load',
      dataType: 'Number',
      value: { get: () => new Variant({ dataType: DataType.Double, value: 42.5 }) },
    });
    ns.addVariable({
      componentOf: folder,
      browseName: 'empty',
      nodeId: 's=empty',
      dataType: 'BaseDataType',
      value: { get: () => new Variant({ dataType: DataType.Null }) },
    });
    ns.addVariable({
      componentOf: folder,
      browseName: 'count',
      nodeId: 's=count',
      dataType: 'Int32',
      value: { get: () => new Variant({ dataType: DataType.Int32, value: 7 }) },
    });
    await server.start();
    endpoint = `opc.tcp://127.0.0.1:${server.endpoints[0]!.port}`;
  });

  afterAll(async () => {
    await server?.shutdown(0);
    await rm(dir, { recursive: true, force: true });
  });

  const browse = (args: string[]) =>
    runCommand(
      runBrowseCommand,
      [endpoint, '--node', 'ns=1;s=Demo', '--pki-dir', join(dir, 'pki'), ...args],
      testLog(),
    );

  it('shows the type of the value beside the declared abstract type', async () => {
    const r = await browse(['--depth', '1']);
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    expect(lines).toContain(
      '  current-time-datasource  ns=1;s=current-time-datasource  DateTime (declared BaseDataType; type of its value)',
    );
    expect(lines).toContain('  load  ns=1;s=load  Double (declared Number; type of its value)');
    expect(lines).toContain('  count  ns=1;s=count  Int32');
    expect(lines).toContain('  empty  ns=1;s=empty  BaseDataType, no value yet');
  });

  it('puts it in the snippet with its real type, and the gateway reads it as that type', async () => {
    const r = await browse(['--snippet']);
    expect(r.code).toBe(0);
    const { tags } = parse(r.out) as { tags: Array<{ name: string; nodeId: string; datatype: string }> };
    expect(tags).toEqual([
      { name: 'current-time-datasource', nodeId: 'ns=1;s=current-time-datasource', datatype: 'DateTime' },
      { name: 'load', nodeId: 'ns=1;s=load', datatype: 'Double' },
      { name: 'count', nodeId: 'ns=1;s=count', datatype: 'Int32' },
    ]);
    expect(r.out).toContain(
      '# current-time-datasource is declared BaseDataType: DateTime is the type of its value now',
    );
    expect(r.out).toContain('# skipped ns=1;s=empty (BaseDataType, no value yet)');

    // The snippet, pasted under a machine, gives good values of that type.
    const config = opcuaConfig({ endpoint }, [
      { id: 'E001-CNC-009', tags: [...tags, { name: 'state', nodeId: 'ns=1;s=count', datatype: 'Int32' }] },
    ]);
    const run = await runOpcua(config);
    try {
      const time = await waitFor(
        () => run.latest('E001-CNC-009', 'current-time-datasource'),
        'a time',
        10_000,
      );
      expect(time.quality).toBe('good');
      expect(run.counter('typeMismatches')).toBe(0);
      const load = await waitFor(() => run.latest('E001-CNC-009', 'load'), 'a load', 10_000);
      expect(load).toMatchObject({ value: 42.5, quality: 'good' });
    } finally {
      await run.close();
    }
  });
});
