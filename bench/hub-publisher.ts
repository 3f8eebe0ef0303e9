/**
 * A publisher child of the hub benchmark (bench/hub.ts forks it): synthetic Sparkplug edge
 * nodes on raw MQTT 3.1.1 sockets, each with `devices` machines of 10 Double metrics, every
 * machine publishing one DDATA a second (QoS 0, aliases, a fresh value and timestamp per metric).
 *
 * Cheap on purpose, so that the hub has the CPU: DDATA payloads are written by hand into one
 * buffer (the same protobuf as protocol/'s encoder, checked against its decoder at start), the
 * PUBLISH packets of a node's due machines go out in one socket write, and births use
 * protocol/'s encoder. Messages due while the process was late are sent at once, stamped when
 * they are sent; the parent sees a slow hub as store lag, a slow publisher as a rate below
 * the target.
 *
 * IPC: parent → child `add` (nodes to connect and birth), `run`, `pause`, `stop`;
 * child → parent `added`, `paused` (messages and samples sent so far).
 */
import { connect, type Socket } from 'node:net';
import {
  DataType,
  decodePayload,
  deviceTopic,
  encodePayload,
  type Metric,
  NODE_METRIC,
  nodeTopic,
} from '../protocol/index.js';

export const METRICS = 10;

export interface NodeSpec {
  readonly group: string;
  readonly node: string;
  readonly devices: number;
}

export type ToPublisher =
  | { readonly cmd: 'add'; readonly nodes: readonly NodeSpec[] }
  | { readonly cmd: 'run' }
  | { readonly cmd: 'pause' }
  | { readonly cmd: 'stop' };

export type FromPublisher =
  | { readonly kind: 'added'; readonly nodes: number }
  | { readonly kind: 'paused'; readonly messages: number; readonly samples: number }
  | { readonly kind: 'error'; readonly message: string };

/** An MQTT remaining length (varint), 1–4 bytes. */
function lengthBytes(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}

function connectPacket(clientId: string): Buffer {
  const id = Buffer.from(clientId);
  // "MQTT", level 4, clean session, keepalive 0 (none: a benchmark connection never idles).
  const variable = Buffer.from([0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x02, 0, 0]);
  const remaining = variable.length + 2 + id.length;
  return Buffer.concat([
    Buffer.from([0x10, ...lengthBytes(remaining)]),
    variable,
    Buffer.from([id.length >> 8, id.length & 0xff]),
    id,
  ]);
}

function publishPacket(topic: Buffer, payload: Uint8Array): Buffer {
  const remaining = 2 + topic.length + payload.length;
  return Buffer.concat([
    Buffer.from([0x30, ...lengthBytes(remaining), topic.length >> 8, topic.length & 0xff]),
    topic,
    payload,
  ]);
}

/** Writes a protobuf varint at `o`; returns the next offset. */
function varint(buf: Buffer, o: number, v: number): number {
  while (v >= 0x80) {
    buf[o++] = (v % 0x80) | 0x80;
    v = Math.floor(v / 0x80);
  }
  buf[o++] = v;
  return o;
}

/** Metric: alias (2), timestamp (3), datatype (4) = Double, double_value (13). */
const METRIC_BODY = 2 + 1 + 6 + 2 + 9;

/**
 * A DDATA payload by hand: Payload.timestamp (1), 10 × metrics (2), seq (3). Timestamps of
 * 2004–2109 take 6 varint bytes, so the layout is fixed but for seq.
 */
function ddataPayload(buf: Buffer, ts: number, seq: number, value: number): number {
  buf[0] = 0x08;
  let o = varint(buf, 1, ts);
  for (let k = 0; k < METRICS; k++) {
    buf[o++] = 0x12;
    buf[o++] = METRIC_BODY;
    buf[o++] = 0x10;
    buf[o++] = k + 1;
    buf[o++] = 0x18;
    o = varint(buf, o, ts);
    buf[o++] = 0x20;
    buf[o++] = DataType.Double;
    buf[o++] = 0x69;
    buf.writeDoubleLE(value + k, o);
    o += 8;
  }
  buf[o++] = 0x18;
  return varint(buf, o, seq);
}

const DDATA_MAX = 1 + 7 + METRICS * (2 + METRIC_BODY) + 1 + 2;

class EdgeNode {
  readonly spec: NodeSpec;
  readonly #socket: Socket;
  readonly #topics: Buffer[];
  #seq = 0;
  #sent = 0;
  #value = 0;

