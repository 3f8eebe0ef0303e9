/** The OPC UA driver's pure parts and timing, without a server. */
import {
  DataChangeTrigger,
  DataType,
  DataValue,
  DeadbandType,
  LocalizedText,
  resolveNodeId,
  StatusCodes,
  Variant,
} from 'node-opcua';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { validateGatewayConfig } from '../../gateway/config/index.js';
import { filterOf, groupBySettings, type ItemSpec } from '../../gateway/southbound/opcua/monitor.js';
import { parseBrowsePath } from '../../gateway/southbound/opcua/paths.js';
import { Poller, readInBatches } from '../../gateway/southbound/opcua/poller.js';
import { Watchdog } from '../../gateway/southbound/opcua/recovery.js';
import {
  type OpcuaConnectionConfig,
  opcuaConnectionIssues,
  opcuaTagIssues,
} from '../../gateway/southbound/opcua/schema.js';
import { classifyConnectError } from '../../gateway/southbound/opcua/security.js';
import { convertDataValue } from '../../gateway/southbound/opcua/values.js';
import { backoffDelay as jitteredBackoff } from '../../protocol/backoff.js';
import { systemClock } from '../../protocol/clock.js';

const conn = (extra: Record<string, unknown> = {}) => ({
  id: 'opc',
  type: 'opcua',
  endpoint: 'opc.tcp://127.0.0.1:4840',
  ...extra,
});

