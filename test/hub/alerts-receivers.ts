/**
 * Real far ends for the alert tests, on loopback: an HTTP receiver that answers as a generic
 * webhook, a DingTalk robot and a WeCom robot do, and a minimal SMTP server (RFC 5321's
 * EHLO, AUTH PLAIN/LOGIN, MAIL, RCPT, DATA, QUIT) that keeps each message it is given.
 */
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';

export interface ReceivedRequest {
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: unknown;
}

export class HttpReceiver {
  readonly requests: ReceivedRequest[] = [];
  #server: Server | undefined;
  port = 0;

  /** Listens on `port` (0: any free one; the same port again after close()). */
  async start(port = this.port): Promise<void> {
    const server = createHttpServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const url = new URL(req.url ?? '/', 'http://localhost');
        let body: unknown;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          body = Buffer.concat(chunks).toString('utf8');
        }
        this.requests.push({ path: url.pathname, query: url.searchParams, headers: req.headers, body });
        // The robots answer 200 with errcode 0; a generic webhook takes any 2xx.
        if (url.pathname.startsWith('/robot/') || url.pathname.startsWith('/cgi-bin/')) {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ errcode: 0, errmsg: 'ok' }));
        } else {
          res.writeHead(204);
          res.end();
        }
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    const a = server.address();
    this.port = typeof a === 'object' && a !== null ? a.port : 0;
    this.#server = server;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  on(path: string): ReceivedRequest[] {
    return this.requests.filter((r) => r.path === path);
  }

  async close(): Promise<void> {
    const s = this.#server;
    this.#server = undefined;
    if (s === undefined) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

export interface ReceivedMail {
  readonly from: string;
  readonly to: readonly string[];
  /** The message as sent (headers and body), soft line breaks of quoted-printable joined. */
  readonly data: string;
  /** What AUTH PLAIN/LOGIN carried: user and password. */
  readonly auth: { user: string; pass: string } | undefined;
}

export class SmtpReceiver {
  readonly mails: ReceivedMail[] = [];
  #server: TcpServer | undefined;
  port = 0;

  async start(): Promise<void> {
    const server = createTcpServer((socket) => {
      socket.setEncoding('utf8');
      let buffer = '';
      let mode: 'command' | 'data' | 'auth-user' | 'auth-pass' = 'command';
      let from = '';
      let to: string[] = [];
      let data: string[] = [];
      let auth: { user: string; pass: string } | undefined;
      let user = '';
      const say = (line: string): void => {
        socket.write(`${line}\r\n`);
      };
      const b64 = (s: string): string => Buffer.from(s, 'base64').toString('utf8');
      say('220 test-smtp ESMTP');
      socket.on('data', (chunk: string) => {
        buffer += chunk;
        for (let i = buffer.indexOf('\r\n'); i >= 0; i = buffer.indexOf('\r\n')) {
          const line = buffer.slice(0, i);
          buffer = buffer.slice(i + 2);
          if (mode === 'data') {
            if (line === '.') {
              const text = data.join('\r\n').replaceAll('=\r\n', '');
              this.mails.push({ from, to, data: text, auth });
              mode = 'command';
              say('250 2.0.0 queued');
            } else data.push(line.startsWith('..') ? line.slice(1) : line);
            continue;
          }
          if (mode === 'auth-user') {
            user = b64(line);
            mode = 'auth-pass';
            say(`334 ${Buffer.from('Password:').toString('base64')}`);
            continue;
          }
          if (mode === 'auth-pass') {
            auth = { user, pass: b64(line) };
            mode = 'command';
            say('235 2.7.0 authenticated');
            continue;
          }
          const verb = line.split(' ')[0]?.toUpperCase() ?? '';
          if (verb === 'EHLO' || verb === 'HELO') {
            socket.write('250-test-smtp\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n');
          } else if (verb === 'AUTH') {
            const [, mech = '', initial] = line.split(' ');
            if (mech.toUpperCase() === 'PLAIN' && initial !== undefined) {
              const [, u = '', p = ''] = b64(initial).split('\u0000');
              auth = { user: u, pass: p };
              say('235 2.7.0 authenticated');
            } else if (mech.toUpperCase() === 'LOGIN') {
              mode = 'auth-user';
              say(`334 ${Buffer.from('Username:').toString('base64')}`);
            } else say('504 unsupported');
          } else if (verb === 'MAIL') {
            from = /<([^>]*)>/.exec(line)?.[1] ?? '';
            to = [];
            data = [];
            say('250 2.1.0 ok');
          } else if (verb === 'RCPT') {
            to.push(/<([^>]*)>/.exec(line)?.[1] ?? '');
            say('250 2.1.5 ok');
          } else if (verb === 'DATA') {
            mode = 'data';
            say('354 end with <CRLF>.<CRLF>');
          } else if (verb === 'QUIT') {
            say('221 2.0.0 bye');
            socket.end();
          } else if (verb === 'RSET' || verb === 'NOOP') {
            say('250 ok');
          } else say('502 not implemented');
        }
      });
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const a = server.address();
    this.port = typeof a === 'object' && a !== null ? a.port : 0;
    this.#server = server;
  }

  async close(): Promise<void> {
    const s = this.#server;
    this.#server = undefined;
    if (s !== undefined) await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
