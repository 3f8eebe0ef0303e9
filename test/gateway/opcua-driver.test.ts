import { StatusCodes } from 'node-opcua';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimMachine } from '../../simulators/machine.js';
import { OpcuaSimServer, opcuaNodeId } from '../../simulators/opcua/server.js';
import { sleep, waitFor } from './helpers.js';
import { freePort, opcuaConfig, quietOpcua, runOpcua, simTags, testLog } from './opcua-helpers.js';

/** Connection attempts that found no server, from the driver's "retry N in M ms" log lines. */
const failedAttempts = (lines: ReadonlyArray<Record<string, unknown>>): number =>
  lines.filter((l) => String(l.msg).startsWith('OPC UA server not reachable')).length;

describe('OPC UA driver against the simulator', () => {
  const cnc = new SimMachine({ id: 'E001-CNC-001', kind: 'cnc', seed: 3 });
  const loom = new SimMachine({ id: 'E001-LOOM-002', kind: 'loom', seed: 4, dataDepth: 'state+count' });
  const server = new OpcuaSimServer({ logger: testLog(), machines: [cnc, loom] });

  beforeAll(async () => {
    quietOpcua();
    for (const t of [0, 60_000]) {
      cnc.tick(t);
      loom.tick(t);
    }
    await server.start();
  });

  afterAll(async () => {
    await server.close();
  });

  it('subscribes to every tag, reports values with quality, and a disconnected machine offline', async () => {
    const run = await runOpcua(
      opcuaConfig({ endpoint: server.endpointUrl }, [
        { id: cnc.id, tags: simTags(cnc) },
        { id: loom.id, kind: 'loom', tags: simTags(loom) },
      ]),
    );
    try {
      await waitFor(
        () => run.status(cnc.id) === 'online' && run.status(loom.id) === 'online',
        'online',
        15_000,
      );
      await waitFor(() => cnc.signals.every((s) => run.latest(cnc.id, s.name)), 'all cnc tags', 5000);
      const values = cnc.values();
      for (const s of cnc.signals) {
        const got = run.latest(cnc.id, s.name)!;
        expect(got.quality).toBe('good');
        if (s.type === 'Float') expect(got.value).toBeCloseTo(values[s.name] as number, 3);
        else expect(got.value).toEqual(values[s.name]);
      }
      expect(run.latest(loom.id, 'state')!.sourceTime).toBeGreaterThan(0);
      expect(server.stats()).toMatchObject({ currentSessions: 1, currentSubscriptions: 1 });
      expect(server.stats().monitoredItems).toBe(cnc.signals.length + loom.signals.length);

      loom.disconnect();
      await waitFor(() => run.status(loom.id) === 'offline' || undefined, 'loom offline', 5000);
      expect(run.statuses.findLast((s) => s.machineId === loom.id)!.reason).toContain('BadNotConnected');
      expect(run.status(cnc.id)).toBe('online');
      loom.reconnect();
      await waitFor(() => run.status(loom.id) === 'online' || undefined, 'loom back', 5000);
      expect(run.counter('sessionsCreated')).toBe(1);
      expect(run.counter('notifications')).toBeGreaterThan(0);
    } finally {
      await run.close();
    }
    await waitFor(() => server.stats().currentSessions === 0 || undefined, 'session closed on close()', 5000);
  });

  it('applies per-tag deadbands (absolute and percent of the EURange) and triggers on the server', async () => {
    cnc.setSignal('spindleSpeed', 1000);
    cnc.setSignal('spindleLoad', 50);
    cnc.setSignal('feedOverride', 100);
    const run = await runOpcua(
      opcuaConfig({ endpoint: server.endpointUrl }, [
        {
          id: cnc.id,
          tags: [
            { name: 'state', nodeId: opcuaNodeId(cnc.id, 'state'), datatype: 'Int32' },
            { name: 'speed', nodeId: opcuaNodeId(cnc.id, 'spindleSpeed'), datatype: 'Double', deadband: 0.5 },
            // spindleLoad is an AnalogItem with EURange 0..200 %: 5 % of it is 10.
            {
              name: 'load',
              nodeId: opcuaNodeId(cnc.id, 'spindleLoad'),
              datatype: 'Double',
              deadbandPercent: 5,
            },
            {
              name: 'override',
              nodeId: opcuaNodeId(cnc.id, 'feedOverride'),
              datatype: 'Int32',
              trigger: 'status',
            },
          ],
        },
      ]),
    );
    const values = (tag: string) => run.samples.filter((s) => s.tag === tag).map((s) => s.value);
    try {
      await waitFor(
        () => ['speed', 'load', 'override'].every((t) => run.latest(cnc.id, t)),
        'first values',
        10_000,
      );
      cnc.setSignal('spindleSpeed', 1000.3); // within 0.5
      cnc.setSignal('spindleLoad', 58); // within 10
      cnc.setSignal('feedOverride', 90); // a value change; trigger "status" ignores it
      // Time for the server to sample these on its own timers and drop them: nothing to observe.
      await sleep(500);
      cnc.setSignal('spindleSpeed', 1001);
      cnc.setSignal('spindleLoad', 61);
      await waitFor(
        () => values('speed').includes(1001) && values('load').includes(61),
        'beyond deadband',
        5000,
      );
      expect(values('speed')).toEqual([1000, 1001]);
      expect(values('load')).toEqual([50, 61]);
      expect(values('override')).toEqual([100]);
      server.setStatus(cnc.id, 'feedOverride', StatusCodes.UncertainLastUsableValue);
      await waitFor(
        () => run.latest(cnc.id, 'override')?.quality === 'uncertain' || undefined,
        'status change',
        5000,
      );
      expect(run.latest(cnc.id, 'override')!.value).toBe(90);
    } finally {
      server.setStatus(cnc.id, 'feedOverride', undefined);
      cnc.clearSignals();
      await run.close();
    }
  });

  it('keeps the queued values of a tag with a queue between publishes', async () => {
    cnc.setSignal('feedRate', 1);
    const tag = (name: string, queueSize: number) => ({
      name,
      nodeId: opcuaNodeId(cnc.id, 'feedRate'),
      datatype: 'Double',
      queueSize,
      samplingIntervalMs: 100,
    });
    const run = await runOpcua(
      opcuaConfig({ endpoint: server.endpointUrl, publishingIntervalMs: 1500 }, [
        {
          id: cnc.id,
          tags: [
            { name: 'state', nodeId: opcuaNodeId(cnc.id, 'state'), datatype: 'Int32' },
            tag('latest', 1),
            tag('queued', 10),
          ],
        },
      ]),
    );
    const values = (t: string) => run.samples.filter((s) => s.tag === t).map((s) => s.value);
    try {
      await waitFor(() => run.latest(cnc.id, 'queued'), 'first value', 10_000);
      const before = run.samples.length;
      for (const v of [2, 3, 4]) {
        cnc.setSignal('feedRate', v);
        // Sampled every 100 ms by the server; queued until the 1.5 s publish, which nothing shows.
        await sleep(250);
      }
      await waitFor(
        () => (run.samples.length > before && values('queued').includes(4)) || undefined,
        'publish',
        5000,
      );
      // The unqueued tag's last value comes with the same publish.
      await waitFor(() => values('latest').at(-1) === 4 || undefined, 'the latest value', 5000);
      expect(values('queued')).toEqual([1, 2, 3, 4]);
      expect(values('latest').length).toBeLessThan(4);
      expect(values('latest').at(-1)).toBe(4);
    } finally {
      cnc.clearSignals();
      await run.close();
    }
  });

  it('resolves browse paths once per session, and names the tag whose path does not resolve', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const run = await runOpcua(
      opcuaConfig({ endpoint: server.endpointUrl }, [
        {
          id: cnc.id,
          tags: [
            { name: 'state', nodeId: `/Objects/Machines/${cnc.id}/state`, datatype: 'Int32' },
            { name: 'speed', nodeId: `/Objects/1:Machines/${cnc.id}/spindleSpeed`, datatype: 'Double' },
            { name: 'ghost', nodeId: `/Objects/Machines/E001-CNC-999/spindleSpeed`, datatype: 'Double' },
          ],
        },
      ]),
      { logger: testLog(lines) },
    );
    try {
      await waitFor(() => run.latest(cnc.id, 'speed'), 'values by browse path', 10_000);
      expect(run.latest(cnc.id, 'state')!.value).toBe(cnc.value('state'));
      expect(run.latest(cnc.id, 'speed')!.value).toBeCloseTo(cnc.value('spindleSpeed') as number, 6);
      const err = lines.find(
        (l) => (l.err as { code?: string } | undefined)?.code === 'WANJI_E_OPCUA_BROWSE_PATH',
      )?.err as { message: string; detail: Record<string, string> };
      expect(err.message).toContain(`machine ${cnc.id}, tag "ghost"`);
      expect(err.message).toContain('/0:Objects/1:Machines has no child "E001-CNC-999"');
      expect(err.detail).toMatchObject({ machine: cnc.id, tag: 'ghost', statusCode: 'BadNoMatch' });
      expect(run.counter('badItems')).toBe(1);
      await waitFor(() => run.healths.at(-1)?.health === 'degraded' || undefined, 'degraded', 5000);
      expect(run.healths.at(-1)!.detail).toBe('1 of 3 tags are bad: ghost (BadNoMatch)');
      expect(run.latest(cnc.id, 'ghost')).toBeUndefined(); // not a good zero: nothing, then null/bad at birth
    } finally {
      await run.close();
    }
  });

  it('polls in batches in mode polling, with quality, without overlapping reads', async () => {
    cnc.setSignal('spindleSpeed', 1500);
    const run = await runOpcua(
      opcuaConfig({ endpoint: server.endpointUrl, mode: 'polling', maxNodesPerRequest: 4 }, [
        { id: cnc.id, tags: simTags(cnc), pollIntervalMs: 200 },
      ]),
    );
    try {
      await waitFor(() => run.latest(cnc.id, 'spindleSpeed')?.value === 1500 || undefined, 'polled', 10_000);
      await waitFor(() => server.stats().currentSubscriptions === 0 || undefined, 'no subscription', 5000);
      const reads = run.counter('reads');
      cnc.setSignal('spindleSpeed', 1600);
      server.setStatus(cnc.id, 'spindleLoad', StatusCodes.BadSensorFailure);
      await waitFor(() => run.latest(cnc.id, 'spindleSpeed')?.value === 1600 || undefined, 'change', 5000);
      await waitFor(() => run.latest(cnc.id, 'spindleLoad')?.quality === 'bad' || undefined, 'bad', 5000);
      expect(run.latest(cnc.id, 'spindleLoad')!.value).toBeNull();
      expect(run.counter('reads')).toBeGreaterThan(reads);
      expect(run.counter('latencyAvgMs')).toBeGreaterThanOrEqual(0);
      expect(run.counter('latencyMaxMs')).toBeGreaterThanOrEqual(run.counter('latencyAvgMs'));
    } finally {
      server.setStatus(cnc.id, 'spindleLoad', undefined);
      cnc.clearSignals();
      await run.close();
    }
  });

  it('closes promptly and idempotently while still connecting', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const run = await runOpcua(
      opcuaConfig({ endpoint: `opc.tcp://127.0.0.1:${await freePort()}` }, [
        { id: cnc.id, tags: simTags(cnc) },
      ]),
      { logger: testLog(lines) },
    );
    await waitFor(() => failedAttempts(lines) >= 1, 'a failed connection attempt', 5000);
    const began = Date.now();
    await Promise.all([run.driver.close(), run.driver.close()]);
    await run.close();
    expect(Date.now() - began).toBeLessThan(3000);
    expect(run.statuses).toEqual([]);
  });

  it('starts against a dead endpoint, connects when the server appears, goes offline when it dies, and returns', async () => {
    const port = await freePort();
    const press = new SimMachine({ id: 'E001-PRS-003', kind: 'press', seed: 5, dataDepth: 'state' });
    press.tick(0);
    const lines: Array<Record<string, unknown>> = [];
    const run = await runOpcua(
      opcuaConfig({ endpoint: `opc.tcp://127.0.0.1:${port}` }, [
        { id: press.id, kind: 'press', tags: simTags(press) },
      ]),
      { logger: testLog(lines) },
    );
    const late = new OpcuaSimServer({ logger: testLog(), machines: [press], port });
    try {
      // Two attempts have failed (node-opcua's own retry timers): no status while nothing answers.
      await waitFor(() => failedAttempts(lines) >= 2, 'two failed connection attempts', 5000);
      expect(run.statuses).toEqual([]);
      await late.start();
      await waitFor(
        () => run.status(press.id) === 'online' || undefined,
        'online once the server is up',
        10_000,
      );
      await late.close();
      await waitFor(() => run.status(press.id) === 'offline' || undefined, 'offline once it is gone', 10_000);
      expect(run.counter('connectionLosses')).toBe(1);
      await late.start(); // the same port
      await waitFor(
        () => run.statuses.filter((s) => s.status === 'online').length === 2 || undefined,
        'online after the restart',
        15_000,
      );
    } finally {
      await late.close();
      await run.close();
    }
  });
});
