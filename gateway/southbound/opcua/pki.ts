/**
 * The client's PKI folder (node-opcua's OPCUACertificateManager layout):
 *
 *   <pki>/own/certs/client_certificate.pem   the gateway's application certificate
 *   <pki>/own/private/private_key.pem        its key
 *   <pki>/trusted/certs/                     server certificates the gateway trusts
 *   <pki>/rejected/                          server certificates it has refused
 *
 * Made on first use, with a self-signed certificate whose URI is the application URI of every
 * client that uses the folder (gateway connections, `wanji browse`). Used by them and `wanji pki`.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { OPCUACertificateManager } from 'node-opcua';
import type { Logger } from 'pino';
import { OPCUA_ERROR_CODES, OpcuaError } from './errors.js';

export interface PkiPaths {
  readonly root: string;
  readonly certificateFile: string;
  readonly privateKeyFile: string;
  readonly trusted: string;
  readonly rejected: string;
}

export function pkiPaths(root: string): PkiPaths {
  return {
    root,
    certificateFile: join(root, 'own', 'certs', 'client_certificate.pem'),
    privateKeyFile: join(root, 'own', 'private', 'private_key.pem'),
    trusted: join(root, 'trusted', 'certs'),
    rejected: join(root, 'rejected'),
  };
}

/** SHA-1 thumbprint of a DER certificate, lower-case hex: what OPC UA tools show. */
export function thumbprintOf(der: Uint8Array): string {
  return createHash('sha1').update(der).digest('hex');
}

/** A certificate file, PEM or DER, as DER (the first certificate of a PEM chain). */
export function readCertificateDer(file: string): Buffer {
  const raw = readFileSync(file);
  try {
    return new X509Certificate(raw).raw;
  } catch (err) {
    throw new OpcuaError(
      OPCUA_ERROR_CODES.pki,
      `${file} is not a PEM or DER certificate`,
      {},
      { cause: err },
    );
  }
}

export interface CertificateInfo {
  readonly thumbprint: string;
  readonly subject: string;
  /** The URI in its subjectAltName: an OPC UA application URI. */
  readonly applicationUri: string | undefined;
  readonly notAfter: string;
  readonly file: string;
}

export function describeCertificate(der: Uint8Array, file: string): CertificateInfo {
  const x = new X509Certificate(der);
  return {
    thumbprint: thumbprintOf(x.raw),
    subject: x.subject.replaceAll('\n', ', '),
    applicationUri: /URI:([^,\s]+)/.exec(x.subjectAltName ?? '')?.[1],
    notAfter: new Date(x.validTo).toISOString(),
    file,
  };
}

/** The certificate put in rejected/ last: the one a failed connection just refused. */
export function lastRejected(root: string): CertificateInfo | undefined {
  const dir = pkiPaths(root).rejected;
  const newest = certificatesIn(dir)
    .map((c) => ({ c, t: statSync(c.file).mtimeMs }))
    .sort((a, b) => b.t - a.t)[0];
  return newest?.c;
}

function certificatesIn(dir: string): CertificateInfo[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /\.(pem|der|crt|cer)$/i.test(f))
    .flatMap((f) => {
      try {
        return [describeCertificate(readCertificateDer(join(dir, f)), join(dir, f))];
      } catch {
        return []; // not a certificate: not ours to judge here
      }
    });
}

export interface PkiListing {
  readonly own: CertificateInfo | undefined;
  readonly trusted: readonly CertificateInfo[];
  readonly rejected: readonly CertificateInfo[];
}

/** What the PKI folder holds, read from disk (no certificate manager, no locks). */
export function listPki(root: string): PkiListing {
  const p = pkiPaths(root);
  return {
    own: existsSync(p.certificateFile)
      ? describeCertificate(readCertificateDer(p.certificateFile), p.certificateFile)
      : undefined,
    trusted: certificatesIn(p.trusted),
    rejected: certificatesIn(p.rejected),
  };
}

