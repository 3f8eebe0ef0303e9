/**
 * The benchmark's peer process: the synthetic Modbus or OPC UA server of a scenario and an
 * embedded MQTT broker (aedes) the gateway publishes to. Its CPU is not the gateway's, so it
 * runs apart. Talks to the parent over IPC: {ready, …endpoints}, then {stats} on request.
 */
import { once } from 'node:events';
import { createServer } from 'node:net';
import { Aedes } from 'aedes';
import { SyntheticModbusServer } from './modbus-server.js';
import { SyntheticOpcuaServer } from './opcua-server.js';
import { machineIds, type Scenario } from './scenarios.js';

interface Start {
  readonly type: 'start';
  readonly scenario: Scenario;
}

const send = (m: unknown): void => {
  process.send?.(m);
};

async function main(scenario: Scenario): Promise<void> {
  const broker = await Aedes.createBroker();
  let published = 0;
  broker.on('publish', (_packet, client) => {
    if (client) published++;
  });
  const mqtt = createServer((socket) => broker.handle(socket));
  mqtt.listen(0, '127.0.0.1');
  await once(mqtt, 'listening');
  const address = mqtt.address();
  if (address === null || typeof address === 'string') throw new Error('no MQTT port');
  const brokerUrl = `mqtt://127.0.0.1:${address.port}`;
  let modbus: SyntheticModbusServer | undefined;
  let opcua: SyntheticOpcuaServer | undefined;
  if (scenario.protocol === 'modbus') {
    modbus = new SyntheticModbusServer({ units: Array.from({ length: 247 }, (_, i) => i + 1) });
    await modbus.start();
  } else {
    opcua = new SyntheticOpcuaServer({ machines: machineIds(scenario), tags: scenario.tags });
    await opcua.start();
  }
  process.on('message', (m: { type: string }) => {
    if (m.type === 'stats') send({ type: 'stats', published, modbusRequests: modbus?.requests ?? 0 });
    if (m.type === 'stop') {
      void (async () => {
        await modbus?.close();
        await opcua?.close();
        broker.close();
        mqtt.close();
        process.exit(0);
      })();
    }
  });
  send({
    type: 'ready',
    brokerUrl,
    ...(modbus ? { modbusPort: modbus.port } : {}),
    ...(opcua ? { opcuaUrl: opcua.endpointUrl } : {}),
  });
}

process.once('message', (m: Start) => {
  main(m.scenario).catch((err: unknown) => {
    process.stderr.write(`sim child failed: ${String(err)}\n`);
    process.exit(1);
  });
});
