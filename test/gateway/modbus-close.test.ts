/**
 * Stopping the gateway keeps what the machine already answered. A Modbus driver closed while a
 * read is on the wire used to drop that read's answer: the machine gave the value, the gateway
 * never journalled it (chaos scenario 5 counted it missing when SIGTERM met a poll). Now the
 * read on the wire finishes and its samples are delivered before close() resolves, the rest of
 * that poll is not read, and no read is sent after close() began.
 *
 * Against our simulator over real Modbus TCP on loopback; the test holds the answer of one read
 * between the server and the driver to close the driver at exactly that moment.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { LinkOpener } from '../../gateway/southbound/modbus/transport.js';
import { openModbusLink } from '../../gateway/southbound/modbus/transport.js';
import { SimMachine } from '../../simulators/machine.js';
import { ModbusSimServer } from '../../simulators/modbus/server.js';
import { waitFor } from '../support/wait.js';
import { testLogger } from './helpers.js';
import { modbusConfig, runModbus } from './modbus-harness.js';

describe('closing a Modbus driver mid-read', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  it('delivers the answer on the wire, reads nothing more, and resolves once delivered', async () => {
    const cnc = new SimMachine({ id: 'E001-CNC-001', kind: 'cnc', seed: 1 });
    cnc.tick(0);
    cnc.setSignal('partCount', 1);
    const server = new ModbusSimServer({ logger: testLogger(), units: [{ unitId: 1, machine: cnc }] });
    await server.start();
    cleanup.push(() => server.close());

    // Holds the answer of the first read sent once `hold` is set, until `release()`.
    let hold = false;
    let held: (() => void) | undefined;
    let sentAfterClose = 0;
    let closing = false;
    const open: LinkOpener = async (target, options) => {
      const link = await openModbusLink(target, options);
      return {
        get isOpen() {
          return link.isOpen;
        },
        read: async (unitId, table, address, count, timeoutMs) => {
          if (closing) sentAfterClose++;
          const answer = await link.read(unitId, table, address, count, timeoutMs);
          if (hold && held === undefined && table === 'holding') {
            await new Promise<void>((resolve) => {
              held = resolve;
            });
          }
          return answer;
        },
        write: (unitId, op, timeoutMs) => link.write(unitId, op, timeoutMs),
        close: () => link.close(),
      };
    };
    const config = modbusConfig(
      { type: 'modbus-tcp', host: '127.0.0.1', port: server.port, timeoutMs: 1_000 },
      [
        {
          id: 'cnc',
          pollIntervalMs: 50,
          // Two tables, two reads per poll: the second must not be read once close() began.
          tags: [
            { name: 'partCount', table: 'holding', address: 4, type: 'uint32' },
            { name: 'lampGreen', table: 'coil', address: 2, type: 'bool' },
          ],
        },
      ],
    );
    const run = await runModbus(config, 'plc', { open });
    cleanup.push(() => run.close());
    const partCounts = () =>
      run.samples.filter((s) => s.machineId === 'cnc' && s.tag === 'partCount').map((s) => s.value);
    await waitFor(() => partCounts().includes(1), 'the first value');

    // The machine counts on; its next answer is held on its way to the driver.
    cnc.setSignal('partCount', 2);
    hold = true;
    await waitFor(() => held !== undefined, 'a read of partCount held on the wire');
    closing = true;
    let closed = false;
    const closingDone = run.driver.close().then(() => {
      closed = true;
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(closed, 'close() waits for the read on the wire').toBe(false);
    held!();
    await closingDone;

    expect(partCounts(), 'the answer given before the stop is delivered').toContain(2);
    expect(run.samples.at(-1)).toMatchObject({ tag: 'partCount', value: 2, quality: 'good' });
    expect(sentAfterClose, 'reads sent after close() began').toBe(0);
  });
});
