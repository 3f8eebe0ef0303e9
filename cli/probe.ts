/**
 * `wanji probe modbus …`: reads a register range once and prints it decoded in every type and
 * byte order, to find a device's types and orders before writing a gateway config.
 */
import { parseArgs } from 'node:util';
import { MODBUS_ERROR_CODES, ModbusError } from '../gateway/southbound/modbus/errors.js';
import { formatProbe, type ProbeRequest, probeRead } from '../gateway/southbound/modbus/probe.js';
import { MODBUS_TABLES, type ModbusTable, SERIAL_PARITIES } from '../gateway/southbound/modbus/schema.js';
import { parseModicon } from '../gateway/southbound/modbus/tags.js';
import type { ModbusTarget } from '../gateway/southbound/modbus/transport.js';
import { systemClock } from '../protocol/clock.js';
import { type CommandIo, UsageError } from './io.js';

const USAGE = `Usage: wanji probe modbus (--host H [--port P] [--rtu-over-tcp] | --rtu PATH [--baud B])
                         [--unit U] [--table T] (--address A | --register R) [--count N]

Reads a Modbus range once and prints it in every type and byte order: 16-bit registers,
32-bit and 64-bit values from each offset in ABCD, BADC, CDAB and DCBA, and text. Find the
line that shows the value the machine's display shows, and put that type and order into
the gateway config (docs/modbus.md).

Where:
  --host H          Modbus TCP server (a PLC, or a serial gateway)
  --port P          TCP port (default 502)
  --rtu-over-tcp    RTU frames over TCP (serial device servers in transparent mode)
  --rtu PATH        Modbus RTU on a serial port, e.g. /dev/ttyUSB0
  --baud B          baud rate (default 9600); --parity none|even|odd (none),
                    --data-bits 7|8 (8), --stop-bits 1|2 (1)
What:
  --unit U          unit id (default 1)
  --table T         coil, discrete, input or holding (default holding)
  --address A       0-based protocol address (default 0)
  --register R      or a Modicon number instead of --table/--address: 40001 is holding 0
  --count N         registers (1–125) or bits (1–2000) to read (default 10)
  --timeout MS      how long to wait for the answer (default 1000)
  -h, --help        this text

Exit codes: 0 read, 1 no answer / exception / no connection, 2 bad arguments.
`;

function integer(name: string, v: string | undefined, min: number, max: number, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new UsageError(`--${name} must be an integer ${min}–${max}, not "${v}"`);
  return n;
}

function oneOf<T extends string>(name: string, v: string | undefined, values: readonly T[], fallback: T): T {
  if (v === undefined) return fallback;
  if (!(values as readonly string[]).includes(v))
    throw new UsageError(`--${name} must be one of ${values.join(', ')}`);
  return v as T;
}

export function parseProbeArgs(args: string[]): ProbeRequest | 'help' {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true; strict: true }>>;
  try {
    parsed = parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  const v = parsed.values;
  if (v.help) return 'help';
  const [protocol, ...extra] = parsed.positionals;
  if (protocol !== 'modbus')
    throw new UsageError(
      protocol === undefined
        ? 'say what to probe: wanji probe modbus …'
        : `cannot probe "${protocol}": only modbus`,
    );
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
  if ((v.host === undefined) === (v.rtu === undefined))
    throw new UsageError('give either --host H (TCP) or --rtu PATH (serial)');
  if (v['rtu-over-tcp'] && v.host === undefined) throw new UsageError('--rtu-over-tcp needs --host');
  let target: ModbusTarget;
  if (v.host !== undefined) {
    target = {
      kind: v['rtu-over-tcp'] ? 'rtu-over-tcp' : 'tcp',
      host: v.host,
      port: integer('port', v.port, 1, 65535, 502),
    };
  } else {
    target = {
      kind: 'rtu',
      path: v.rtu!,
      baudRate: integer('baud', v.baud, 300, 4_000_000, 9600),
      parity: oneOf('parity', v.parity, SERIAL_PARITIES, 'none'),
      dataBits: integer('data-bits', v['data-bits'], 7, 8, 8) as 7 | 8,
      stopBits: integer('stop-bits', v['stop-bits'], 1, 2, 1) as 1 | 2,
    };
  }
  let table: ModbusTable;
  let address: number;
  if (v.register !== undefined) {
    if (v.address !== undefined || v.table !== undefined) {
      throw new UsageError(
        'give either --register (a Modicon number such as 40001) or --table/--address (0-based), not both',
      );
    }
    const m = parseModicon(
      /^\d+$/.test(v.register) && v.register.length >= 5 ? v.register : Number(v.register),
    );
    if ('error' in m) throw new UsageError(m.error);
    ({ table, address } = m);
  } else {
    table = oneOf('table', v.table, MODBUS_TABLES, 'holding');
    address = integer('address', v.address, 0, 65535, 0);
  }
  const bits = table === 'coil' || table === 'discrete';
  const count = integer('count', v.count, 1, bits ? 2000 : 125, 10);
  if (address + count > 65536)
    throw new UsageError(`--address ${address} with --count ${count} runs past 65535`);
  return {
    target,
    unitId: integer('unit', v.unit, 0, 255, 1),
    table,
    address,
    count,
    timeoutMs: integer('timeout', v.timeout, 10, 60_000, 1000),
  };
}

const OPTIONS = {
  host: { type: 'string' },
  port: { type: 'string' },
  'rtu-over-tcp': { type: 'boolean' },
  rtu: { type: 'string' },
  baud: { type: 'string' },
  parity: { type: 'string' },
  'data-bits': { type: 'string' },
  'stop-bits': { type: 'string' },
  unit: { type: 'string' },
  table: { type: 'string' },
  address: { type: 'string' },
  register: { type: 'string' },
  count: { type: 'string' },
  timeout: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** What went wrong, for people, with the next thing to try. */
function explain(err: ModbusError, req: ProbeRequest): string {
  if (err.code === MODBUS_ERROR_CODES.timeout) {
    return `${err.message}: check the unit id (--unit ${req.unitId}), the wiring and the serial settings, or raise --timeout`;
  }
  if (err.code === MODBUS_ERROR_CODES.exception) {
    const hint =
      err.modbusCode === 2
        ? 'this range is not readable on this device: try a smaller --count or another --address'
        : err.modbusCode === 1
          ? `the device does not support FC${FC_OF[req.table]}: try another --table`
          : err.modbusCode === 11 || err.modbusCode === 10
            ? 'the gateway reached no device with this unit id'
            : 'see docs/modbus.md for the exception codes';
    return `${err.message} — ${hint}`;
  }
  return err.message;
}
const FC_OF = { coil: 1, discrete: 2, holding: 3, input: 4 } as const;

export async function runProbeCommand(args: string[], io: CommandIo): Promise<number> {
  let req: ProbeRequest | 'help';
  try {
    req = parseProbeArgs(args);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr.write(`wanji probe: ${err.message}\nRun \`wanji probe --help\` for the options.\n`);
    return 2;
  }
  if (req === 'help') {
    io.stdout.write(USAGE);
    return 0;
  }
  try {
    const data = await probeRead(req, systemClock);
    io.stdout.write(formatProbe(req, data));
    return 0;
  } catch (err) {
    if (!(err instanceof ModbusError)) throw err;
    io.logger.debug({ err }, 'probe failed');
    io.stderr.write(`wanji probe: ${explain(err, req)} (${err.code})\n`);
    return 1;
  }
}
