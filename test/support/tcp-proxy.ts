/**
 * A TCP proxy on loopback that plays a network link in tests: it forwards every connection to
 * a target port, and the test can cut every open connection at once (a dropped uplink, a
 * broker that closes the socket) or take the link down (new connections are closed as soon
 * as they arrive) and bring it back. When either side of a pair closes, the other is closed
 * too, so a peer that dies (kill -9) is seen as a closed connection on the other side.
 */
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';

export interface ProxyCounters {
  /** Connections accepted while the link was up. */
  accepted: number;
  /** Connections closed on arrival while the link was down. */
  refused: number;
  /** Connections closed by `cut()` or `down()`. */
  cut: number;
}

export class TcpProxy {
  readonly counters: ProxyCounters = { accepted: 0, refused: 0, cut: 0 };
  #targetPort: number;
  readonly #targetHost: string;
  readonly #pairs = new Set<{ client: Socket; upstream: Socket }>();
  #server: Server | undefined;
  #port = 0;
  #up = true;

  constructor(targetPort: number, targetHost = '127.0.0.1') {
    this.#targetPort = targetPort;
    this.#targetHost = targetHost;
  }

  /** Forwards new connections to another port from now on (open ones stay where they are). */
  retarget(targetPort: number): void {
    this.#targetPort = targetPort;
  }

  /** The port the proxy listens on (after start). */
  get port(): number {
    return this.#port;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.#port}`;
  }

  get isUp(): boolean {
    return this.#up;
  }

  /** Open proxied connections. */
  get connections(): number {
    return this.#pairs.size;
  }

  /** Listens on `port` (0: any free port). Idempotent. */
  async start(port = 0): Promise<void> {
    if (this.#server !== undefined) return;
    const server = createServer((client) => this.#accept(client));
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const addr = server.address();
    this.#port = typeof addr === 'object' && addr !== null ? addr.port : port;
  }

  /** Closes every open connection, both sides; new ones are accepted as before. */
  cut(): number {
    const n = this.#pairs.size;
    for (const pair of this.#pairs) {
      pair.client.destroy();
      pair.upstream.destroy();
    }
    this.#pairs.clear();
    this.counters.cut += n;
    return n;
  }

  /**
   * Like a link that fails before anyone notices: for `ms` every open connection swallows
   * what either side sends (nothing is forwarded, nothing is refused), then all are cut.
   * What was sent meanwhile is gone, as on a real network. Resolves with the number cut.
   */
  async silenceThenCut(ms: number): Promise<number> {
    const pairs = [...this.#pairs];
    for (const { client, upstream } of pairs) {
      client.unpipe(upstream);
      upstream.unpipe(client);
      client.on('data', () => undefined);
      upstream.on('data', () => undefined);
    }
    await new Promise((r) => setTimeout(r, ms));
    let n = 0;
    for (const pair of pairs) {
      if (!this.#pairs.delete(pair)) continue;
      pair.client.destroy();
      pair.upstream.destroy();
      n++;
    }
    this.counters.cut += n;
    return n;
  }

  /** The link goes down: open connections are cut, new ones closed on arrival. */
  down(): void {
    this.#up = false;
    this.cut();
  }

  up(): void {
    this.#up = true;
  }

  /** Stops listening and cuts everything. Idempotent. */
  async close(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    this.cut();
    if (server === undefined) return;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  #accept(client: Socket): void {
    if (!this.#up) {
      this.counters.refused++;
      client.destroy();
      return;
    }
    this.counters.accepted++;
    client.pause();
    const upstream = tcpConnect(this.#targetPort, this.#targetHost);
    const pair = { client, upstream };
    this.#pairs.add(pair);
    const closeBoth = (): void => {
      this.#pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    for (const s of [client, upstream]) {
      s.setNoDelay(true);
      s.on('error', closeBoth);
      s.on('close', closeBoth);
    }
    upstream.once('connect', () => {
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
  }
}
