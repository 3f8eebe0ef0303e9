/**
 * The embedded broker's listeners: plain TCP, TLS, and MQTT over WebSocket (ws:// or wss://).
 * Each hands its connections to the same aedes instance, so the same access policy applies
 * whichever way a client comes in.
 */
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createSecureContext, createServer as createTlsServer, type SecureContextOptions } from 'node:tls';
import type { Logger } from 'pino';
import { createWebSocketStream, WebSocketServer } from 'ws';
import { HubConfigError, HubError } from '../../errors.js';
import type { BrokerTlsConfig, BrokerWebSocketConfig } from '../types.js';

export type ConnectionHandler = (stream: Duplex, req?: IncomingMessage) => void;

export interface Listener {
  readonly kind: 'tcp' | 'tls' | 'ws' | 'wss';
  readonly host: string;
  /** The bound port (the real one when configured as 0). */
  readonly port: number;
  /** Stops accepting; resolves once every connection it accepted has ended. */
  close(): Promise<void>;
  /** Ends what is still connected (after the broker has closed its clients). */
  destroy(): void;
}

/** Reads the PEM files of `mqtt.tls`; a clear config error naming the file when it cannot. */
export function loadTlsFiles(tls: BrokerTlsConfig): SecureContextOptions {
  const read = (key: 'cert' | 'key' | 'ca', file: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? String(err);
      throw new HubConfigError('hub config', [
        `/mqtt/tls/${key}: cannot read ${file}: ${code} (give the path of a readable PEM file)`,
      ]);
    }
  };
  const files: SecureContextOptions = {
    cert: read('cert', tls.cert),
    key: read('key', tls.key),
    ...(tls.ca === undefined ? {} : { ca: read('ca', tls.ca) }),
  };
  try {
    createSecureContext(files);
  } catch (err) {
    throw new HubConfigError('hub config', [
      `/mqtt/tls: ${tls.cert} and ${tls.key} are not a PEM certificate and its private key${tls.ca === undefined ? '' : ` (or ${tls.ca} is not a PEM CA)`}: ${err instanceof Error ? err.message : String(err)}`,
    ]);
  }
  return files;
}

function listen(server: Server, host: string, port: number, what: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const onError = (err: Error): void =>
      reject(
        new HubError(
          'WANJI_E_BROKER_LISTEN',
          `MQTT ${what} listener cannot listen on ${host}:${port}: ${String(err)}`,
          {
            cause: err,
          },
        ),
      );
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      const addr = server.address();
      resolve(typeof addr === 'object' && addr !== null ? addr.port : port);
    });
  });
}

/** close() and destroy() of a server whose sockets are tracked. */
function lifecycle(server: Server): Pick<Listener, 'close' | 'destroy'> {
  const sockets = new Set<Duplex>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  return {
    close: () =>
      new Promise<void>((resolve) => {
        if (!server.listening) return resolve();
        server.close(() => resolve());
      }),
    // aedes has closed the MQTT clients; what is left (a TLS handshake in progress) goes too.
    destroy: () => {
      for (const s of sockets) s.destroy();
    },
  };
}

export async function listenTcp(
  handle: ConnectionHandler,
  host: string,
  port: number,
  log: Logger,
): Promise<Listener> {
  const server = createTcpServer((socket) => handle(socket));
  const life = lifecycle(server);
  const bound = await listen(server, host, port, 'TCP');
  server.on('error', (err) => log.error({ err }, 'MQTT TCP server error'));
  return { kind: 'tcp', host, port: bound, ...life };
}

export async function listenTls(
  handle: ConnectionHandler,
  files: SecureContextOptions,
  host: string,
  port: number,
  log: Logger,
  onHandshakeError: (reason: string) => void,
): Promise<Listener> {
  const withClientCerts = files.ca !== undefined;
  const server = createTlsServer(
    { ...files, requestCert: withClientCerts, rejectUnauthorized: withClientCerts },
    (socket) => handle(socket),
  );
  server.on('tlsClientError', (err, socket) => {
    const reason = err.message;
    log.warn({ remoteAddress: socket.remoteAddress, reason }, 'MQTT TLS handshake failed');
    onHandshakeError(reason);
  });
  const life = lifecycle(server);
  const bound = await listen(server, host, port, 'TLS');
  server.on('error', (err) => log.error({ err }, 'MQTT TLS server error'));
  return { kind: 'tls', host, port: bound, ...life };
}

export async function listenWebSocket(
  handle: ConnectionHandler,
  config: BrokerWebSocketConfig,
  tlsFiles: SecureContextOptions | undefined,
  host: string,
  log: Logger,
  limit: { maxPacketBytes: number; onOversize: (req: IncomingMessage) => void },
): Promise<Listener> {
  if (config.secure && tlsFiles === undefined) {
    throw new HubConfigError('hub config', [
      '/mqtt/websocket/secure: wss needs the certificate and key of mqtt.tls (set mqtt.tls.cert and mqtt.tls.key)',
    ]);
  }
  const http = config.secure && tlsFiles !== undefined ? createHttpsServer(tlsFiles) : createHttpServer();
  http.on('request', (_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain' }).end('MQTT over WebSocket: upgrade required\n');
  });
  // ws buffers a whole message before the broker sees it: bound messages like packets
  // (plus the largest fixed header, 5 bytes).
  const maxPayload = limit.maxPacketBytes + 5;
  const wss = new WebSocketServer({ server: http, path: config.path, maxPayload });
  wss.on('connection', (socket, req) => {
    socket.on('error', (err: Error & { code?: string }) => {
      if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') limit.onOversize(req);
    });
    const stream = createWebSocketStream(socket);
    // aedes reads the peer address from req; the stream has none of its own.
    handle(stream, req);
  });
  wss.on('error', (err) => log.error({ err }, 'MQTT WebSocket server error'));
  const life = lifecycle(http);
  const bound = await listen(http, host, config.port, 'WebSocket');
  http.on('error', (err) => log.error({ err }, 'MQTT WebSocket HTTP server error'));
  return {
    kind: config.secure ? 'wss' : 'ws',
    host,
    port: bound,
    close: async () => {
      const closed = life.close();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await closed;
    },
    destroy: () => {
      for (const c of wss.clients) c.terminate();
      life.destroy();
    },
  };
}
