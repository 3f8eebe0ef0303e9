/** Config objects shared by the gateway tests. */

export function sampleConfigObject(): Record<string, unknown> {
  return {
    gateway: { group: 'E001', node: 'GW-E001-1' },
    mqtt: { url: 'mqtt://127.0.0.1:1883', primaryHost: 'wanji-hub' },
    heartbeatMs: 60000,
    connections: [
      { id: 'opc-1', type: 'opcua', endpoint: 'opc.tcp://127.0.0.1:4840' },
      { id: 'plc-1', type: 'modbus-tcp', host: '127.0.0.1', port: 502, timeoutMs: 1000 },
    ],
    machines: [
      {
        id: 'E001-CNC-001',
        connection: 'opc-1',
        kind: 'cnc',
        nc: true,
        dataDepth: 'full',
        state: { tag: 'state', map: { 0: 'powered_off', 1: 'stopped', 2: 'idle', 3: 'running', 4: 'alarm' } },
        tags: [
          { name: 'state', nodeId: 'ns=1;s=E001-CNC-001.state', datatype: 'Int32' },
          {
            name: 'spindleSpeed',
            nodeId: 'ns=1;s=E001-CNC-001.spindleSpeed',
            datatype: 'Double',
            deadband: 0.5,
          },
        ],
      },
      {
        id: 'E001-PRS-001',
        connection: 'plc-1',
        kind: 'press',
        dataDepth: 'state+count',
        unitId: 1,
        pollIntervalMs: 500,
        state: { stackLight: { red: 'lampRed', yellow: 'lampYellow', green: 'lampGreen' } },
        tags: [
          { name: 'partCount', table: 'holding', address: 10, type: 'uint32', order: 'CDAB' },
          { name: 'lampRed', table: 'coil', address: 0, type: 'bool' },
          { name: 'lampYellow', table: 'coil', address: 1, type: 'bool' },
          { name: 'lampGreen', table: 'coil', address: 2, type: 'bool' },
        ],
      },
    ],
  };
}
