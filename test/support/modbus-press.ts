/**
 * A press as a gateway config names it on the Modbus connection `plc` (the machine input of
 * validateGatewayConfig): a mode word (0 = stopped, anything else running) in holding register
 * 0 and a counter in holding register 1, polled every 100 ms. SyntheticModbusServer answers it.
 */
export function modbusPress(id: string, unitId: number) {
  return {
    id,
    connection: 'plc',
    kind: 'press',
    dataDepth: 'state+count',
    unitId,
    pollIntervalMs: 100,
    state: { tag: 'mode', map: { 0: 'stopped' }, default: 'running' },
    tags: [
      { name: 'mode', table: 'holding', address: 0, type: 'uint16' },
      { name: 'count', table: 'holding', address: 1, type: 'uint16' },
    ],
  };
}
