/**
 * The HTTP control of a running simulated fleet's faults (`--faults-port` of `wanji sim` and
 * `wanji demo`), for a tester with curl:
 *
 *   GET    /faults        the faults in force (JSON array)
 *   POST   /faults        {"kind":"offline","target":"E001","seconds":30} starts one (201, the fault)
 *   DELETE /faults        ends them all ({"cleared": n})
 *   DELETE /faults/<id>   ends one ({"cleared": 1}, or 404)
 *
 * No authentication: it listens on the simulators' own interface (loopback by default) and
 * controls only simulated machines and the demo's gateways.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { type ActiveFault, checkFaultRequest, type FaultRequest } from './faults.js';

/** Whoever applies the faults: the fleet, or the demo (fleet and gateways). */
export interface FaultHandler {
  addFault(request: FaultRequest): Promise<ActiveFault>;
  clearFaults(id?: number): Promise<number>;
  faults(): Promise<ActiveFault[]>;
}

export interface FaultControlOptions {
  readonly handler: FaultHandler;
  readonly logger: Logger;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 0: any free port (read `url` after start). */
  readonly port?: number;
}

const MAX_BODY_BYTES = 4096;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export class FaultControlServer {
  readonly #o: FaultControlOptions;
  readonly #log: Logger;
  #server: Server | undefined;
  #starting: Promise<void> | undefined;

  constructor(options: FaultControlOptions) {
    this.#o = options;
    this.#log = options.logger.child({ component: 'sim-faults' });
  }

  /** http://host:port — after start. */
  get url(): string {
    const address = this.#server?.address();
    if (address === null || address === undefined || typeof address === 'string') {
      throw new Error('the fault control is not listening');
    }
    const host = this.#o.host ?? '127.0.0.1';
    return `http://${host.includes(':') ? `[${host}]` : host}:${(address as AddressInfo).port}`;
  }

  start(): Promise<void> {
    this.#starting ??= new Promise((resolve, reject) => {
      const server = createServer((req, res) => void this.#serve(req, res));
      this.#server = server;
      server.once('error', reject);
      server.listen(this.#o.port ?? 0, this.#o.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        this.#log.info({ url: this.url }, 'fault control listening');
        resolve();
      });
    });
    return this.#starting;
  }

  async close(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    this.#starting = undefined;
    if (server === undefined) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async #serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const path = new URL(req.url ?? '/', 'http://x').pathname.replace(/\/+$/, '');
      const one = /^\/faults\/(\d+)$/.exec(path);
      if (path === '/faults' && req.method === 'GET') return send(res, 200, await this.#o.handler.faults());
      if (path === '/faults' && req.method === 'POST') {
        let body: unknown;
        try {
          body = JSON.parse(await readBody(req));
        } catch (err) {
          if (err instanceof HttpError) throw err;
          throw new HttpError(400, 'the body must be JSON: {"kind", "target", "seconds"?}');
        }
        let request: FaultRequest;
        try {
          request = checkFaultRequest(body);
        } catch (err) {
          throw new HttpError(400, (err as Error).message);
        }
        try {
          return send(res, 201, await this.#o.handler.addFault(request));
        } catch (err) {
          throw new HttpError(400, err instanceof Error ? err.message : String(err));
        }
      }
      if (path === '/faults' && req.method === 'DELETE') {
        return send(res, 200, { cleared: await this.#o.handler.clearFaults() });
      }
      if (one !== null && req.method === 'DELETE') {
        const cleared = await this.#o.handler.clearFaults(Number(one[1]));
        if (cleared === 0) throw new HttpError(404, `no fault ${one[1]} in force`);
        return send(res, 200, { cleared });
      }
      throw new HttpError(404, 'use GET, POST or DELETE /faults, or DELETE /faults/<id>');
    } catch (err) {
      const status = err instanceof HttpError ? err.status : 500;
      if (status === 500) this.#log.error({ err }, 'fault control request failed');
      else
        this.#log.warn(
          { status, method: req.method, error: (err as Error).message },
          'fault request refused',
        );
      send(res, status, { error: err instanceof Error ? err.message : String(err) });
    }
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `a fault request is at most ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
