/**
 * A server that refuses the gateway's own certificate (issue 10): node-opcua answers the
 * OpenSecureChannel with BadSecurityChecksFailed; open62541 sends it in a transport ERR message
 * and hangs up, so the client only sees the socket close. Either way the gateway and browse say
 * the server may not trust this gateway, with the certificate's thumbprint, file and the DER
 * command, and log one line per attempt with the retry count and the next delay.
 */
import { readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBrowseCommand } from '../../cli/browse.js';
import { routeOpcuaLogs } from '../../cli/opcua-logs.js';
import { runPkiCommand } from '../../cli/pki.js';
import { listPki } from '../../gateway/southbound/opcua/pki.js';
import { classifyConnectError } from '../../gateway/southbound/opcua/security.js';
import { SimMachine } from '../../simulators/machine.js';
import { OpcuaSimServer } from '../../simulators/opcua/server.js';
import { runCommand } from '../support/cli-io.js';
import { waitFor } from './helpers.js';
import { freePort, opcuaConfig, quietOpcua, runOpcua, simTags, testLog } from './opcua-helpers.js';

type Line = Record<string, unknown>;
const errOf = (l: Line) =>
  l.err as { code?: string; message: string; detail: Record<string, string> } | undefined;

/**
 * Relays to the server, but answers a secured OpenSecureChannel the way open62541 does when it
 * does not trust the client: a transport ERR message (BadSecurityChecksFailed), then it hangs up.
 */
class RefusingRelay {
  #server: Server | undefined;
  readonly #sockets = new Set<Socket>();
  refusals = 0;
  port = 0;

  constructor(private readonly target: number) {}

  async start(): Promise<void> {
    const server = createServer((client) => {
      this.#sockets.add(client);
      const upstream = connect(this.target, '127.0.0.1');
      this.#sockets.add(upstream);
      client.on('data', (d: Buffer) => {
        if (d.subarray(0, 4).toString('latin1') === 'OPNF' && d.includes('SecurityPolicy#Basic256Sha256')) {
          this.refusals++;
          const reason = Buffer.from('');
          const err = Buffer.alloc(16 + reason.length);
          err.write('ERRF', 0, 'latin1');
          err.writeUInt32LE(err.length, 4);
          err.writeUInt32LE(0x80130000, 8); // BadSecurityChecksFailed
          err.writeInt32LE(reason.length, 12);
          reason.copy(err, 16);
          client.end(err);
          upstream.destroy();
          return;
        }
        upstream.write(d);
      });
      upstream.on('data', (d: Buffer) => client.write(d));
      for (const s of [client, upstream]) {
        s.on('error', () => {});
        s.on('close', () => {
          client.destroy();
          upstream.destroy();
        });
      }
    });
    this.#server = server;
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    this.port = (server.address() as { port: number }).port;
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    const server = this.#server;
    if (server !== undefined) await new Promise<void>((r) => server.close(() => r()));
  }
}

