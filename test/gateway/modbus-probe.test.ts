/** `wanji probe modbus` against pymodbus (known values in every order) and the simulator (errors). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runProbeCommand } from '../../cli/probe.js';
import { SimMachine } from '../../simulators/machine.js';
import { ModbusSimServer } from '../../simulators/modbus/server.js';
import { runCommand } from '../support/cli-io.js';
import { testLogger } from './helpers.js';
import { describeWithPeers, type PymodbusServer, startPymodbus } from './modbus-peers.js';

async function probe(...args: string[]) {
  return runCommand(runProbeCommand, args, testLogger());
}

/** The row of a probe table that starts with `offset` in the section titled `section`. */
function rows(out: string, section: RegExp): string[][] {
  const lines = out.split('\n');
  const start = lines.findIndex((l) => section.test(l));
  const body: string[][] = [];
  let offset = '';
  for (const line of lines.slice(start + 2)) {
    if (line.trim() === '') break;
    const cells = line.trim().split(/\s{2,}/);
    if (/^\d+$/.test(cells[0]!)) offset = cells.shift()!;
    body.push([offset, ...cells]);
  }
  return body;
}

describe('wanji probe: arguments and errors', () => {
  const cnc = new SimMachine({ id: 'CNC-1', kind: 'cnc', seed: 1 });
  let server: ModbusSimServer;
  beforeAll(async () => {
    cnc.tick(0);
    cnc.setSignal('partCount', 70_000);
    server = new ModbusSimServer({ logger: testLogger(), units: [{ unitId: 1, machine: cnc }] });
    await server.start();
  });
  afterAll(() => server.close());

  it('explains bad arguments and exits 2', async () => {
    expect((await probe('--help')).out).toContain('Usage: wanji probe modbus');
    for (const [args, want] of [
      [['modbus', '--unit', '1'], /either --host H \(TCP\) or --rtu PATH/],
      [['opcua', '--host', 'h'], /only modbus/],
      [
        ['modbus', '--host', 'h', '--register', '40001', '--address', '0'],
        /either --register .* or --table\/--address/,
      ],
      [['modbus', '--host', 'h', '--register', '20001'], /no Modicon table starts with 2/],
      [['modbus', '--host', 'h', '--count', '126'], /--count must be an integer 1–125/],
      [
        ['modbus', '--host', 'h', '--table', 'holdings'],
        /--table must be one of coil, discrete, input, holding/,
      ],
    ] as const) {
      const r = await probe(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err).toMatch(want);
    }
  });

  it('prints registers from a Modicon number, and coils', async () => {
    const r = await probe(
      'modbus',
      '--host',
      '127.0.0.1',
      '--port',
      String(server.port),
      '--register',
      '40005',
      '--count',
      '2',
    );
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^unit 1, holding registers 4–5 \(40005–40006\), FC3, 127\.0\.0\.1:\d+/);
    const wide = rows(r.out, /^32-bit values/);
    expect(wide.find((row) => row[1] === 'ABCD')).toEqual([
      '0',
      'ABCD',
      '0x00011170',
      '70000',
      '70000',
      '9.809089e-41',
    ]);
    const coils = await probe(
      'modbus',
      '--host',
      '127.0.0.1',
      '--port',
      String(server.port),
      '--table',
      'coil',
      '--count',
      '3',
    );
    expect(coils.out).toMatch(/offset\s+address\s+Modicon\s+value\n\s+0\s+0\s+00001\s+[01]/);
  });

  it('says timeout and exception plainly, with the exception name, and exits 1', async () => {
    const port = String(server.port);
    const silent = await probe(
      'modbus',
      '--host',
      '127.0.0.1',
      '--port',
      port,
      '--unit',
      '9',
      '--timeout',
      '200',
    );
    expect(silent.code).toBe(1);
    expect(silent.err).toMatch(
      /unit 9 FC3 holding 0\+10: no answer within 200 ms: check the unit id \(--unit 9\).*WANJI_E_MODBUS_TIMEOUT/,
    );
    const refused = await probe(
      'modbus',
      '--host',
      '127.0.0.1',
      '--port',
      port,
      '--address',
      '10',
      '--count',
      '5',
    );
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(
      /exception 2 \(illegal data address\) — this range is not readable.*WANJI_E_MODBUS_EXCEPTION/,
    );
    const closed = await probe('modbus', '--host', '127.0.0.1', '--port', '1', '--timeout', '500');
    expect(closed.code).toBe(1);
    expect(closed.err).toMatch(/cannot connect to 127\.0\.0\.1:1: .*WANJI_E_MODBUS_CONNECT/);
  });
});

describeWithPeers(['pymodbus'], 'wanji probe against pymodbus', () => {
  let server: PymodbusServer;
  beforeAll(async () => {
    server = await startPymodbus('rtu');
  });
  afterAll(() => server?.close());

  it('shows every known value in the row of its order (RTU over TCP)', async () => {
    const r = await probe(
      'modbus',
      '--host',
      '127.0.0.1',
      '--port',
      String(server.port),
      '--rtu-over-tcp',
      '--count',
      '92',
    );
    expect(r.code, r.err).toBe(0);
    const w32 = rows(r.out, /^32-bit values/);
    const w64 = rows(r.out, /^64-bit values/);
    const regs = rows(r.out, /^16-bit registers/);
    const column = { int32: 3, uint32: 4, float32: 5, int64: 3, uint64: 4, float64: 5 } as const;
    let checked = 0;
    for (const e of server.entries.filter((x) => x.table === 'holding' && x.address < 92)) {
      const at = String(e.address);
      if (e.type === 'int16' || e.type === 'uint16') {
        const row = regs.find((x) => x[0] === at)!;
        expect(
          e.order === 'ABCD' || e.order === 'CDAB' ? row[e.type === 'int16' ? 4 : 5] : 'skip',
          e.name,
        ).toBe(e.order === 'ABCD' || e.order === 'CDAB' ? String(e.value) : 'skip');
      } else if (e.type in column) {
        const table = e.type.endsWith('64') ? w64 : w32;
        const row = table.find((x) => x[0] === at && x[1]!.startsWith(e.order!))!;
        const shown = row[column[e.type as keyof typeof column]]!;
        if (e.type.startsWith('float')) expect(Number(shown), e.name).toBeCloseTo(Number(e.value), 3);
        else expect(shown, e.name).toBe(String(e.value));
        checked++;
      }
    }
    expect(checked).toBe(6 * 4);
    const text = await probe(
      'modbus',
      '--host',
      '127.0.0.1',
      '--port',
      String(server.port),
      '--rtu-over-tcp',
      '--address',
      '80',
      '--count',
      '6',
    );
    expect(text.out).toContain('text ABCD: "Wanji-PLC..."');
    expect(text.out).toContain('text BADC: "aWjn-iLP.C.."');
  });
});
