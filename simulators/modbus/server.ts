/**
 * A Modbus TCP server (modbus-serial ServerTCP) hosting several simulated machines, one unit id
 * each, like a serial-to-Ethernet gateway in front of a line of PLCs. What it answers is in
 * service.ts (shared with the RTU serial server).
 */
import type { AddressInfo, Server } from 'node:net';
import { ServerTCP } from 'modbus-serial';
import type { Logger } from 'pino';
import type { SimMachine } from '../machine.js';
import { ModbusSimService, type ModbusUnit, unitMap } from './service.js';

export type { ModbusUnit } from './service.js';

export interface ModbusSimServerOptions {
  readonly logger: Logger;
  readonly units: readonly ModbusUnit[];
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 0: any free port (read `port` after start). */
  readonly port?: number;
}

export class ModbusSimServer {
  private readonly logger: Logger;
  private readonly host: string;
  private readonly requestedPort: number;
  private readonly units: ReadonlyMap<number, SimMachine>;
  private server: ServerTCP | undefined;
  private listeningPort: number | undefined;
  private starting: Promise<void> | undefined;

  constructor(options: ModbusSimServerOptions) {
    this.host = options.host ?? '127.0.0.1';
    this.requestedPort = options.port ?? 0;
    this.units = unitMap(options.units);
    this.logger = options.logger.child({ component: 'sim-modbus' });
  }

  /** The port listened on; throws before start. */
  get port(): number {
    if (this.listeningPort === undefined) throw new Error('Modbus simulator is not started');
    return this.listeningPort;
  }

  get address(): string {
    return this.host;
  }

  unitList(): { unitId: number; machineId: string }[] {
    return [...this.units].map(([unitId, m]) => ({ unitId, machineId: m.id }));
  }

  start(): Promise<void> {
    this.starting ??= this.listen();
    return this.starting;
  }

  private listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      // ServerTCP listens on `options.port || 502`, so a numeric 0 would become 502; net.listen
      // accepts the string '0' and it is truthy.
      const port = (this.requestedPort === 0 ? '0' : this.requestedPort) as number;
      const server = new ServerTCP(new ModbusSimService(this.units, this.logger).vector(), {
        host: this.host,
        port,
        unitID: 255,
      });
      this.server = server;
      const onError = (err: Error): void => {
        this.logger.error({ err }, 'Modbus simulator could not listen');
        reject(err);
      };
      server.once('serverError', onError);
      server.on('socketError', (err: Error | null) =>
        this.logger.debug({ err }, 'Modbus client socket error'),
      );
      server.on('error', (err: Error | null) => this.logger.warn({ err }, 'Modbus simulator error'));
      server.once('initialized', () => {
        server.off('serverError', onError);
        server.on('serverError', (err: Error | null) => this.logger.error({ err }, 'Modbus simulator error'));
        // ServerTCP does not expose its net.Server; the port is only known from it.
        const net = (server as unknown as { _server: Server })._server;
        this.listeningPort = (net.address() as AddressInfo).port;
        this.logger.info(
          { host: this.host, port: this.listeningPort, units: this.units.size },
          'Modbus simulator up',
        );
        resolve();
      });
    });
  }

  async close(): Promise<void> {
    const server = this.server;
    const starting = this.starting;
    this.server = undefined;
    this.starting = undefined;
    if (server === undefined) return;
    await starting?.catch(() => undefined);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    this.listeningPort = undefined;
  }
}
