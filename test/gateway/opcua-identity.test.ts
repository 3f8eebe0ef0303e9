/**
 * One identity per data directory (issue 10): `wanji browse --data-dir` used to default to
 * urn:wanji:gateway:<host name> while the gateway used urn:wanji:gateway:<node>, and the PKI
 * folder renamed the certificate to *.old whenever the URI differed, so a server that had
 * trusted the gateway locked it out after a browse. Now the folder's certificate is the
 * identity, a different URI is refused with the fix, and only `wanji pki renew` replaces it.
 */
import { mkdirSync, readdirSync, renameSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browsePkiDir, runBrowseCommand } from '../../cli/browse.js';
import { runPkiCommand } from '../../cli/pki.js';
import { listPki } from '../../gateway/southbound/opcua/pki.js';
import type { OpcuaConnectionConfig } from '../../gateway/southbound/opcua/schema.js';
import { SimMachine } from '../../simulators/machine.js';
import { OpcuaSimServer } from '../../simulators/opcua/server.js';
import { runCommand } from '../support/cli-io.js';
import { waitFor } from './helpers.js';
import { opcuaConfig, quietOpcua, runOpcua, simTags, testLog } from './opcua-helpers.js';

type Line = Record<string, unknown>;
const errOf = (l: Line) => l.err as { code?: string; message: string } | undefined;

const browse = (args: string[]) => runCommand(runBrowseCommand, args, testLog());
const pki = (args: string[]) => runCommand(runPkiCommand, args, testLog());
const ownFiles = (dataDir: string) => readdirSync(join(dataDir, 'pki', 'own', 'certs')).sort();