function newManager(root: string, acceptUnknown: boolean): OPCUACertificateManager {
  mkdirSync(root, { recursive: true, mode: 0o700 });
  // No file watchers: the driver reloads the lists before every fresh connection, which is when
  // a certificate trusted with `wanji pki trust` must take effect.
  return new OPCUACertificateManager({
    rootFolder: root,
    automaticallyAcceptUnknownCertificate: acceptUnknown,
    disableFileWatchers: true,
  });
}

/**
 * Trusts a certificate: one in rejected/ named by (a unique prefix of) its thumbprint, or a
 * certificate file. It moves to trusted/certs.
 */
export async function trustCertificate(root: string, what: string): Promise<CertificateInfo> {
  let der: Buffer;
  let info: CertificateInfo;
  if (existsSync(what)) {
    der = readCertificateDer(what);
    info = describeCertificate(der, what);
  } else {
    const wanted = what.toLowerCase().replaceAll(':', '');
    const rejected = listPki(root).rejected;
    const matches = rejected.filter((c) => c.thumbprint.startsWith(wanted));
    if (wanted.length < 4 || matches.length !== 1) {
      const known = rejected.map((c) => `${c.thumbprint} ${c.subject}`).join('\n  ') || '(none)';
      const why =
        matches.length > 1 ? 'matches several rejected certificates' : 'matches no rejected certificate';
      throw new OpcuaError(
        OPCUA_ERROR_CODES.pki,
        `"${what}" ${why} in ${pkiPaths(root).rejected}; rejected certificates:\n  ${known}`,
      );
    }
    info = matches[0]!;
    der = readCertificateDer(info.file);
  }
  const manager = newManager(root, false);
  try {
    await manager.initialize();
    await manager.trustCertificate(der);
  } finally {
    await manager.dispose();
  }
  return info;
}

const ownCertificateLocks = new Map<string, Promise<unknown>>();

/** Runs `fn` after any other make-or-check of the same folder's certificate in this process. */
function serialised<T>(root: string, fn: () => Promise<T>): Promise<T> {
  const before = ownCertificateLocks.get(root) ?? Promise.resolve();
  const next = before.catch(() => undefined).then(fn);
  ownCertificateLocks.set(root, next);
  return next;
}

export interface OpenPki {
  readonly manager: OPCUACertificateManager;
  readonly paths: PkiPaths;
  /** Thumbprint of the gateway's own certificate. */
  readonly thumbprint: string;
  /** The application URI in that certificate: the identity of every client using this folder. */
  readonly applicationUri: string;
}

/** Which application URI a client asks for: one it was configured with, or a default. */
export interface PkiIdentity {
  /** Configured (`applicationUri`, `--application-uri`): must match the folder's certificate. */
  readonly applicationUri?: string | undefined;
  /** Used only when the folder has no certificate yet. */
  readonly defaultUri: string;
  /** Who asks, for the message when the URIs differ: "connection opc-1", "wanji browse". */
  readonly who: string;
}

function uriMismatch(root: string, current: CertificateInfo, wanted: string, who: string): OpcuaError {
  const had = current.applicationUri ?? '(no application URI)';
  return new OpcuaError(
    OPCUA_ERROR_CODES.pki,
    `${who} asks for application URI ${wanted}, but the PKI folder ${root} holds the certificate of ${had} (thumbprint ${current.thumbprint}), which servers may already trust; nothing was changed. ` +
      `Either use ${had} (remove applicationUri, or set it to ${had}), or replace the certificate on purpose with \`wanji pki renew --pki-dir ${root} --application-uri ${wanted}\` (servers must then trust the new one)`,
    { thumbprint: current.thumbprint },
  );
}

