import type { FastifyInstance } from 'fastify';
import { type ApiDeps, buildApi } from './app.js';

export interface ApiServerOptions {
  readonly host: string;
  /** 0 = any free port; read the real one from `port` after start(). */
  readonly port: number;
  readonly deps: ApiDeps;
}

/** Builds the API in start() and listens; close() stops it. */
export class ApiServer {
  readonly #o: ApiServerOptions;
  #app: FastifyInstance | undefined;
  #port: number | undefined;

  constructor(opts: ApiServerOptions) {
    this.#o = opts;
  }

  get port(): number | undefined {
    return this.#port;
  }

  async start(): Promise<void> {
    if (this.#app !== undefined) return;
    const app = buildApi(this.#o.deps);
    await app.listen({ host: this.#o.host, port: this.#o.port });
    const addr = app.server.address();
    this.#port = typeof addr === 'object' && addr !== null ? addr.port : this.#o.port;
    this.#app = app;
  }

  async close(): Promise<void> {
    const app = this.#app;
    this.#app = undefined;
    await app?.close();
  }
}
