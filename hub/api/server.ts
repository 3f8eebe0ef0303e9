import type { FastifyInstance } from 'fastify';
import { type ApiDeps, buildApi } from './app.js';

export interface ApiServerOptions {
  readonly host: string;
  /** 0 = any free port; read the real one from `port` after start(). */
  readonly port: number;
  readonly deps: ApiDeps;
}

/** How long close() waits for requests in flight before it closes their connections. */
const CLOSE_GRACE_MS = 2_000;

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

  /**
   * Stops taking requests and waits for those in flight, for at most CLOSE_GRACE_MS: then every
   * connection left is closed. A client can hold a connection that never sends a request (a
   * browser's or undici's spare one), which Node's close() would wait for until it times out.
   */
  async close(): Promise<void> {
    const app = this.#app;
    this.#app = undefined;
    if (app === undefined) return;
    const force = setTimeout(() => app.server.closeAllConnections(), CLOSE_GRACE_MS);
    force.unref();
    try {
      await app.close();
    } finally {
      clearTimeout(force);
    }
  }
}