async function makeOwnCertificate(
  manager: OPCUACertificateManager,
  paths: PkiPaths,
  applicationUri: string,
  logger: Logger,
): Promise<CertificateInfo> {
  const name = applicationUri.split(':').at(-1) ?? 'gateway';
  await manager.createSelfSignedCertificate({
    applicationUri,
    subject: `/CN=wanji-gateway ${name}/O=Wanji`,
    dns: [hostname()],
    startDate: new Date(),
    validity: 365 * 10,
    outputFile: paths.certificateFile,
  });
  const made = describeCertificate(readCertificateDer(paths.certificateFile), paths.certificateFile);
  logger.info(
    { applicationUri, thumbprint: made.thumbprint, file: paths.certificateFile },
    'made the application certificate',
  );
  return made;
}

function pkiFailure(root: string, err: unknown): OpcuaError {
  if (err instanceof OpcuaError) return err;
  return new OpcuaError(
    OPCUA_ERROR_CODES.pki,
    `cannot set up the PKI folder ${root}: ${err instanceof Error ? err.message : String(err)}`,
    {},
    { cause: err },
  );
}

/**
 * Opens (making on first run) the PKI folder and its application certificate. The folder has
 * one identity: the application URI in its certificate, made for `identity.applicationUri` or
 * else `identity.defaultUri`. A client that asks for another URI is refused, never given a new
 * certificate silently: servers that trusted the old one would lock the gateway out.
 * `renewCertificate` replaces it on purpose.
 */
export async function openPki(
  root: string,
  /** A URI alone is a configured one. */
  wanted: PkiIdentity | string,
  acceptUnknown: boolean,
  logger: Logger,
): Promise<OpenPki> {
  const identity: PkiIdentity =
    typeof wanted === 'string' ? { applicationUri: wanted, defaultUri: wanted, who: 'this client' } : wanted;
  const paths = pkiPaths(root);
  const manager = newManager(root, acceptUnknown);
  try {
    await manager.initialize();
    const own = await serialised(root, async () => {
      if (!existsSync(paths.certificateFile))
        return makeOwnCertificate(manager, paths, identity.applicationUri ?? identity.defaultUri, logger);
      const current = describeCertificate(readCertificateDer(paths.certificateFile), paths.certificateFile);
      const wanted = identity.applicationUri ?? current.applicationUri;
      if (wanted === undefined || current.applicationUri !== wanted)
        throw uriMismatch(root, current, wanted ?? identity.defaultUri, identity.who);
      return current;
    });
    return { manager, paths, thumbprint: own.thumbprint, applicationUri: own.applicationUri! };
  } catch (err) {
    await manager.dispose().catch(() => undefined);
    throw pkiFailure(root, err);
  }
}

export interface Renewed {
  /** The certificate set aside (renamed *.old), if there was one. */
  readonly old: CertificateInfo | undefined;
  readonly made: CertificateInfo;
}

/**
 * Replaces the application certificate on purpose (`wanji pki renew`): the current one is kept
 * as `client_certificate.pem.<thumbprint>.old`, the new one has `applicationUri` (default: the
 * current one's) and the same key. Servers must trust the new certificate.
 */
export async function renewCertificate(
  root: string,
  applicationUri: string | undefined,
  logger: Logger,
): Promise<Renewed> {
  const paths = pkiPaths(root);
  const manager = newManager(root, false);
  try {
    await manager.initialize();
    return await serialised(root, async () => {
      const old = existsSync(paths.certificateFile)
        ? describeCertificate(readCertificateDer(paths.certificateFile), paths.certificateFile)
        : undefined;
      const uri = applicationUri ?? old?.applicationUri;
      if (uri === undefined) {
        throw new OpcuaError(
          OPCUA_ERROR_CODES.pki,
          `${root} has no certificate with an application URI to renew: give --application-uri`,
        );
      }
      if (old !== undefined) {
        const file = `${paths.certificateFile}.${old.thumbprint.slice(0, 8)}.old`;
        renameSync(paths.certificateFile, file);
        logger.warn(
          { was: old.applicationUri, thumbprint: old.thumbprint, old: file },
          'set the application certificate aside',
        );
      }
      return { old, made: await makeOwnCertificate(manager, paths, uri, logger) };
    });
  } catch (err) {
    throw pkiFailure(root, err);
  } finally {
    await manager.dispose().catch(() => undefined);
  }
}
