/**
 * A Modbus RTU server on a serial port (modbus-serial ServerSerial) hosting several simulated
 * machines, one unit id each, like a line of PLCs on one RS-485 bus. It answers exactly as the
 * TCP server does (service.ts). In tests the port is one end of a virtual pair made by
 * `socat -d -d pty,raw,echo=0 pty,raw,echo=0`.
 */
import { ServerSerial } from 'modbus-serial';
import type { Logger } from 'pino';
import { ModbusSimEndpoint, ModbusSimService, type ModbusUnit } from './service.js';

export interface ModbusSimSerialServerOptions {
  readonly logger: Logger;
  readonly units: readonly ModbusUnit[];
  /** The serial port, e.g. /dev/ttyUSB1 or /dev/pts/5. */
  readonly path: string;
  /** Default 9600. */
  readonly baudRate?: number;
  /** Default 'none'. */
  readonly parity?: 'none' | 'even' | 'odd';
  /** Default 8. */
  readonly dataBits?: 7 | 8;
  /** Default 1. */
  readonly stopBits?: 1 | 2;
  /**
   * Silence that ends a request frame, in ms (default 5). modbus-serial frames requests by
   * silence, not by the 3.5-character rule, so it must be shorter than the master's pause
   * between requests and longer than any gap inside a frame.
   */
  readonly frameSilenceMs?: number;
}

/**
 * ServerSerial's typings omit its third parameter: the serial port options that the second
 * does not pass on (data bits, stop bits).
 */
const SerialServer = ServerSerial as unknown as new (
  vector: ConstructorParameters<typeof ServerSerial>[0],
  options: {
    path: string;
    baudRate: number;
    parity: string;
    unitID: number;
    interval: number;
    openCallback: (err: Error | null) => void;
  },
  serialOptions: { dataBits: number; stopBits: number },
) => ServerSerial;

export class ModbusSimSerialServer extends ModbusSimEndpoint<ServerSerial> {
  private readonly options: ModbusSimSerialServerOptions;

  constructor(options: ModbusSimSerialServerOptions) {
    super(options.units, options.logger.child({ component: 'sim-modbus-rtu', path: options.path }));
    this.options = options;
  }

  get path(): string {
    return this.options.path;
  }

  protected open(): Promise<void> {
    const o = this.options;
    return new Promise((resolve, reject) => {
      const server = new SerialServer(
        new ModbusSimService(this.units, this.logger).vector(),
        {
          path: o.path,
          baudRate: o.baudRate ?? 9600,
          parity: o.parity ?? 'none',
          unitID: 255, // answer for every unit id; the service decides
          interval: o.frameSilenceMs ?? 5,
          openCallback: (err: Error | null) => {
            if (err) {
              this.logger.error({ err }, 'Modbus RTU simulator could not open its port');
              this.server = undefined;
              reject(err);
              return;
            }
            this.logger.info(
              { units: this.units.size, baudRate: o.baudRate ?? 9600 },
              'Modbus RTU simulator up',
            );
            resolve();
          },
        },
        { dataBits: o.dataBits ?? 8, stopBits: o.stopBits ?? 1 },
      );
      server.on('error', (err: Error | null) => this.logger.warn({ err }, 'Modbus RTU simulator error'));
      server.on('socketError', (err: Error | null) => this.logger.debug({ err }, 'Modbus RTU frame error'));
      this.server = server;
    });
  }
}
