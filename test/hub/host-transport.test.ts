/**
 * The hub's own host on its embedded broker, in process (the default) and over loopback TCP
 * (`hostTransport: 'tcp'`): the same Sparkplug behaviour either way, seen from real MQTT clients.
 */
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hub } from '../../hub/hub.js';
import {
  DataType,
  decodeHostState,
  encodeHostState,
  type HostState,
  stateTopic,
} from '../../protocol/index.js';
import { cncBirth, TestEdgeNode, tempDir, testHub, waitFor } from './helpers.js';

describe.each(['in-process', 'tcp'] as const)('the hub host over %s', (hostTransport) => {
  const dir = tempDir();
  const hub: Hub = testHub(dir.path, { hostTransport, hostId: 'transport-hub' });
  let observer: MqttClient;
  const states: HostState[] = [];

  beforeAll(async () => {
    await hub.start();
    observer = await connectAsync(hub.mqttUrl, { reconnectPeriod: 0 });
    observer.on('message', (_t, p) => {
      const s = decodeHostState(p);
      if (s !== undefined) states.push(s);
    });
    await observer.subscribeAsync(stateTopic('transport-hub'), { qos: 1 });
  });
  afterAll(async () => {
    await observer.endAsync(true);
    await hub.close();
    dir.remove();
  });

  it('has STATE online retained, and puts it back when a client overwrites it with offline', async () => {
    await waitFor(() => states.length === 1, 'retained STATE');
    const online = states[0]!;
    expect(online.online).toBe(true);
    await observer.publishAsync(
      stateTopic('transport-hub'),
      Buffer.from(encodeHostState({ online: false, timestamp: online.timestamp })),
      { qos: 1, retain: true },
    );
    await waitFor(() => states.length === 3, 'the overwrite and the correction');
    expect(states[2]).toEqual(online);
    expect(hub.host.counters.stateCorrections).toBe(1);
  });

  it('stores what an edge node sends, checks its sequence and asks for a rebirth after a gap', async () => {
    const gw = new TestEdgeNode('transport', 'gw1');
    await gw.connect(hub.mqttUrl);
    try {
      const now = Date.now();
      await gw.nbirth();
      await gw.dbirth('m1', cncBirth(now));
      await gw.ddata('m1', [{ alias: 6, datatype: DataType.Double, value: 1200.5, timestamp: now + 1 }]);
      await waitFor(() => hub.host.counters.messages >= 3, 'three messages at the host');
      await hub.flush();
      const points = await hub.store.query({
        enterprise: 'transport',
        machine: 'm1',
        metric: 'Signals/spindleSpeed',
      });
      expect(points.map((p) => p.value)).toEqual([0, 1200.5]);
      expect(hub.host.counters.seqGaps).toBe(0);
      // seq 3 never comes: after the reorder timeout (2 s by default) the host asks for a rebirth.
      gw.seq.next();
      await gw.ddata('m1', [{ alias: 6, datatype: DataType.Double, value: 1, timestamp: now + 2 }]);
      await waitFor(() => gw.rebirthRequests() === 1, 'a rebirth request (NCMD)', 5_000);
      expect(hub.host.counters.seqGaps).toBe(1);
    } finally {
      await gw.close();
    }
  });

  it('says offline, with its STATE timestamp, when it closes', async () => {
    const online = states[0]!;
    await hub.close();
    await waitFor(() => states.at(-1)?.online === false, 'STATE offline');
    expect(states.at(-1)).toEqual({ online: false, timestamp: online.timestamp });
  });
});
