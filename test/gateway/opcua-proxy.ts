/**
 * A TCP relay between a client and a server that can cut the network (reset every connection)
 * or freeze it (a half-open link: sockets stay open, nothing arrives, nobody is told), which is
 * what a pulled cable or a dead switch looks like from either end.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

interface Pair {
  readonly client: Socket;
  upstream: Socket | undefined;
  /** Data held while frozen, per direction, delivered in order on thaw (TCP retransmits it). */
  readonly toServer: Buffer[];
  readonly toClient: Buffer[];
  closed: boolean;
}

export class TcpProxy {
  readonly #targetPort: number;
  readonly #pairs = new Set<Pair>();
  #server: Server | undefined;
  #frozen = false;
  port = 0;

  constructor(targetPort: number) {
    this.#targetPort = targetPort;
  }

  async start(): Promise<number> {
    const server = createServer((client) => this.#accept(client));
    this.#server = server;
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    this.port = (server.address() as { port: number }).port;
    return this.port;
  }

  get connections(): number {
    return [...this.#pairs].filter((p) => !p.closed).length;
  }

  #accept(client: Socket): void {
    const pair: Pair = { client, upstream: undefined, toServer: [], toClient: [], closed: false };
    this.#pairs.add(pair);
    client.on('data', (d: Buffer) => {
      if (this.#frozen || pair.upstream === undefined) pair.toServer.push(d);
      else pair.upstream.write(d);
    });
    client.on('error', () => {});
    client.on('close', () => this.#closed(pair));
    if (!this.#frozen) this.#connectUpstream(pair);
  }

  #connectUpstream(pair: Pair): void {
    const upstream = connect(this.#targetPort, '127.0.0.1');
    pair.upstream = upstream;
    upstream.on('connect', () => this.#flush(pair));
    upstream.on('data', (d: Buffer) => {
      if (this.#frozen) pair.toClient.push(d);
      else pair.client.write(d);
    });
    upstream.on('error', () => {});
    upstream.on('close', () => this.#closed(pair));
  }

  #flush(pair: Pair): void {
    if (pair.upstream === undefined || pair.closed) return;
    for (const d of pair.toServer.splice(0)) pair.upstream.write(d);
    for (const d of pair.toClient.splice(0)) pair.client.write(d);
  }

  /** One side closed: the other learns it unless the link is frozen (then on thaw). */
  #closed(pair: Pair): void {
    if (this.#frozen) return;
    pair.closed = true;
    pair.client.destroy();
    pair.upstream?.destroy();
    this.#pairs.delete(pair);
  }

  /** A network cut: every connection is reset at once. */
  cut(): void {
    for (const p of this.#pairs) {
      p.closed = true;
      p.client.resetAndDestroy();
      p.upstream?.resetAndDestroy();
    }
    this.#pairs.clear();
  }

  /** Nothing gets through, and nobody is told; new connections hang. */
  freeze(): void {
    this.#frozen = true;
  }

  /** Delivers what was held, tells each side of the closes it missed. */
  thaw(): void {
    this.#frozen = false;
    for (const p of [...this.#pairs]) {
      if (p.client.destroyed || p.upstream?.destroyed) this.#closed(p);
      else if (p.upstream === undefined) this.#connectUpstream(p);
      else this.#flush(p);
    }
  }

  async close(): Promise<void> {
    this.#frozen = false;
    this.cut();
    const server = this.#server;
    this.#server = undefined;
    if (server !== undefined) await new Promise<void>((r) => server.close(() => r()));
  }
}
