/** The uplink proxy of the chaos tests, against a real echo server on loopback. */
import { once } from 'node:events';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { TcpProxy } from '../support/tcp-proxy.js';

async function echoServer(): Promise<{ server: Server; port: number; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    s.pipe(s);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const addr = server.address();
  return { server, port: typeof addr === 'object' && addr !== null ? addr.port : 0, sockets };
}

async function connectTo(port: number): Promise<Socket> {
  const s = tcpConnect(port, '127.0.0.1');
  s.on('error', () => undefined);
  await once(s, 'connect');
  return s;
}

async function roundTrip(s: Socket, text: string): Promise<string> {
  s.write(text);
  const [data] = (await once(s, 'data')) as [Buffer];
  return data.toString();
}

const closed = (s: Socket): Promise<unknown> => (s.destroyed ? Promise.resolve() : once(s, 'close'));

describe('TcpProxy', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('forwards both ways, cuts every connection at once, and accepts new ones after a cut', async () => {
    const echo = await echoServer();
    cleanups.push(() => new Promise<void>((r) => echo.server.close(() => r())));
    const proxy = new TcpProxy(echo.port);
    await proxy.start();
    cleanups.push(() => proxy.close());
    const a = await connectTo(proxy.port);
    const b = await connectTo(proxy.port);
    expect(await roundTrip(a, 'hello')).toBe('hello');
    expect(await roundTrip(b, 'world')).toBe('world');
    expect(proxy.connections).toBe(2);

    expect(proxy.cut()).toBe(2);
    await Promise.all([closed(a), closed(b)]);
    await expect.poll(() => echo.sockets.size).toBe(0);

    const c = await connectTo(proxy.port);
    expect(await roundTrip(c, 'again')).toBe('again');
    c.destroy();
    expect(proxy.counters).toMatchObject({ accepted: 3, cut: 2, refused: 0 });
  });

  it('swallows what both sides send while silent, then cuts', async () => {
    const echo = await echoServer();
    cleanups.push(() => new Promise<void>((r) => echo.server.close(() => r())));
    const proxy = new TcpProxy(echo.port);
    await proxy.start();
    cleanups.push(() => proxy.close());
    const a = await connectTo(proxy.port);
    expect(await roundTrip(a, 'before')).toBe('before');
    const received: string[] = [];
    a.on('data', (d: Buffer) => received.push(d.toString()));
    const cutting = proxy.silenceThenCut(300);
    a.write('lost in transit');
    expect(await cutting).toBe(1);
    await closed(a);
    expect(received).toEqual([]);
    expect(proxy.counters.cut).toBe(1);
  });

  it('closes new connections on arrival while down, and forwards again when up', async () => {
    const echo = await echoServer();
    cleanups.push(() => new Promise<void>((r) => echo.server.close(() => r())));
    const proxy = new TcpProxy(echo.port);
    await proxy.start();
    cleanups.push(() => proxy.close());
    const a = await connectTo(proxy.port);
    proxy.down();
    await closed(a);
    const b = await connectTo(proxy.port);
    await closed(b);
    expect(echo.sockets.size).toBe(0);
    expect(proxy.counters.refused).toBe(1);
    proxy.up();
    const c = await connectTo(proxy.port);
    expect(await roundTrip(c, 'back')).toBe('back');
    c.destroy();
  });

  it('closes the client side when the target goes away (a peer killed outright)', async () => {
    const echo = await echoServer();
    const proxy = new TcpProxy(echo.port);
    await proxy.start();
    cleanups.push(() => proxy.close());
    const a = await connectTo(proxy.port);
    expect(await roundTrip(a, 'x')).toBe('x');
    for (const s of echo.sockets) s.destroy();
    await new Promise<void>((r) => echo.server.close(() => r()));
    await closed(a);
    const b = await connectTo(proxy.port);
    await closed(b); // nothing listens behind the proxy: refused upstream, closed here
    expect(proxy.connections).toBe(0);
  });
});