  constructor(spec: NodeSpec, socket: Socket) {
    this.spec = spec;
    this.#socket = socket;
    this.#topics = Array.from({ length: spec.devices }, (_, j) =>
      Buffer.from(deviceTopic(spec.group, 'DDATA', spec.node, `${spec.node}-m${j}`)),
    );
  }

  static async connect(host: string, port: number, spec: NodeSpec): Promise<EdgeNode> {
    const socket = connect({ host, port, noDelay: true });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.write(connectPacket(`bench-${spec.group}-${spec.node}`));
        socket.once('data', (d: Buffer) => {
          socket.off('error', reject);
          if (d[0] === 0x20 && d[3] === 0) resolve();
          else reject(new Error(`CONNACK refused: ${d.toString('hex')}`));
        });
      });
    });
    socket.on('error', (err) => send({ kind: 'error', message: `${spec.node}: ${err.message}` }));
    socket.on('data', () => {}); // an NCMD (rebirth) would land here; the parent counts rebirths
    const n = new EdgeNode(spec, socket);
    n.#birth();
    return n;
  }

  #birth(): void {
    const { group, node, devices } = this.spec;
    const now = Date.now();
    const out: Buffer[] = [];
    const publish = (topic: string, metrics: Metric[]): void => {
      const seq = this.#seq;
      this.#seq = (this.#seq + 1) % 256;
      out.push(publishPacket(Buffer.from(topic), encodePayload({ timestamp: now, seq, metrics })));
    };
    publish(nodeTopic(group, 'NBIRTH', node), [
      { name: NODE_METRIC.bdSeq, datatype: DataType.Int64, value: 0 },
      { name: NODE_METRIC.rebirth, datatype: DataType.Boolean, value: false },
    ]);
    for (let j = 0; j < devices; j++) {
      publish(
        deviceTopic(group, 'DBIRTH', node, `${node}-m${j}`),
        Array.from({ length: METRICS }, (_, k) => ({
          name: `Signals/s${k}`,
          alias: k + 1,
          datatype: DataType.Double,
          value: 0,
          timestamp: now,
        })),
      );
    }
    this.#socket.write(Buffer.concat(out));
  }

  /** Sends the DDATA due by `due` (messages since the node started running), in one write. */
  sendUpTo(due: number, scratch: Buffer): number {
    if (due <= this.#sent) return 0;
    const now = Date.now();
    const out: Buffer[] = [];
    const n = due - this.#sent;
    for (; this.#sent < due; this.#sent++) {
      const topic = this.#topics[this.#sent % this.spec.devices]!;
      const len = ddataPayload(scratch, now, this.#seq, this.#value);
      this.#seq = (this.#seq + 1) % 256;
      this.#value += METRICS;
      out.push(publishPacket(topic, scratch.subarray(0, len)));
    }
    this.#socket.write(out.length === 1 ? out[0]! : Buffer.concat(out));
    return n;
  }

  /** Restarts the schedule from now (after a pause), keeping seq. */
  rebase(): void {
    this.#sent = 0;
  }

  close(): void {
    this.#socket.end(Buffer.from([0xe0, 0]));
  }
}

function send(m: FromPublisher): void {
  process.send?.(m);
}

/** The hand-written DDATA must read back as protocol/'s decoder reads a real gateway's. */
function checkEncoding(): void {
  const buf = Buffer.alloc(DDATA_MAX);
  const ts = Date.now();
  const p = decodePayload(buf.subarray(0, ddataPayload(buf, ts, 200, 1.5)));
  const m = p.metrics[9];
  if (p.seq !== 200 || p.timestamp !== ts || p.metrics.length !== METRICS || m?.alias !== 10) {
    throw new Error(`hand-written DDATA does not decode as expected: ${JSON.stringify(p)}`);
  }
  if (m.value !== 10.5 || m.timestamp !== ts || m.datatype !== DataType.Double) {
    throw new Error(`hand-written DDATA metric does not decode as expected: ${JSON.stringify(m)}`);
  }
}

// Run as a child: `node hub-publisher.js <mqtt url>`.
if (process.send !== undefined) {
  checkEncoding();
  const url = new URL(process.argv[2] ?? 'mqtt://127.0.0.1:1883');
  const nodes: EdgeNode[] = [];
  const scratch = Buffer.alloc(DDATA_MAX);
  let timer: NodeJS.Timeout | undefined;
  let messages = 0;
  const run = (): void => {
    const start = performance.now();
    for (const n of nodes) n.rebase();
    // Every 10 ms each node sends what is due: `devices` messages a second, evenly spread.
    timer = setInterval(() => {
      const elapsed = performance.now() - start;
      for (const n of nodes) messages += n.sendUpTo(Math.floor((elapsed * n.spec.devices) / 1000), scratch);
    }, 10);
  };
  process.on('message', (m: ToPublisher) => {
    if (m.cmd === 'add') {
      Promise.all(m.nodes.map((s) => EdgeNode.connect(url.hostname, Number(url.port), s))).then(
        (added) => {
          nodes.push(...added);
          send({ kind: 'added', nodes: added.length });
        },
        (err: unknown) => send({ kind: 'error', message: String(err) }),
      );
    } else if (m.cmd === 'run') {
      if (timer === undefined) run();
    } else if (m.cmd === 'pause') {
      clearInterval(timer);
      timer = undefined;
      send({ kind: 'paused', messages, samples: messages * METRICS });
    } else {
      clearInterval(timer);
      for (const n of nodes) n.close();
      process.disconnect();
    }
  });
}
