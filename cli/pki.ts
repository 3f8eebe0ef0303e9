/**
 * `wanji pki list|trust|renew`: the OPC UA client's certificate folder. A server certificate the
 * gateway refused lands in <pki>/rejected; `trust` moves it to <pki>/trusted/certs, and the
 * gateway uses it at its next connection attempt (no restart). `renew` is the only way the
 * gateway's own certificate is replaced.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_DATA_DIR } from '../gateway/config/schema.js';
import { OpcuaError } from '../gateway/southbound/opcua/errors.js';
import {
  type CertificateInfo,
  listPki,
  pkiPaths,
  renewCertificate,
  trustCertificate,
} from '../gateway/southbound/opcua/pki.js';
import { type CommandIo, UsageError } from './io.js';

const USAGE = `Usage: wanji pki <command> [options]

The OPC UA client certificates of a gateway: its own, the server certificates it trusts,
and those it has rejected. The own certificate is the identity of every client that uses the
folder (the gateway's connections, wanji browse --data-dir): its application URI is theirs.

Commands:
  list                        show own, trusted and rejected certificates with thumbprints
  trust <thumbprint|file>     trust a rejected certificate (a unique prefix of its thumbprint)
                              or a certificate file (PEM or DER) the server's owner gave you
  renew                       replace the gateway's own certificate on purpose (it expires, or
                              the application URI changes); the old one is kept as *.old.
                              Servers that trusted the old one must then trust the new one

Options:
  --data-dir DIR   the gateway's data directory; the PKI folder is DIR/pki
                   (default ${DEFAULT_DATA_DIR})
  --pki-dir DIR    the PKI folder itself, for a connection with its own pkiDir
  --application-uri URI
                   with renew: the new certificate's application URI (default: the old one's)
  -h, --help       this text

Exit codes: 0 done, 1 failed (e.g. no such rejected certificate), 2 bad arguments.
`;

interface PkiArgs {
  readonly help: boolean;
  readonly command: string | undefined;
  readonly target: string | undefined;
  readonly pkiDir: string;
  readonly applicationUri: string | undefined;
}

function parse(args: string[]): PkiArgs {
  let values: { 'data-dir'?: string; 'pki-dir'?: string; 'application-uri'?: string; help?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args,
      strict: true,
      allowPositionals: true,
      options: {
        'data-dir': { type: 'string' },
        'pki-dir': { type: 'string' },
        'application-uri': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  const [command, target, ...extra] = positionals;
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
  if (values['application-uri'] !== undefined && command !== 'renew')
    throw new UsageError('--application-uri goes with renew');
  if (values['application-uri'] !== undefined && !/^[a-z][a-z0-9+.-]*:\S+$/i.test(values['application-uri']))
    throw new UsageError(
      `--application-uri must be a URI such as urn:wanji:gateway:GW-1; got "${values['application-uri']}"`,
    );
  return {
    help: values.help === true,
    command,
    target,
    pkiDir: values['pki-dir'] ?? join(values['data-dir'] ?? DEFAULT_DATA_DIR, 'pki'),
    applicationUri: values['application-uri'],
  };
}

function line(c: CertificateInfo): string {
  return `  ${c.thumbprint}  ${c.subject}  ${c.applicationUri ?? '(no application URI)'}  until ${c.notAfter.slice(0, 10)}`;
}

export async function runPkiCommand(args: string[], io: CommandIo): Promise<number> {
  let a: PkiArgs;
  try {
    a = parse(args);
  } catch (err) {
    io.stderr.write(`wanji pki: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (a.help) {
    io.stdout.write(USAGE);
    return 0;
  }
  try {
    if (a.command === 'list' && a.target === undefined) {
      const l = listPki(a.pkiDir);
      const out = [
        `PKI folder: ${a.pkiDir}`,
        'own:',
        l.own === undefined
          ? '  (none yet: made when the gateway first connects, or wanji browse first uses the folder)'
          : line(l.own),
        `trusted (${l.trusted.length}):`,
        ...l.trusted.map(line),
        `rejected (${l.rejected.length}):`,
        ...l.rejected.map(line),
      ];
      if (l.rejected.length > 0)
        out.push('', 'Trust a rejected server certificate with: wanji pki trust <thumbprint>');
      io.stdout.write(`${out.join('\n')}\n`);
      return 0;
    }
    if (a.command === 'trust' && a.target !== undefined) {
      const c = await trustCertificate(a.pkiDir, a.target);
      io.stdout.write(
        `trusted ${c.thumbprint} ${c.subject} (${c.applicationUri ?? 'no application URI'})\n` +
          `  now in ${pkiPaths(a.pkiDir).trusted}; the gateway uses it at its next connection attempt\n`,
      );
      return 0;
    }
    if (a.command === 'renew' && a.target === undefined) {
      const r = await renewCertificate(a.pkiDir, a.applicationUri, io.logger);
      const out = [
        r.old === undefined
          ? `no certificate was there; made ${r.made.thumbprint}`
          : `set aside ${r.old.thumbprint} (${r.old.applicationUri ?? 'no application URI'}), kept as *.old`,
        `new certificate ${r.made.thumbprint} ${r.made.subject} (${r.made.applicationUri ?? 'no application URI'})`,
        `  file ${r.made.file}`,
        `  servers must trust it now; for those that want DER: openssl x509 -in ${r.made.file} -outform der -out wanji-gateway.der`,
      ];
      io.stdout.write(`${out.join('\n')}\n`);
      return 0;
    }
  } catch (err) {
    if (!(err instanceof OpcuaError)) throw err;
    io.stderr.write(`wanji pki: ${err.message}\n`);
    return 1;
  }
  const why =
    a.command === undefined
      ? 'a command is required'
      : `"${[a.command, a.target].filter(Boolean).join(' ')}" is not a command`;
  io.stderr.write(`wanji pki: ${why}\n\n${USAGE}`);
  return 2;
}