describe('one OPC UA identity per data directory', () => {
  const press = new SimMachine({ id: 'E001-PRS-001', kind: 'press', seed: 51, dataDepth: 'state' });
  let dir: string;
  let open: OpcuaSimServer;

  beforeAll(async () => {
    quietOpcua();
    press.tick(0);
    dir = await mkdtemp(join(tmpdir(), 'wanji-opcua-identity-'));
    open = new OpcuaSimServer({ logger: testLog(), machines: [press], pkiDir: join(dir, 'open-pki') });
    await open.start();
  });

  afterAll(async () => {
    await open?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const gateway = async (
    server: OpcuaSimServer,
    dataDir: string,
    connection: Partial<OpcuaConnectionConfig>,
    until: (lines: Line[], status: string | undefined) => boolean,
  ) => {
    const lines: Line[] = [];
    const r = await runOpcua(
      opcuaConfig({ endpoint: server.endpointUrl, ...connection }, [
        { id: press.id, kind: 'press', tags: simTags(press) },
      ]),
      { dataDir, logger: testLog(lines) },
    );
    try {
      await waitFor(() => until(lines, r.status(press.id)) || undefined, 'the gateway run', 15_000);
    } finally {
      await r.close();
    }
    return lines;
  };
  const online = (_: Line[], status: string | undefined) => status === 'online';

  it('browse first, then the gateway: the gateway takes the certificate browse made', async () => {
    const dataDir = join(dir, 'browse-first');
    expect((await browse([open.endpointUrl, '--depth', '1', '--data-dir', dataDir])).code).toBe(0);
    const made = listPki(join(dataDir, 'pki')).own!;
    expect(made.applicationUri).toBe(`urn:wanji:gateway:${hostname()}`);

    const lines = await gateway(open, dataDir, {}, online);
    expect(lines.find((l) => l.msg === 'OPC UA session open')).toMatchObject({
      applicationUri: made.applicationUri,
    });
    expect(listPki(join(dataDir, 'pki')).own?.thumbprint).toBe(made.thumbprint);
    expect(ownFiles(dataDir)).toEqual(['client_certificate.pem']);
  });

  it('the gateway first, then browse: browse uses the gateway certificate; a server that trusts it still does', async () => {
    const dataDir = join(dir, 'gateway-first');
    const serverPki = join(dir, 'locked-pki');
    const locked = new OpcuaSimServer({
      logger: testLog(),
      machines: [press],
      pkiDir: serverPki,
      security: { modes: ['SignAndEncrypt'], policies: ['Basic256Sha256'], acceptUnknownClients: false },
    });
    await locked.start();
    try {
      const secure = {
        securityMode: 'SignAndEncrypt',
        securityPolicy: 'Basic256Sha256',
        acceptUnknownServerCertificate: true,
      } as const;
      // First start: the server refuses the new certificate; its owner then trusts it.
      await gateway(locked, dataDir, secure, (lines) =>
        lines.some((l) => errOf(l)?.code === 'WANJI_E_OPCUA_CLIENT_REJECTED'),
      );
      const gw = listPki(join(dataDir, 'pki')).own!;
      expect(gw.applicationUri).toBe('urn:wanji:gateway:GW-1');
      const rejected = join(serverPki, 'rejected');
      const file = readdirSync(rejected).find((f) => f.includes(gw.thumbprint))!;
      expect(file).toBeDefined();
      mkdirSync(join(serverPki, 'trusted', 'certs'), { recursive: true });
      renameSync(join(rejected, file), join(serverPki, 'trusted', 'certs', file));
      await locked.restart();
      await gateway(locked, dataDir, secure, online);

      // The commissioning engineer browses with the gateway's data directory, as docs/opcua.md says.
      const b = await browse([
        locked.endpointUrl,
        '--security-mode',
        'SignAndEncrypt',
        '--security-policy',
        'Basic256Sha256',
        '--depth',
        '1',
        '--data-dir',
        dataDir,
      ]);
      expect(b.err).toBe('');
      expect(b.code).toBe(0);
      expect(listPki(join(dataDir, 'pki')).own?.thumbprint).toBe(gw.thumbprint);

      // … and the gateway is not locked out on its next start.
      await gateway(locked, dataDir, secure, online);
      expect(listPki(join(dataDir, 'pki')).own?.thumbprint).toBe(gw.thumbprint);
      expect(ownFiles(dataDir)).toEqual(['client_certificate.pem']);
    } finally {
      await locked.close();
    }
  });

  it('refuses another application URI with the fix, changing nothing; `wanji pki renew` changes it on purpose', async () => {
    const dataDir = join(dir, 'renew');
    await gateway(open, dataDir, {}, online);
    const before = listPki(join(dataDir, 'pki')).own!;

    const b = await browse([open.endpointUrl, '--application-uri', 'urn:acme:other', '--data-dir', dataDir]);
    expect(b.code).toBe(1);
    expect(b.err).toContain('[WANJI_E_OPCUA_PKI]');
    expect(b.err).toContain(
      `holds the certificate of urn:wanji:gateway:GW-1 (thumbprint ${before.thumbprint})`,
    );
    expect(b.err).toContain(
      `wanji pki renew --pki-dir ${join(dataDir, 'pki')} --application-uri urn:acme:other`,
    );
    const refused = await gateway(open, dataDir, { applicationUri: 'urn:acme:other' }, (lines) =>
      lines.some((l) => errOf(l)?.code === 'WANJI_E_OPCUA_PKI'),
    );
    expect(errOf(refused.find((l) => errOf(l)?.code === 'WANJI_E_OPCUA_PKI')!)?.message).toContain(
      'connection opc asks for application URI urn:acme:other',
    );
    expect(listPki(join(dataDir, 'pki')).own?.thumbprint).toBe(before.thumbprint);
    expect(ownFiles(dataDir)).toEqual(['client_certificate.pem']);

    const renew = await pki(['renew', '--data-dir', dataDir, '--application-uri', 'urn:acme:other']);
    expect(renew.code).toBe(0);
    const after = listPki(join(dataDir, 'pki')).own!;
    expect(after.thumbprint).not.toBe(before.thumbprint);
    expect(after.applicationUri).toBe('urn:acme:other');
    expect(renew.out).toContain(`set aside ${before.thumbprint}`);
    expect(renew.out).toContain(`new certificate ${after.thumbprint}`);
    expect(renew.out).toContain('-outform der');
    expect(ownFiles(dataDir)).toEqual([
      'client_certificate.pem',
      `client_certificate.pem.${before.thumbprint.slice(0, 8)}.old`,
    ]);
    const lines = await gateway(open, dataDir, { applicationUri: 'urn:acme:other' }, online);
    expect(lines.find((l) => l.msg === 'OPC UA session open')).toMatchObject({
      applicationUri: 'urn:acme:other',
    });
    expect((await pki(['renew', '--application-uri', 'x'])).code).toBe(2);
  });

  it('browse without --data-dir keeps its PKI folder in a per-user place, not in the working directory', () => {
    expect(browsePkiDir({ XDG_DATA_HOME: '/srv/data' })).toBe('/srv/data/wanji/browse-pki');
    expect(browsePkiDir({ HOME: '/home/eng' })).toMatch(/\/\.local\/share\/wanji\/browse-pki$/);
  });
});
