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
import {
  createSecureContext,
  createServer as createTlsServer,
  type SecureContextOptions,
  type TLSSocket,
  Server as TlsServer,
} from 'node:tls';
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

/**
 * TLS 1.2 suites taken by default: ECDHE key exchange (forward secrecy) with an AEAD cipher
 * (GCM, ChaCha20-Poly1305); no RSA key exchange, no CBC. TLS 1.3's suites all qualify and are
 * set apart by Node, so this list leaves them as they are.
 */
export const DEFAULT_TLS_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/**
 * Reads the PEM files of `mqtt.tls` and sets its TLS versions and ciphers (for the TLS and the
 * wss:// listener alike); a clear config error naming the file or setting when it cannot.
 */
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
  const protocol: SecureContextOptions = {
    minVersion: tls.minVersion ?? 'TLSv1.2',
    ciphers: tls.ciphers ?? DEFAULT_TLS_CIPHERS,
    // The server's order decides, so a client cannot steer it to the weakest suite of the list.
    honorCipherOrder: true,
  };
  try {
    createSecureContext(protocol);
  } catch (err) {
    throw new HubConfigError('hub config', [
      `/mqtt/tls/ciphers: OpenSSL takes no cipher of "${protocol.ciphers}": ${err instanceof Error ? err.message : String(err)} (give an OpenSSL cipher list, or remove ciphers for the default ${DEFAULT_TLS_CIPHERS})`,
    ]);
  }
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
  return { ...files, ...protocol };
}

interface Peer {
  readonly remoteAddress?: string;
  readonly remotePort?: number;
}

/**
 * The peer of a TLS socket, even after a failed handshake. Node reads a socket's address
 * lazily and forgets it once the socket is destroyed, which it is before `tlsClientError`
 * comes: the address is read as the TCP connection arrives (before the TLS socket wraps it),
 * and found again through the TLS socket's underlying socket (Node's `_parent` link).
 */
function peerAddresses(server: TlsServer): (socket: TLSSocket) => Peer {
  const peers = new WeakMap<object, Peer>();
  server.prependListener('connection', (raw: Socket) => {
    peers.set(raw, { remoteAddress: raw.remoteAddress, remotePort: raw.remotePort });
  });
  return (socket) => {
    if (socket.remoteAddress !== undefined) {
      return { remoteAddress: socket.remoteAddress, remotePort: socket.remotePort };
    }
    const parent: unknown = (socket as TLSSocket & { _parent?: unknown })._parent;
    return (typeof parent === 'object' && parent !== null ? peers.get(parent) : undefined) ?? {};
  };
}

/** Why a handshake failed, in the config's words (the raw error is logged beside it). */
function handshakeReason(code: string | undefined, authorizationError: string | undefined): string {
  if (authorizationError === 'CERT_HAS_EXPIRED') return "the client's certificate has expired";
  if (authorizationError === 'CERT_NOT_YET_VALID') return "the client's certificate is not valid yet";
  if (authorizationError !== undefined) {
    return `the client's certificate is not signed by the CA in mqtt.tls.ca (${authorizationError})`;
  }
  switch (code) {
    case 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE':
      return 'the client sent no certificate; mqtt.tls.ca requires one';
    case 'ECONNRESET':
      return "the client hung up during the handshake: it may not trust the hub's certificate (or its CA)";
    case 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA':
    case 'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE':
    case 'ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN':
      return "the client does not trust the hub's certificate (or its CA)";
    case 'ERR_SSL_UNSUPPORTED_PROTOCOL':
    case 'ERR_SSL_VERSION_TOO_LOW':
      return 'the client offers only TLS versions older than mqtt.tls.minVersion';
    case 'ERR_SSL_NO_SHARED_CIPHER':
      return 'the client offers no cipher of mqtt.tls.ciphers (forward-secret AEAD suites by default)';
    case 'ERR_SSL_HTTP_REQUEST':
    case 'ERR_SSL_WRONG_VERSION_NUMBER':
      return 'the client does not speak TLS (plain MQTT or HTTP on the TLS port?)';
    case 'ERR_TLS_HANDSHAKE_TIMEOUT':
      return 'no handshake within the timeout';
    default:
      return 'the TLS handshake failed';
  }
}

/** Logs (and counts) each failed handshake with the peer and the reason. */
function watchHandshakes(
  server: TlsServer,
  log: Logger,
  listener: string,
  onError?: (reason: string) => void,
): void {
  const peerOf = peerAddresses(server);
  server.on('tlsClientError', (err: Error & { code?: string }, socket) => {
    const authorizationError =
      socket.authorizationError === null || socket.authorizationError === undefined
        ? undefined
        : String(socket.authorizationError);
    const reason = handshakeReason(err.code, authorizationError);
    log.warn(
      {
        listener,
        ...peerOf(socket),
        reason,
        code: err.code,
        ...(authorizationError === undefined ? {} : { authorizationError }),
        error: err.message,
      },
      'MQTT TLS handshake failed',
    );
    onError?.(reason);
  });
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
  watchHandshakes(server, log, 'tls', onHandshakeError);
  const life = lifecycle(server);
  const bound = await listen(server, host, port, 'TLS');
  server.on('error', (err) => log.error({ err }, 'MQTT TLS server error'));
  log.info(
    {
      listener: 'tls',
      host,
      port: bound,
      clientCertificates: withClientCerts ? 'required' : 'not asked',
      minVersion: files.minVersion,
      ciphers: files.ciphers,
    },
    withClientCerts
      ? 'MQTT TLS: clients must present a certificate signed by mqtt.tls.ca, then log in with a credential'
      : 'MQTT TLS: no client certificate asked (mqtt.tls.ca is not set); clients log in with a credential',
  );
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
  if (http instanceof TlsServer) watchHandshakes(http, log, 'wss');
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
