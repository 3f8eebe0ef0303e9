/**
 * `wanji pki list|trust`: the OPC UA client's certificate folder. A server certificate the
 * gateway refused lands in <pki>/rejected; `trust` moves it to <pki>/trusted/certs, and the
 * gateway uses it at its next connection attempt (no restart).
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_DATA_DIR } from '../gateway/config/schema.js';
import { OpcuaError } from '../gateway/southbound/opcua/errors.js';
import {
  type CertificateInfo,
  listPki,
  pkiPaths,
  trustCertificate,
} from '../gateway/southbound/opcua/pki.js';
import type { CommandIo } from './io.js';

const USAGE = `Usage: wanji pki <command> [options]

The OPC UA client certificates of a gateway: its own, the server certificates it trusts,
and those it has rejected.

Commands:
  list                        show own, trusted and rejected certificates with thumbprints
  trust <thumbprint|file>     trust a rejected certificate (a unique prefix of its thumbprint)
                              or a certificate file (PEM or DER) the server's owner gave you

Options:
  --data-dir DIR   the gateway's data directory; the PKI folder is DIR/pki
                   (default ${DEFAULT_DATA_DIR})
  --pki-dir DIR    the PKI folder itself, for a connection with its own pkiDir
  -h, --help       this text

Exit codes: 0 done, 1 failed (e.g. no such rejected certificate), 2 bad arguments.
`;

class UsageError extends Error {}

interface PkiArgs {
  readonly help: boolean;
  readonly command: string | undefined;
  readonly target: string | undefined;
  readonly pkiDir: string;
}

function parse(args: string[]): PkiArgs {
  let values: { 'data-dir'?: string; 'pki-dir'?: string; help?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args,
      strict: true,
      allowPositionals: true,
      options: {
        'data-dir': { type: 'string' },
        'pki-dir': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  const [command, target, ...extra] = positionals;
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
  return {
    help: values.help === true,
    command,
    target,
    pkiDir: values['pki-dir'] ?? join(values['data-dir'] ?? DEFAULT_DATA_DIR, 'pki'),
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
        l.own === undefined ? '  (none yet: made when the gateway first connects)' : line(l.own),
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
