/**
 * The one MQTT session of gateway and hub (protocol/mqtt-session.ts) against a real aedes broker
 * on loopback and a real mqtt.js observer. Its reconnect timers run on a ManualClock, so "not
 * before the backoff" is shown by moving time, not by sleeping. (In a folder of its own: it needs
 * a listener, so it is not one of test/protocol/*.test.ts, which `npm run test:unit` runs.)
 */
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { Aedes, type Client } from 'aedes';
import mqtt, { type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import {
  MqttSession,
  type MqttSessionOptions,
  type SessionAttempt,
  type SessionMessage,
} from '../../../protocol/mqtt-session.js';
import { capturingLogger } from '../../hub/mqtt-security-helpers.js';
import { ManualClock } from '../../support/manual-clock.js';
import { silentLogger } from '../../support/temp.js';
import { waitFor } from '../../support/wait.js';

/** An aedes broker on 127.0.0.1 that can stop and start again on the same port. */
class LoopbackBroker {
  port = 0;
  #aedes: Aedes | undefined;
  #server: Server | undefined;
  readonly #sockets = new Set<Socket>();
  readonly #clients = new Map<string, Client>();
  /** How often the broker let each client id go (a will it owed was published before). */
  readonly gone = new Map<string, number>();

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const aedes = await Aedes.createBroker();
    this.gone.clear();
    aedes.on('client', (c) => this.#clients.set(c.id, c));
    aedes.on('clientDisconnect', (c) => this.gone.set(c.id, (this.gone.get(c.id) ?? 0) + 1));
    const server = createServer((socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
      aedes.handle(socket);
    });
    server.listen(this.port, '127.0.0.1');
    await once(server, 'listening');
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    this.port = address.port;
    this.#aedes = aedes;
    this.#server = server;
  }

  /** Cuts the client's connection from the broker's side, as a network failure does. */
  drop(clientId: string): void {
    const c = this.#clients.get(clientId);
    if (c === undefined) throw new Error(`${clientId} is not connected`);
    c.conn.destroy();
  }

  async stop(): Promise<void> {
    const { aedes, server } = { aedes: this.#aedes, server: this.#server };
    this.#aedes = undefined;
    this.#server = undefined;
    this.#clients.clear();
    for (const s of this.#sockets) s.destroy();
    if (aedes !== undefined) await new Promise<void>((resolve) => aedes.close(() => resolve()));
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** A real client that keeps what arrives on its filters. */
class Observer {
  readonly got: { topic: string; text: string }[] = [];
  readonly #client: MqttClient;

  private constructor(client: MqttClient) {
    this.#client = client;
    client.on('message', (topic, payload) => this.got.push({ topic, text: payload.toString('utf8') }));
  }

  static async connect(url: string, filters: string[]): Promise<Observer> {
    const client = await mqtt.connectAsync(url, { reconnectPeriod: 0, clientId: 'observer' });
    await client.subscribeAsync(filters, { qos: 1 });
    return new Observer(client);
  }

  texts(topic: string): string[] {
    return this.got.filter((m) => m.topic === topic).map((m) => m.text);
  }

  /** What arrived on `topic`, markers left out. */
  wills(topic: string): string[] {
    return this.texts(topic).filter((t) => !t.startsWith('marker'));
  }

  /**
   * Waits until the broker has let `clientId` go (its n-th time), then until a marker published
   * on `topic` after that comes back: any will the broker owed it has arrived by then.
   */
  async settled(broker: LoopbackBroker, clientId: string, n: number, topic: string): Promise<void> {
    await waitFor(() => (broker.gone.get(clientId) ?? 0) >= n, `the broker to let ${clientId} go (${n})`);
    const marker = `marker ${this.got.length}`;
    await this.#client.publishAsync(topic, marker, { qos: 1 });
    await waitFor(() => this.texts(topic).includes(marker), 'the marker');
  }

  publish(topic: string, text: string): Promise<unknown> {
    return this.#client.publishAsync(topic, text, { qos: 1 });
  }

  close(): Promise<void> {
    return this.#client.endAsync(true);
  }
}

const text = (s: string) => new TextEncoder().encode(s);

interface Rig {
  readonly session: MqttSession;
  readonly clock: ManualClock;
  /** How often attempt() ran: one per CONNECT. */
  attempts(): number;
  readonly ready: { n: number };
  readonly lost: { n: number };
  readonly messages: string[];
}

describe('the MQTT session of edge node and host (protocol/mqtt-session.ts)', () => {
  const cleanups: (() => Promise<unknown> | undefined)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function brokerUp(): Promise<LoopbackBroker> {
    const broker = new LoopbackBroker();
    await broker.start();
    cleanups.push(() => broker.stop());
    return broker;
  }

  async function observe(broker: LoopbackBroker, filters: string[]): Promise<Observer> {
    const o = await Observer.connect(broker.url, filters);
    cleanups.push(() => o.close());
    return o;
  }

  /** A session whose n-th CONNECT's will says `will n` on will/<clientId>. */
  function session(url: string, clientId: string, more: Partial<MqttSessionOptions> = {}): Rig {
    const clock = new ManualClock();
    let attempts = 0;
    const ready = { n: 0 };
    const lost = { n: 0 };
    const messages: string[] = [];
    const s = new MqttSession({
      url,
      clientId,
      keepaliveS: 30,
      logger: silentLogger(),
      clock,
      attempt: (): SessionAttempt => {
        attempts++;
        return { will: { topic: `will/${clientId}`, payload: text(`will ${attempts}`), retain: false } };
      },
      filters: [`cmd/${clientId}`],
      handler: {
        ready: () => ready.n++,
        message: (_topic, payload) => messages.push(payload.toString('utf8')),
        lost: () => lost.n++,
      },
      reconnectMinMs: 100,
      reconnectMaxMs: 400,
      connectTimeoutMs: 5_000,
      ...more,
    });
    cleanups.push(() => s.close());
    return { session: s, clock, attempts: () => attempts, ready, lost, messages };
  }

  /** A session() started and ready (connected, subscribed). */
  async function readySession(
    url: string,
    clientId: string,
    more: Partial<MqttSessionOptions> = {},
  ): Promise<Rig> {
    const r = session(url, clientId, more);
    await r.session.start();
    await waitFor(() => r.ready.n === 1, `${clientId} ready`);
    return r;
  }

  it('a dropped connection delivers the will of its own CONNECT; after the backoff it is back, subscribed', async () => {
    const broker = await brokerUp();
    const observer = await observe(broker, ['will/s1']);
    const r = await readySession(broker.url, 's1');
    await observer.publish('cmd/s1', 'one');
    await waitFor(() => r.messages.includes('one'), 'a message on its filter');

    broker.drop('s1');
    await observer.settled(broker, 's1', 1, 'will/s1');
    expect(observer.texts('will/s1')).toEqual(['will 1', expect.stringMatching(/^marker/)]);
    await waitFor(() => r.lost.n === 1, 'the loss reported');
    expect(r.session.connected).toBe(false);

    // The first retry waits reconnectMinMs on the session's clock, not a moment less.
    r.clock.advance(99);
    expect(r.attempts()).toBe(1);
    r.clock.advance(1);
    expect(r.attempts()).toBe(2);
    await waitFor(() => r.ready.n === 2, 'the second session ready');
    await observer.publish('cmd/s1', 'two');
    await waitFor(() => r.messages.includes('two'), 'a message on its filter after the reconnect');

    broker.drop('s1');
    await observer.settled(broker, 's1', 2, 'will/s1');
    expect(observer.wills('will/s1')).toEqual(['will 1', 'will 2']);
  });

  it('retries with a growing backoff while the broker is down, and comes back with a fresh will when it returns', async () => {
    const broker = await brokerUp();
    const r = await readySession(broker.url, 's2');

    await broker.stop();
    await waitFor(() => r.lost.n === 1, 'the loss reported');
    r.clock.advance(100);
    expect(r.attempts()).toBe(2);
    await waitFor(() => r.lost.n === 2, 'the refused attempt reported');
    r.clock.advance(199);
    expect(r.attempts()).toBe(2);
    r.clock.advance(1);
    expect(r.attempts()).toBe(3);
    await waitFor(() => r.lost.n === 3, 'the second refused attempt reported');
    r.clock.advance(399);
    expect(r.attempts()).toBe(3);

    await broker.start(); // the same port
    const observer = await observe(broker, ['will/s2']);
    r.clock.advance(1);
    expect(r.attempts()).toBe(4);
    await waitFor(() => r.ready.n === 2, 'ready again after the broker came back');
    expect(r.session.counters.connects).toBe(2);
    await observer.publish('cmd/s2', 'back');
    await waitFor(() => r.messages.includes('back'), 'subscribed again on the restarted broker');

    broker.drop('s2');
    await observer.settled(broker, 's2', 1, 'will/s2');
    expect(observer.wills('will/s2')).toEqual(['will 4']);
  });

  it('a clean close publishes the last word and the broker sends no will', async () => {
    const broker = await brokerUp();
    const observer = await observe(broker, ['will/s3', 'last/s3']);
    const r = await readySession(broker.url, 's3');

    const last: SessionMessage = { topic: 'last/s3', payload: text('bye'), retain: false };
    await r.session.close(last);
    await observer.settled(broker, 's3', 1, 'will/s3');
    expect(observer.texts('last/s3')).toEqual(['bye']);
    expect(observer.wills('will/s3')).toEqual([]);
    // Closed means closed: no retry, whatever time passes.
    r.clock.advance(3_600_000);
    expect(r.attempts()).toBe(1);
    expect(r.clock.pending).toBe(0);
  });

  it('restart() publishes the last word, then a new session follows with the next will', async () => {
    const broker = await brokerUp();
    const observer = await observe(broker, ['will/s4', 'last/s4']);
    const r = await readySession(broker.url, 's4');

    r.session.restart({ topic: 'last/s4', payload: text('going'), retain: false });
    await observer.settled(broker, 's4', 1, 'will/s4');
    expect(observer.texts('last/s4')).toEqual(['going']);
    expect(observer.wills('will/s4')).toEqual([]);
    await waitFor(() => r.lost.n === 1, 'the end reported');
    r.clock.advance(100);
    await waitFor(() => r.ready.n === 2, 'the next session ready');
    expect(r.attempts()).toBe(2);
  });

  it('a broker that never answers CONNECT: the attempt times out and the next one waits for the backoff', async () => {
    const silent = createServer(() => undefined); // accepts, never says CONNACK
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    const sockets = new Set<Socket>();
    silent.on('connection', (s) => sockets.add(s));
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          for (const s of sockets) s.destroy();
          silent.close(() => resolve());
        }),
    );
    const address = silent.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    const r = session(`mqtt://127.0.0.1:${address.port}`, 's5', {
      connectTimeoutMs: 100,
      jitter: () => 0, // equal jitter at its low end: half the step
    });
    await r.session.start();
    await waitFor(() => r.lost.n === 1, 'the attempt given up');
    expect(r.ready.n).toBe(0);
    r.clock.advance(49);
    expect(r.attempts()).toBe(1);
    r.clock.advance(1);
    expect(r.attempts()).toBe(2);
    await waitFor(() => r.lost.n === 2, 'the second attempt given up');
    expect(r.session.publish('cmd/s5', text('x'))).toBe(false);
    await expect(r.session.publishAsync('cmd/s5', text('x'), { qos: 1 })).rejects.toThrow(/not connected/);
  });

  it('what attempt() throws stops start(), and no retry follows', async () => {
    const broker = await brokerUp();
    const clock = new ManualClock();
    const s = new MqttSession({
      url: broker.url,
      clientId: 's6',
      keepaliveS: 30,
      logger: silentLogger(),
      clock,
      attempt: () => {
        throw new Error('mqtt.tls.ca: cannot read /nonexistent.pem');
      },
      filters: [],
      handler: { ready: () => undefined, message: () => undefined, lost: () => undefined },
    });
    cleanups.push(() => s.close());
    await expect(s.start()).rejects.toThrow('mqtt.tls.ca: cannot read /nonexistent.pem');
    expect(clock.pending).toBe(0);
  });

  it('logs the broker URL without its password', async () => {
    const broker = await brokerUp();
    const logs = capturingLogger();
    const r = await readySession(`mqtt://edge:s3cr3t-pw@127.0.0.1:${broker.port}`, 's7', {
      logger: logs.logger,
    });
    broker.drop('s7');
    await waitFor(() => r.lost.n === 1, 'the loss reported');
    expect(logs.find('connected to the MQTT broker')[0]?.url).toBe(
      `mqtt://edge:***@127.0.0.1:${broker.port}`,
    );
    expect(logs.find('disconnected from the MQTT broker; reconnecting')[0]?.url).toBe(
      `mqtt://edge:***@127.0.0.1:${broker.port}`,
    );
    expect(logs.text()).not.toContain('s3cr3t-pw');
  });
  it('filters added later are subscribed now and after a reconnect; removed ones are not', async () => {
    const broker = await brokerUp();
    const observer = await observe(broker, ['unused/topic']);
    const r = await readySession(broker.url, 's5');
    await r.session.addFilters(['group/a/#', 'group/b/#']);
    await observer.publish('group/a/x', 'a1');
    await observer.publish('group/b/x', 'b1');
    await waitFor(() => r.messages.includes('a1') && r.messages.includes('b1'), 'both added filters');
    await r.session.removeFilters(['group/b/#']);
    broker.drop('s5');
    await waitFor(() => r.lost.n === 1, 'the connection lost');
    await r.clock.advance(400);
    await waitFor(() => r.ready.n === 2, 'subscribed again after the reconnect');
    await observer.publish('group/b/x', 'b2');
    await observer.publish('group/a/x', 'a2');
    await waitFor(() => r.messages.includes('a2'), 'the kept filter after the reconnect');
    expect(r.messages).not.toContain('b2');
  });
});
