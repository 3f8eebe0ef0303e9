/**
 * Recovery against a real server: restarted on the same port, killed for a while, a network
 * cut and a half-open (silent) link. The server side counts sessions, so "one session, never
 * two" is checked where it matters.
 */
import { StatusCodes } from 'node-opcua';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MetricUpdate } from '../../gateway/sampler.js';
import { SimMachine } from '../../simulators/machine.js';
import { OpcuaSimServer, opcuaNodeId } from '../../simulators/opcua/server.js';
import { sleep, waitFor } from './helpers.js';
import { opcuaConfig, quietOpcua, runOpcua, type SamplerEvent, testLog } from './opcua-helpers.js';
import { TcpProxy } from './opcua-proxy.js';

describe('OPC UA recovery', () => {
  const cnc = new SimMachine({ id: 'E001-CNC-001', kind: 'cnc', seed: 11 });
  const server = new OpcuaSimServer({ logger: testLog(), machines: [cnc] });
  let proxy: TcpProxy;
  const tags = ['state', 'spindleSpeed', 'spindleLoad', 'partCount'].map((name) => ({
    name,
    nodeId: opcuaNodeId(cnc.id, name),
    datatype: cnc.spec(name)!.type,
  }));
  const speeds = (run: { samples: Array<{ tag: string; value: unknown }> }) =>
    run.samples.filter((s) => s.tag === 'spindleSpeed').map((s) => s.value);

  beforeAll(async () => {
    quietOpcua();
    cnc.tick(0);
    cnc.tick(60_000);
    await server.start();
    proxy = new TcpProxy(server.port);
    await proxy.start();
  });

  afterAll(async () => {
    await proxy?.close();
    await server.close();
  });

  it('comes back after a server restart on the same port with one session and the same monitored items', async ({
    annotate,
  }) => {
    cnc.setSignal('spindleSpeed', 1111);
    // A long watchdog: on a loaded machine a slow keep-alive must not count as a second loss here.
    const run = await runOpcua(
      opcuaConfig({ endpoint: server.endpointUrl, watchdogMs: 10_000 }, [{ id: cnc.id, tags }]),
      {
        sampler: true,
      },
    );
    try {
      await waitFor(() => run.published.some((e) => e.kind === 'birth') || undefined, 'birth', 10_000);
      expect(server.stats()).toEqual({
        currentSessions: 1,
        cumulatedSessions: 1,
        currentSubscriptions: 1,
        monitoredItems: 4,
      });
      const began = Date.now();
      await server.restart();
      cnc.setSignal('spindleSpeed', 2222);
      await waitFor(() => speeds(run).includes(2222) || undefined, 'values after the restart', 20_000);
      const ms = Date.now() - began;
      await waitFor(() => run.counter('reconnects') >= 1 || undefined, 'repair finished', 5000);
      await annotate(`values resumed ${ms} ms after the restart began`);
      expect(server.stats()).toEqual({
        currentSessions: 1,
        cumulatedSessions: 1,
        currentSubscriptions: 1,
        monitoredItems: 4,
      });
      const counters = run.driver.counters();
      const seen = JSON.stringify(counters);
      // One new session (the server lost the old one); repaired by node-opcua, not replaced.
      expect([counters.sessionsCreated, counters.recoveries], seen).toEqual([2, 0]);
      expect(counters.reconnects, seen).toBe(counters.connectionLosses);
      // Through the sampler: the machine died with the server and was born again.
      expect(run.published.map((e) => e.kind).filter((k) => k !== 'data')).toEqual([
        'birth',
        'death',
        'birth',
      ]);
      cnc.setSignal('spindleSpeed', 3333); // the subscription (not only the re-read) runs again
      await waitFor(() => speeds(run).includes(3333) || undefined, 'notifications after the restart', 5000);
    } finally {
      cnc.clearSignals();
      await run.close();
    }
  });

  it('keeps its session across a network cut (the server never sees a second one)', async () => {
    const before = server.stats().cumulatedSessions;
    const run = await runOpcua(
      opcuaConfig({ endpoint: `opc.tcp://127.0.0.1:${proxy.port}`, watchdogMs: 10_000 }, [
        { id: cnc.id, tags },
      ]),
    );
    try {
      await waitFor(() => run.status(cnc.id) === 'online' || undefined, 'online', 10_000);
      proxy.cut();
      await waitFor(() => run.status(cnc.id) === 'offline' || undefined, 'offline on the cut', 5000);
      cnc.setSignal('spindleSpeed', 4444);
      await waitFor(() => speeds(run).includes(4444) || undefined, 'values after the cut', 15_000);
      // Republished notifications can arrive before node-opcua reports the repair finished.
      await waitFor(() => run.counter('reconnects') >= 1 || undefined, 'repair finished', 5000);
      const counters = run.driver.counters();
      const seen = JSON.stringify({ server: server.stats(), counters });
      expect(server.stats(), seen).toMatchObject({ currentSessions: 1, cumulatedSessions: before + 1 });
      expect(counters.sessionsCreated, seen).toBe(1);
      expect(counters.connectionLosses, seen).toBeGreaterThanOrEqual(1);
      expect(counters.reconnects, seen).toBe(counters.connectionLosses);
    } finally {
      cnc.clearSignals();
      await run.close();
    }
  });

  it('notices a silent link by keep-alive, breaks it and resumes the same session when it heals', async ({
    annotate,
  }) => {
    const before = server.stats().cumulatedSessions;
    const run = await runOpcua(
      opcuaConfig(
        {
          endpoint: `opc.tcp://127.0.0.1:${proxy.port}`,
          publishingIntervalMs: 100,
          keepAliveCount: 5,
          watchdogMs: 1500,
        },
        [{ id: cnc.id, tags }],
      ),
    );
    try {
      await waitFor(() => run.status(cnc.id) === 'online' || undefined, 'online', 10_000);
      const began = Date.now();
      proxy.freeze();
      await waitFor(() => run.counter('keepAliveMisses') >= 1 || undefined, 'keep-alive miss', 10_000);
      await waitFor(() => run.status(cnc.id) === 'offline' || undefined, 'offline', 1000);
      await annotate(`silence noticed after ${Date.now() - began} ms (watchdog 1500 ms)`);
      await sleep(300);
      proxy.thaw();
      cnc.setSignal('spindleSpeed', 5555);
      await waitFor(() => speeds(run).includes(5555) || undefined, 'values after the thaw', 15_000);
      expect(run.status(cnc.id)).toBe('online');
      expect(server.stats()).toMatchObject({ cumulatedSessions: before + 1 });
      await waitFor(() => server.stats().currentSessions === 1 || undefined, 'one session', 5000);
      expect(run.counter('recoveries')).toBe(0);
    } finally {
      cnc.clearSignals();
      await run.close();
    }
  });

  it('starts over with a new session when a repair does not finish within the session timeout', async () => {
    const run = await runOpcua(
      opcuaConfig(
        {
          endpoint: `opc.tcp://127.0.0.1:${proxy.port}`,
          publishingIntervalMs: 100,
          keepAliveCount: 5,
          watchdogMs: 1000,
          sessionTimeoutMs: 2000,
        },
        [{ id: cnc.id, tags }],
      ),
    );
    try {
      await waitFor(() => run.status(cnc.id) === 'online' || undefined, 'online', 10_000);
      proxy.freeze();
      // Watchdog (1 s) breaks the link; the repair hangs; after 2 s + backoffMaxMs the link is
      // given up and a new one started. Its session is the only one once the old one expired.
      await waitFor(() => run.counter('recoveries') >= 1 || undefined, 'a new link', 10_000);
      proxy.thaw();
      cnc.setSignal('spindleSpeed', 6666);
      await waitFor(() => speeds(run).includes(6666) || undefined, 'values on the new link', 15_000);
      await waitFor(
        () => server.stats().currentSessions === 1 || undefined,
        'one session on the server',
        5000,
      );
      expect(run.counter('keepAliveMisses')).toBeGreaterThanOrEqual(1);
    } finally {
      cnc.clearSignals();
      await run.close();
    }
  });

  it('publishes a killed server as dead machines, and bad or uncertain quality as such, never as good', async () => {
    const run = await runOpcua(opcuaConfig({ endpoint: server.endpointUrl }, [{ id: cnc.id, tags }]), {
      sampler: true,
    });
    const metric = (e: SamplerEvent | undefined, name: string): MetricUpdate | undefined =>
      e !== undefined && e.kind !== 'death' ? e.metrics.find((m) => m.name === name) : undefined;
    const lastLoad = () =>
      run.published
        .map((e) => metric(e, 'Signals/spindleLoad'))
        .filter((m) => m !== undefined)
        .at(-1);
    try {
      await waitFor(() => run.published.some((e) => e.kind === 'birth') || undefined, 'birth', 10_000);
      server.setStatus(cnc.id, 'spindleLoad', StatusCodes.BadSensorFailure);
      await waitFor(() => lastLoad()?.quality === 'bad' || undefined, 'bad published', 5000);
      expect(lastLoad()!.value).toBeNull();
      server.setStatus(cnc.id, 'spindleLoad', StatusCodes.UncertainLastUsableValue);
      await waitFor(() => lastLoad()?.quality === 'uncertain' || undefined, 'uncertain published', 5000);
      expect(lastLoad()!.value).toBe(cnc.value('spindleLoad'));
      server.setStatus(cnc.id, 'spindleLoad', undefined);

      await server.close();
      await waitFor(() => run.published.at(-1)?.kind === 'death' || undefined, 'death', 10_000);
      await sleep(1500); // down for a while: the driver backs off
      await server.start();
      await waitFor(() => run.published.at(-1)?.kind === 'birth' || undefined, 'born again', 20_000);
      const birth = run.published.at(-1)!;
      expect(metric(birth, 'Signals/spindleLoad')).toMatchObject({ quality: 'good' });
      expect(server.stats()).toMatchObject({ currentSessions: 1, cumulatedSessions: 1 });
      // Nothing was published as a good zero while the server was gone.
      const zeros = run.published.flatMap((e) =>
        e.kind === 'death'
          ? []
          : e.metrics.filter((m) => m.quality === 'good' && m.value === 0 && m.name.endsWith('Load')),
      );
      expect(zeros).toEqual([]);
    } finally {
      server.setStatus(cnc.id, 'spindleLoad', undefined);
      await run.close();
    }
  });
});