describe('OPC UA config', () => {
  const config = (connection: Record<string, unknown>, tags: Array<Record<string, unknown>>) =>
    validateGatewayConfig({
      gateway: { group: 'E001', node: 'GW-1' },
      mqtt: { url: 'mqtt://127.0.0.1:1' },
      connections: [connection],
      machines: [
        {
          id: 'M1',
          connection: 'opc',
          kind: 'cnc',
          dataDepth: 'full',
          state: { tag: 'state', map: { 3: 'running' } },
          tags,
        },
      ],
    });

  it('fills the defaults: subscription mode, no security, rejected unknown certificates, capped backoff', () => {
    const c = config(conn(), [{ name: 'state', nodeId: 'ns=1;s=M1.state', datatype: 'Int32' }]);
    expect(c.connections[0]).toMatchObject({
      mode: 'subscription',
      securityMode: 'None',
      acceptUnknownServerCertificate: false,
      backoffMinMs: 1000,
      backoffMaxMs: 30_000,
      keepAliveCount: 10,
      maxNodesPerRequest: 1000,
      sessionTimeoutMs: 60_000,
    });
    expect(c.machines[0]!.tags[0]).toMatchObject({ queueSize: 1, deadband: 0 });
    expect(() => config(conn({ backoffMaxMs: 120_000 }), [])).toThrow(/backoffMaxMs.*out of range/s);
  });

  it('takes a NodeId or a browse path as nodeId, and nothing else', () => {
    const tags = ['ns=2;s=A.B', 'i=2258', 'nsu=urn:x;s=Y', '/Objects/2:Machines/M1/speed'].map(
      (nodeId, i) => ({
        name: `t${i}`,
        nodeId,
        datatype: 'Double',
      }),
    );
    expect(() =>
      config(conn(), [{ name: 'state', nodeId: 'i=1', datatype: 'Int32' }, ...tags]),
    ).not.toThrow();
    expect(() => config(conn(), [{ name: 'state', nodeId: 'Machines.M1.speed', datatype: 'Int32' }])).toThrow(
      /\/machines\/0\/tags\/0\/nodeId: "Machines.M1.speed" is not valid here/,
    );
  });

  it('names the path and the fix of impossible security and identity combinations', () => {
    expect(opcuaConnectionIssues(conn({ securityMode: 'Sign' }), '/connections/0')).toEqual([
      {
        path: '/connections/0/securityPolicy',
        message: 'securityMode Sign needs a security policy',
        fix: 'add securityPolicy: Basic256Sha256 (or Aes128_Sha256_RsaOaep, Aes256_Sha256_RsaPss)',
      },
    ]);
    expect(opcuaConnectionIssues(conn({ securityPolicy: 'Basic256Sha256' }), '/c')[0]).toMatchObject({
      path: '/c/securityMode',
      fix: 'set securityMode: SignAndEncrypt (or Sign), or remove securityPolicy',
    });
    expect(opcuaConnectionIssues(conn({ userCertificate: 'u.pem' }), '/c')[0]).toMatchObject({
      path: '/c/userPrivateKey',
      message: expect.stringContaining('needs both userCertificate and userPrivateKey'),
    });
    expect(opcuaConnectionIssues(conn({ userPrivateKey: 'k.pem' }), '/c')[0]?.path).toBe(
      '/c/userCertificate',
    );
    expect(
      opcuaConnectionIssues(
        conn({ userCertificate: 'u.pem', userPrivateKey: 'k.pem', username: 'x' }),
        '/c',
      )[0]?.path,
    ).toBe('/c/username');
    expect(opcuaConnectionIssues(conn({ password: 'p' }), '/c')[0]?.path).toBe('/c/password');
    expect(
      opcuaConnectionIssues(
        conn({ securityMode: 'SignAndEncrypt', securityPolicy: 'Aes256_Sha256_RsaPss' }),
        '/c',
      ),
    ).toEqual([]);
  });

  it('reports those combinations as config errors, with the path and the fix', () => {
    const tags = [
      { name: 'state', nodeId: 'i=1', datatype: 'Int32' },
      { name: 'mode', nodeId: 'i=2', datatype: 'String', deadband: 1 },
    ];
    expect(() => config(conn({ securityMode: 'Sign', userCertificate: 'u.pem' }), tags)).toThrow(
      [
        '<config>: 3 problems in the gateway config',
        '  /connections/0/securityPolicy: securityMode Sign needs a security policy',
        '    fix: add securityPolicy: Basic256Sha256 (or Aes128_Sha256_RsaOaep, Aes256_Sha256_RsaPss)',
        '  /connections/0/userPrivateKey: a certificate identity needs both userCertificate and userPrivateKey; only userCertificate is given',
        '    fix: add userPrivateKey: the PEM file of the private key of userCertificate',
        '  /machines/0/tags/1/deadband: a deadband applies to numbers; this tag is String',
        '    fix: remove deadband',
      ].join('\n'),
    );
  });

  it('names the path and the fix of impossible tag settings', () => {
    const t = (extra: Record<string, unknown>) => ({
      name: 'x',
      nodeId: 'i=1',
      datatype: 'Double',
      deadband: 0,
      ...extra,
    });
    expect(opcuaTagIssues(t({ deadband: 1, deadbandPercent: 2 }), '/t', conn())[0]?.path).toBe(
      '/t/deadbandPercent',
    );
    expect(opcuaTagIssues(t({ datatype: 'String', deadbandPercent: 2 }), '/t', conn())[0]).toMatchObject({
      message: 'a deadband applies to numbers; this tag is String',
      fix: 'remove deadbandPercent',
    });
    expect(opcuaTagIssues(t({ nodeId: '/Objects//x' }), '/t', conn())[0]?.path).toBe('/t/nodeId');
    const polling = conn({ mode: 'polling' });
    expect(
      opcuaTagIssues(t({ queueSize: 5, trigger: 'status', deadbandPercent: 1 }), '/t', polling).map(
        (i) => i.path,
      ),
    ).toEqual(['/t/deadbandPercent', '/t/trigger', '/t/queueSize']);
    expect(opcuaTagIssues(t({ deadband: 2, queueSize: 1 }), '/t', polling)).toEqual([]);
  });
});

