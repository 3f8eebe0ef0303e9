/**
 * A Modbus TCP server (modbus-serial ServerTCP) hosting several simulated machines, one unit id
 * each, like a serial-to-Ethernet gateway in front of a line of PLCs. What it answers is in
 * service.ts (shared with the RTU serial server).
 */
import type { AddressInfo, Server } from 'node:net';
import { ServerTCP } from 'modbus-serial';
import type { Logger } from 'pino';
import { ModbusSimEndpoint, ModbusSimService, type ModbusUnit } from './service.js';

export type { ModbusUnit } from './service.js';

export interface ModbusSimServerOptions {
  readonly logger: Logger;
  readonly units: readonly ModbusUnit[];
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 0: any free port (read `port` after start). */
  readonly port?: number;
}

export class ModbusSimServer extends ModbusSimEndpoint<ServerTCP> {
  private readonly host: string;
  private readonly requestedPort: number;
  private listeningPort: number | undefined;

  constructor(options: ModbusSimServerOptions) {
    super(options.units, options.logger.child({ component: 'sim-modbus' }));
    this.host = options.host ?? '127.0.0.1';
    this.requestedPort = options.port ?? 0;
  }

  /** The port listened on; throws before start. */
  get port(): number {
    if (this.listeningPort === undefined) throw new Error('Modbus simulator is not started');
    return this.listeningPort;
  }

  get address(): string {
    return this.host;
  }

  protected open(): Promise<void> {
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

  override async close(): Promise<void> {
    await super.close();
    this.listeningPort = undefined;
  }
}
