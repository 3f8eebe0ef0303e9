/**
 * Security against a locked-down server (Sign / SignAndEncrypt only, no anonymous users), with
 * certificates the test makes: the server's own, the gateway's (made on first run), a user's.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OPCUACertificateManager } from 'node-opcua';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPkiCommand } from '../../cli/pki.js';
import { listPki } from '../../gateway/southbound/opcua/pki.js';
import type { OpcuaConnectionConfig } from '../../gateway/southbound/opcua/schema.js';
import { SimMachine } from '../../simulators/machine.js';
import { OpcuaSimServer } from '../../simulators/opcua/server.js';
import { runCommand } from '../support/cli-io.js';
import { waitFor } from './helpers.js';
import { opcuaConfig, quietOpcua, runOpcua, simTags, testLog } from './opcua-helpers.js';

type Line = Record<string, unknown>;
const errCode = (l: Line) => (l.err as { code?: string } | undefined)?.code;

async function pki(args: string[]) {
  return runCommand(runPkiCommand, args, testLog());
}

describe('OPC UA security', () => {
  const press = new SimMachine({ id: 'E001-PRS-001', kind: 'press', seed: 31, dataDepth: 'state' });
  let dir: string;
  let server: OpcuaSimServer;
  /** The gateway's data directory, shared by the tests: what one trusts, the next ones trust. */
  let dataDir: string;

  beforeAll(async () => {
    quietOpcua();
    press.tick(0);
    dir = await mkdtemp(join(tmpdir(), 'wanji-opcua-sec-'));
    dataDir = join(dir, 'gateway');
    server = new OpcuaSimServer({
      logger: testLog(),
      machines: [press],
      pkiDir: join(dir, 'server-pki'),
      security: {
        modes: ['Sign', 'SignAndEncrypt'],
        policies: ['Basic256Sha256', 'Aes128_Sha256_RsaOaep', 'Aes256_Sha256_RsaPss'],
        allowAnonymous: false,
        users: { operator: 'secret' },
      },
    });
    await server.start();
  });

  afterAll(async () => {
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const run = (connection: Partial<OpcuaConnectionConfig>, lines: Line[]) =>
    runOpcua(
      opcuaConfig({ endpoint: server.endpointUrl, ...connection }, [
        { id: press.id, kind: 'press', tags: simTags(press) },
      ]),
      { dataDir, logger: testLog(lines) },
    );

  it('rejects an unknown server certificate until `wanji pki trust` trusts it, then logs what it negotiated', async () => {
    const lines: Line[] = [];
    const r = await run(
      {
        securityMode: 'SignAndEncrypt',
        securityPolicy: 'Basic256Sha256',
        username: 'operator',
        password: 'secret',
      },
      lines,
    );
    try {
      const refusal = await waitFor(
        () => lines.find((l) => errCode(l) === 'WANJI_E_OPCUA_CERT_UNTRUSTED'),
        'rejection',
        10_000,
      );
      const { own, rejected, trusted } = listPki(join(dataDir, 'pki'));
      expect(own?.applicationUri).toBe('urn:wanji:gateway:GW-1');
      expect(trusted).toEqual([]);
      expect(rejected).toHaveLength(1);
      const server = rejected[0]!;
      expect(server.applicationUri).toBe('urn:wanji:simulator');
      const err = refusal.err as { message: string; detail: { thumbprint?: string } };
      expect(err.detail.thumbprint).toBe(server.thumbprint);
      expect(err.message).toContain(`then \`wanji pki trust ${server.thumbprint}\``);
      const listing = await pki(['list', '--data-dir', dataDir]);
      expect(listing.code).toBe(0);
      expect(listing.out).toContain(`rejected (1):\n  ${server.thumbprint}`);
      expect(listing.out).toContain('urn:wanji:gateway:GW-1');
      expect(r.status(press.id)).toBeUndefined();

      const trust = await pki(['trust', server.thumbprint.slice(0, 10), '--data-dir', dataDir]);
      expect(trust.code).toBe(0);
      expect(trust.out).toContain(`trusted ${server.thumbprint}`);
      expect(listPki(join(dataDir, 'pki')).rejected).toEqual([]);
      await waitFor(() => r.status(press.id) === 'online' || undefined, 'online once trusted', 10_000);
      expect(lines.find((l) => l.msg === 'OPC UA session open')).toMatchObject({
        securityMode: 'SignAndEncrypt',
        securityPolicy: 'Basic256Sha256',
        serverCertificate: server.thumbprint,
        identity: 'username',
        applicationUri: 'urn:wanji:gateway:GW-1',
      });
    } finally {
      await r.close();
    }
    expect((await pki(['trust', 'ffff', '--data-dir', dataDir])).code).toBe(1);
  });

  it('connects with each policy, signed or signed and encrypted', async () => {
    for (const [securityPolicy, securityMode] of [
      ['Aes128_Sha256_RsaOaep', 'Sign'],
      ['Aes256_Sha256_RsaPss', 'SignAndEncrypt'],
      ['Basic256Sha256', 'Sign'],
    ] as const) {
      const lines: Line[] = [];
      const r = await run({ securityMode, securityPolicy, username: 'operator', password: 'secret' }, lines);
      try {
        await waitFor(() => r.status(press.id) === 'online' || undefined, `${securityPolicy} online`, 10_000);
        expect(lines.find((l) => l.msg === 'OPC UA session open')).toMatchObject({
          securityMode,
          securityPolicy,
        });
      } finally {
        await r.close();
      }
    }
  });

  it('logs in with an X.509 user certificate, and names a refused identity', async () => {
    const userDir = join(dir, 'user');
    const maker = new OPCUACertificateManager({ rootFolder: userDir, disableFileWatchers: true });
    await maker.initialize();
    const userCertificate = join(userDir, 'operator.pem');
    await maker.createSelfSignedCertificate({
      applicationUri: 'urn:wanji:test:operator',
      subject: '/CN=operator',
      dns: [],
      startDate: new Date(),
      validity: 30,
      outputFile: userCertificate,
    });
    await maker.dispose();
    const secure = { securityMode: 'SignAndEncrypt', securityPolicy: 'Aes256_Sha256_RsaPss' } as const;
    const lines: Line[] = [];
    const r = await run(
      { ...secure, userCertificate, userPrivateKey: join(userDir, 'own', 'private', 'private_key.pem') },
      lines,
    );
    try {
      await waitFor(
        () => r.status(press.id) === 'online' || undefined,
        'online as the certificate user',
        10_000,
      );
      expect(lines.find((l) => l.msg === 'OPC UA session open')).toMatchObject({ identity: 'certificate' });
    } finally {
      await r.close();
    }
    for (const identity of [{ username: 'operator', password: 'wrong' }, {}]) {
      const refused: Line[] = [];
      const bad = await run({ ...secure, ...identity }, refused);
      try {
        const line = await waitFor(
          () => refused.find((l) => errCode(l) === 'WANJI_E_OPCUA_IDENTITY'),
          'refusal',
          10_000,
        );
        expect((line.err as { message: string }).message).toMatch(
          /refused the (username|anonymous) identity \((Bad|no such user token policy)/,
        );
        expect(bad.status(press.id)).toBeUndefined();
      } finally {
        await bad.close();
      }
    }
  });
});