describe('a server that does not trust the gateway', () => {
  const press = new SimMachine({ id: 'E001-PRS-001', kind: 'press', seed: 41, dataDepth: 'state' });
  let dir: string;
  let server: OpcuaSimServer;
  const secure = { securityMode: 'SignAndEncrypt', securityPolicy: 'Basic256Sha256' } as const;

  beforeAll(async () => {
    quietOpcua();
    press.tick(0);
    dir = await mkdtemp(join(tmpdir(), 'wanji-opcua-refused-'));
    server = new OpcuaSimServer({
      logger: testLog(),
      machines: [press],
      pkiDir: join(dir, 'server-pki'),
      security: { modes: ['SignAndEncrypt'], policies: ['Basic256Sha256'], acceptUnknownClients: false },
    });
    await server.start();
  });

  afterAll(async () => {
    quietOpcua();
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** Runs the gateway's driver until `attempts` set-ups failed; returns its log. */
  async function refusedRun(endpoint: string, dataDir: string, attempts: number, lines: Line[]) {
    const r = await runOpcua(
      opcuaConfig({ endpoint, ...secure, acceptUnknownServerCertificate: true }, [
        { id: press.id, kind: 'press', tags: simTags(press) },
      ]),
      { dataDir, logger: testLog(lines) },
    );
    try {
      await waitFor(
        () => lines.filter((l) => l.retry === attempts).length > 0 || undefined,
        `${attempts} refused attempts`,
        20_000,
      );
    } finally {
      await r.close();
    }
    expect(r.status(press.id)).toBeUndefined();
  }

  /** Bug: the refusal was "WANJI_E_OPCUA_CONNECT … rejected by server", without what to do. */
  it('says the server may not trust this gateway, with its thumbprint, file and the DER command', async () => {
    const dataDir = join(dir, 'gw-a');
    const lines: Line[] = [];
    await refusedRun(server.endpointUrl, dataDir, 2, lines);
    const own = listPki(join(dataDir, 'pki')).own!;
    const refusal = lines.find((l) => errOf(l)?.code === 'WANJI_E_OPCUA_CLIENT_REJECTED');
    expect(refusal, JSON.stringify(lines.map((l) => errOf(l)?.message ?? l.msg))).toBeDefined();
    const err = errOf(refusal!)!;
    expect(err.detail).toMatchObject({ statusCode: 'BadSecurityChecksFailed', thumbprint: own.thumbprint });
    expect(err.message).toContain('the server may not trust this gateway');
    expect(err.message).toContain(`thumbprint ${own.thumbprint}`);
    expect(err.message).toContain(`openssl x509 -in ${own.file} -outform der`);
    // The server put the gateway's certificate among its rejected ones: the thumbprint given is it.
    expect(readdirSync(join(dir, 'server-pki', 'rejected')).join(' ')).toContain(own.thumbprint);
  });

  /** Bug: open62541's refusal reached the log as "may have been rejected … socket disconnected". */
  it('reads an open62541-style hang-up after a transport error as the same refusal, one log line per attempt', async () => {
    const relay = new RefusingRelay(server.port);
    await relay.start();
    const dataDir = join(dir, 'gw-b');
    const lines: Line[] = [];
    routeOpcuaLogs(testLog(lines)); // node-opcua's own warnings, as the CLI routes them
    try {
      await refusedRun(`opc.tcp://127.0.0.1:${relay.port}`, dataDir, 3, lines);
    } finally {
      quietOpcua();
      await relay.close();
    }
    const own = listPki(join(dataDir, 'pki')).own!;
    const attempts = lines.filter((l) => typeof l.retry === 'number');
    expect(attempts.map((l) => l.retry)).toEqual([1, 2, 3]);
    for (const a of attempts) {
      expect(a.msg).toMatch(/^OPC UA connection set-up failed; retry \d+ in \d+ ms$/);
      expect(a.retryInMs).toBeTypeOf('number');
      expect(errOf(a)?.code).toBe('WANJI_E_OPCUA_CLIENT_REJECTED');
      expect(errOf(a)?.message).toContain(`thumbprint ${own.thumbprint}`);
    }
    expect(relay.refusals).toBeGreaterThanOrEqual(3);
    // Nothing else at warn or above: no node-opcua lines, no certificate in base64.
    const loud = lines.filter((l) => Number(l.level) >= 40 && typeof l.retry !== 'number');
    expect(loud.map((l) => String(l.msg).slice(0, 200))).toEqual([]);
    expect(JSON.stringify(lines.filter((l) => Number(l.level) >= 40))).not.toMatch(/MII[A-Za-z0-9+/]{100}/);
  });

  it('wanji browse says the same, and exits 1', async () => {
    const relay = new RefusingRelay(server.port);
    await relay.start();
    const pkiDir = join(dir, 'browse-pki');
    try {
      // Browse trusts nothing unknown: give it the server's certificate first.
      const serverCert = join(dir, 'server-pki', 'own', 'certs');
      const file = readdirSync(serverCert).find((f) => f.endsWith('.pem'))!;
      const trust = await runCommand(
        runPkiCommand,
        ['trust', join(serverCert, file), '--pki-dir', pkiDir],
        testLog(),
      );
      expect(trust.code).toBe(0);
      for (const endpoint of [server.endpointUrl, `opc.tcp://127.0.0.1:${relay.port}`]) {
        const r = await runCommand(
          runBrowseCommand,
          [
            endpoint,
            '--security-mode',
            'SignAndEncrypt',
            '--security-policy',
            'Basic256Sha256',
            '--pki-dir',
            pkiDir,
          ],
          testLog(),
        );
        const own = listPki(pkiDir).own!;
        expect(r.code).toBe(1);
        expect(r.err).toContain('[WANJI_E_OPCUA_CLIENT_REJECTED]');
        expect(r.err).toContain(`the server may not trust this gateway's certificate`);
        expect(r.err).toContain(own.thumbprint);
      }
    } finally {
      await relay.close();
    }
  });

  /** Bug: during an outage only the first retry was logged (then every tenth). */
  it('logs every attempt to reach a server that is down, with the retry count and the next delay', async () => {
    const lines: Line[] = [];
    const r = await runOpcua(
      opcuaConfig({ endpoint: `opc.tcp://127.0.0.1:${await freePort()}` }, [
        { id: press.id, kind: 'press', tags: simTags(press) },
      ]),
      { logger: testLog(lines) },
    );
    try {
      await waitFor(() => lines.some((l) => l.retry === 4) || undefined, 'four attempts', 20_000);
    } finally {
      await r.close();
    }
    const attempts = lines.filter((l) => typeof l.retry === 'number');
    expect(attempts.slice(0, 4).map((l) => l.retry)).toEqual([1, 2, 3, 4]);
    for (const a of attempts) {
      expect(a.level).toBe(40);
      expect(a.msg).toBe(`OPC UA server not reachable; retry ${a.retry} in ${a.retryInMs} ms`);
    }
  });

  it('tells a refusal of the gateway from a refused server certificate and from an unreachable server', () => {
    const conn = { endpoint: 'opc.tcp://cnc-20:4840', ...secure };
    const pkiDir = join(dir, 'gw-a', 'pki');
    const hangUp = new Error(
      'The connection may have been rejected by server,\n Err = (socket disconnected)',
    );
    expect(classifyConnectError(hangUp, conn, pkiDir).code).toBe('WANJI_E_OPCUA_CLIENT_REJECTED');
    expect(
      classifyConnectError(hangUp, { ...conn, securityMode: 'None', securityPolicy: undefined }, pkiDir).code,
    ).toBe('WANJI_E_OPCUA_CONNECT');
    const untrusted = new Error(
      'The connection has been rejected by server: BadCertificateUntrusted (0x801a0000)',
    );
    const e = classifyConnectError(untrusted, conn, pkiDir);
    expect(e.code).toBe('WANJI_E_OPCUA_CLIENT_REJECTED');
    expect(e.detail.statusCode).toBe('BadCertificateUntrusted');
    const ours = new Error(
      'server Certificate verification failed with err BadCertificateUntrusted (0x801a0000)',
    );
    expect(classifyConnectError(ours, conn, pkiDir).code).toBe('WANJI_E_OPCUA_CERT_UNTRUSTED');
    const down = new Error(
      'The connection cannot be established with server opc.tcp://cnc-20:4840 (ECONNREFUSED)',
    );
    expect(classifyConnectError(down, conn, pkiDir).code).toBe('WANJI_E_OPCUA_CONNECT');
  });
});