describe('OPC UA monitoring settings', () => {
  const spec = (extra: Partial<ItemSpec>): ItemSpec => ({
    index: 0,
    nodeId: resolveNodeId('i=1'),
    samplingInterval: 100,
    queueSize: 1,
    trigger: undefined,
    deadband: undefined,
    ...extra,
  });

  it('sends no filter by default, and a DataChangeFilter for a deadband or another trigger', () => {
    expect(filterOf(spec({}))).toBeNull();
    expect(filterOf(spec({ trigger: 'status-value' }))).toBeNull();
    const abs = filterOf(spec({ deadband: { kind: 'absolute', value: 0.5 } }))!;
    expect([abs.trigger, abs.deadbandType, abs.deadbandValue]).toEqual([
      DataChangeTrigger.StatusValue,
      DeadbandType.Absolute,
      0.5,
    ]);
    const pct = filterOf(
      spec({ deadband: { kind: 'percent', value: 2 }, trigger: 'status-value-timestamp' }),
    )!;
    expect([pct.trigger, pct.deadbandType, pct.deadbandValue]).toEqual([
      DataChangeTrigger.StatusValueTimestamp,
      DeadbandType.Percent,
      2,
    ]);
    expect(filterOf(spec({ trigger: 'status' }))!.trigger).toBe(DataChangeTrigger.Status);
  });

  it('creates items with equal settings in one request', () => {
    const groups = groupBySettings([
      spec({ index: 0 }),
      spec({ index: 1 }),
      spec({ index: 2, samplingInterval: 500 }),
      spec({ index: 3, deadband: { kind: 'absolute', value: 1 } }),
      spec({ index: 4, deadband: { kind: 'absolute', value: 1 } }),
    ]);
    expect([...groups.values()].map((g) => g.map((s) => s.index))).toEqual([[0, 1], [2], [3, 4]]);
  });

  it('reads browse paths as names with an optional namespace index', () => {
    expect(parseBrowsePath('/Objects/2:Machines/E001-CNC-001/spindle:speed')).toEqual([
      { namespaceIndex: undefined, name: 'Objects' },
      { namespaceIndex: 2, name: 'Machines' },
      { namespaceIndex: undefined, name: 'E001-CNC-001' },
      { namespaceIndex: undefined, name: 'spindle:speed' },
    ]);
  });

  it('sorts connection failures into codes that say what to do', () => {
    const c = {
      endpoint: 'opc.tcp://h:4840',
      securityMode: 'Sign',
      securityPolicy: 'Basic256Sha256',
    } as OpcuaConnectionConfig;
    const untrusted = classifyConnectError(
      new Error('server Certificate verification failed with err BadCertificateUntrusted (0x801a0000)'),
      c,
      '/nonexistent/pki',
    );
    expect(untrusted.code).toBe('WANJI_E_OPCUA_CERT_UNTRUSTED');
    expect(untrusted.message).toContain('wanji pki trust');
    expect(classifyConnectError(new Error('cannot find endpoint for securityMode=Sign'), c, '').code).toBe(
      'WANJI_E_OPCUA_SECURITY',
    );
    const identity = classifyConnectError(new Error('BadIdentityTokenRejected (0x80210000)'), c, '');
    expect([identity.code, identity.detail.statusCode]).toEqual([
      'WANJI_E_OPCUA_IDENTITY',
      'BadIdentityTokenRejected',
    ]);
    expect(classifyConnectError(new Error('ECONNREFUSED'), c, '').code).toBe('WANJI_E_OPCUA_CONNECT');
  });
});

describe('OPC UA recovery timing', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_764_000_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('backs off exponentially with jitter, capped', () => {
    expect(jitteredBackoff(0, 1000, 60_000, () => 0)).toBe(500);
    expect(jitteredBackoff(0, 1000, 60_000, () => 1)).toBe(1000);
    expect(jitteredBackoff(3, 1000, 60_000, () => 0.5)).toBe(6000);
    for (let a = 0; a < 40; a++) {
      const d = jitteredBackoff(a, 1000, 60_000, Math.random);
      expect(d).toBeLessThanOrEqual(60_000);
      expect(d).toBeGreaterThanOrEqual(Math.min(60_000, 1000 * 2 ** a) / 2);
    }
  });

  it('fires the watchdog after a silence, not while activity continues', () => {
    const silences: number[] = [];
    const dog = new Watchdog(systemClock, 1000, (ms) => silences.push(ms));
    dog.start();
    for (let i = 0; i < 5; i++) {
      vi.advanceTimersByTime(600);
      dog.activity();
    }
    expect(silences).toEqual([]);
    vi.advanceTimersByTime(1000);
    expect(silences).toEqual([1000]);
    vi.advanceTimersByTime(999);
    expect(silences).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(silences).toHaveLength(2);
    dog.stop();
    vi.advanceTimersByTime(5000);
    expect(silences).toHaveLength(2);
  });

  it('never overlaps polls: a poll still running when the next is due is skipped and counted', async () => {
    const inFlight: Array<() => void> = [];
    let concurrent = 0;
    let maxConcurrent = 0;
    const session = {
      read: (nodes: unknown[]) => {
        concurrent++;
        maxConcurrent = Math.max(maxConcurrent, concurrent);
        return new Promise<DataValue[]>((resolve) =>
          inFlight.push(() => {
            concurrent--;
            resolve(nodes.map(() => new DataValue({})));
          }),
        );
      },
    };
    let overruns = 0;
    const values: number[] = [];
    const poller = new Poller(
      session as never,
      [0, 1, 2].map((index) => ({ index, nodeId: resolveNodeId(`i=${index + 1}`), intervalMs: 100 })),
      { batch: 2, clock: systemClock, paused: () => false },
      {
        onValue: (i) => values.push(i),
        onRead: () => {},
        onReadError: () => {},
        onOverrun: () => overruns++,
      },
    );
    poller.start();
    vi.advanceTimersByTime(350); // three more turns due while the first Read hangs
    expect(overruns).toBe(3);
    inFlight.shift()!();
    await vi.advanceTimersByTimeAsync(0);
    inFlight.shift()!(); // the second batch of the same poll
    await vi.advanceTimersByTimeAsync(0);
    expect(values).toEqual([0, 1, 2]);
    expect(maxConcurrent).toBe(1);
    poller.close();
  });

  it('reads in requests of at most the batch size', async () => {
    const sizes: number[] = [];
    const session = {
      read: async (nodes: unknown[]) => {
        sizes.push(nodes.length);
        return nodes.map(() => new DataValue({}));
      },
    };
    const offsets: number[] = [];
    await readInBatches(
      session as never,
      Array.from({ length: 7 }, (_, i) => resolveNodeId(`i=${i + 1}`)),
      3,
      (offset) => offsets.push(offset),
      Date.now,
    );
    expect(sizes).toEqual([3, 3, 1]);
    expect(offsets).toEqual([0, 3, 6]);
  });
});

describe('OPC UA values', () => {
  it('publishes a LocalizedText as its text, and Bad as null whatever the value', () => {
    const text = new DataValue({
      value: new Variant({
        dataType: DataType.LocalizedText,
        value: new LocalizedText({ text: '主轴过载', locale: 'zh-CN' }),
      }),
    });
    expect(convertDataValue(text, 'String', 0)).toMatchObject({ value: '主轴过载', quality: 'good' });
    const bad = new DataValue({
      value: new Variant({ dataType: DataType.Double, value: 0 }),
      statusCode: StatusCodes.BadSensorFailure,
    });
    expect(convertDataValue(bad, 'Double', 0)).toMatchObject({ value: null, quality: 'bad' });
    const uncertain = new DataValue({
      value: new Variant({ dataType: DataType.Double, value: 0 }),
      statusCode: StatusCodes.UncertainLastUsableValue,
    });
    expect(convertDataValue(uncertain, 'Double', 0)).toMatchObject({ value: 0, quality: 'uncertain' });
  });
});
