/**
 * Security settings of a connection in node-opcua's terms: message security mode and policy,
 * the user identity, what was negotiated, and errors sorted into codes an operator can act on.
 */
import { readFileSync } from 'node:fs';
import {
  type ClientSession,
  MessageSecurityMode,
  SecurityPolicy,
  type UserIdentityInfo,
  UserTokenType,
} from 'node-opcua';
import { OPCUA_ERROR_CODES, OpcuaError } from './errors.js';
import {
  type CertificateInfo,
  lastRejected,
  listPki,
  pkiPaths,
  readCertificateDer,
  thumbprintOf,
} from './pki.js';
import type { OpcuaConnectionConfig, SecurityModeName, SecurityPolicyName } from './schema.js';

const MODES: Readonly<Record<SecurityModeName, MessageSecurityMode>> = {
  None: MessageSecurityMode.None,
  Sign: MessageSecurityMode.Sign,
  SignAndEncrypt: MessageSecurityMode.SignAndEncrypt,
};

const POLICIES: Readonly<Record<SecurityPolicyName, SecurityPolicy>> = {
  None: SecurityPolicy.None,
  Basic256Sha256: SecurityPolicy.Basic256Sha256,
  Aes128_Sha256_RsaOaep: SecurityPolicy.Aes128_Sha256_RsaOaep,
  Aes256_Sha256_RsaPss: SecurityPolicy.Aes256_Sha256_RsaPss,
};

/** What of a connection's settings its security and errors depend on (browse has no more). */
export type ConnectionSecurity = Pick<
  OpcuaConnectionConfig,
  | 'endpoint'
  | 'securityMode'
  | 'securityPolicy'
  | 'username'
  | 'password'
  | 'userCertificate'
  | 'userPrivateKey'
>;

export function messageSecurity(conn: ConnectionSecurity): {
  securityMode: MessageSecurityMode;
  securityPolicy: SecurityPolicy;
} {
  const securityMode = MODES[conn.securityMode];
  const policy = conn.securityMode === 'None' ? 'None' : (conn.securityPolicy ?? 'None');
  return { securityMode, securityPolicy: POLICIES[policy] };
}

export type IdentityKind = 'anonymous' | 'username' | 'certificate';

export function identityKind(conn: ConnectionSecurity): IdentityKind {
  if (conn.userCertificate !== undefined) return 'certificate';
  return conn.username !== undefined ? 'username' : 'anonymous';
}

/** The user identity to activate sessions with; reads the certificate files each time. */
export function userIdentity(conn: ConnectionSecurity): UserIdentityInfo {
  if (conn.userCertificate !== undefined && conn.userPrivateKey !== undefined) {
    let privateKey: string;
    try {
      privateKey = readFileSync(conn.userPrivateKey, 'utf8');
    } catch (err) {
      throw new OpcuaError(
        OPCUA_ERROR_CODES.pki,
        `cannot read userPrivateKey ${conn.userPrivateKey}`,
        {},
        { cause: err },
      );
    }
    return {
      type: UserTokenType.Certificate,
      certificateData: readCertificateDer(conn.userCertificate),
      privateKey,
    };
  }
  if (conn.username !== undefined) {
    return { type: UserTokenType.UserName, userName: conn.username, password: conn.password ?? '' };
  }
  return { type: UserTokenType.Anonymous };
}

export interface Negotiated {
  readonly securityMode: string;
  readonly securityPolicy: string;
  /** SHA-1 thumbprint of the server's certificate; undefined when it sent none. */
  readonly serverThumbprint: string | undefined;
}

/** What the session's endpoint actually uses. */
export function negotiated(session: ClientSession): Negotiated {
  const ep = session.endpoint;
  const cert: unknown = ep?.serverCertificate ?? session.serverCertificate;
  return {
    securityMode: MessageSecurityMode[ep?.securityMode ?? MessageSecurityMode.Invalid] ?? 'Invalid',
    securityPolicy: (ep?.securityPolicyUri ?? '').split('#').at(-1) || 'None',
    serverThumbprint: cert instanceof Uint8Array && cert.length > 0 ? thumbprintOf(cert) : undefined,
  };
}

/** What a server answers when it refuses the client's application certificate. */
const CLIENT_REFUSED =
  /^Bad(SecurityChecksFailed|CertificateUntrusted|CertificateInvalid|CertificateUriInvalid|CertificateTimeInvalid|CertificateRevoked|CertificateRevocationUnknown|CertificateIssuerRevocationUnknown|CertificateUseNotAllowed)$/;

/**
 * The server refused the secure channel: most often it does not (yet) trust the gateway's
 * certificate. Some servers (node-opcua) answer with the status; others (open62541) send it in
 * a transport error and hang up, and node-opcua then only sees the socket close.
 */
function clientRefused(
  err: unknown,
  conn: ConnectionSecurity,
  pkiDir: string,
  status: string | undefined,
): OpcuaError {
  let own: CertificateInfo | undefined;
  try {
    own = pkiDir === '' ? undefined : listPki(pkiDir).own;
  } catch {
    own = undefined; // the message still says what to do
  }
  const file = own?.file ?? pkiPaths(pkiDir).certificateFile;
  const thumbprint = own?.thumbprint ?? '<see wanji pki list>';
  const why = status ?? 'it closed the connection while the secure channel was being opened';
  return new OpcuaError(
    OPCUA_ERROR_CODES.clientRejected,
    `${conn.endpoint} refused the secure channel (${why}): the server may not trust this gateway's certificate. ` +
      `On the server, trust the certificate with thumbprint ${thumbprint} (file ${file}, application URI ${own?.applicationUri ?? 'unknown'}); ` +
      `many servers list it among their rejected certificates, and those that want DER take \`openssl x509 -in ${file} -outform der -out wanji-gateway.der\``,
    { ...(status === undefined ? {} : { statusCode: status }), ...(own === undefined ? {} : { thumbprint }) },
    { cause: err },
  );
}

const IDENTITY_STATUS =
  /Bad(IdentityTokenRejected|IdentityTokenInvalid|UserAccessDenied|CertificateUseNotAllowed)/;

/**
 * Sorts a failed connect or session set-up into a code with a message that says what to do.
 * `pkiDir` is the client's PKI folder, where an untrusted server certificate was put.
 */
export function classifyConnectError(err: unknown, conn: ConnectionSecurity, pkiDir: string): OpcuaError {
  if (err instanceof OpcuaError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const status = /\b(Bad[A-Za-z]+)\b/.exec(message)?.[1];
  const detail = status === undefined ? {} : { statusCode: status };
  const refusedByServer = /rejected by server/i.test(message);
  if (
    refusedByServer &&
    conn.securityMode !== 'None' &&
    (status === undefined || CLIENT_REFUSED.test(status))
  )
    return clientRefused(err, conn, pkiDir, status);
  if (/server Certificate verification failed|BadCertificateUntrusted/i.test(message) && !refusedByServer) {
    const rejected = pkiDir === '' ? undefined : lastRejected(pkiDir);
    const thumbprint = rejected?.thumbprint ?? '<thumbprint>';
    return new OpcuaError(
      OPCUA_ERROR_CODES.certificateUntrusted,
      `the server certificate of ${conn.endpoint} is not trusted (${status ?? 'untrusted'}); it is in ${pkiPaths(pkiDir).rejected} as ${thumbprint}: check that thumbprint with the server's owner, then \`wanji pki trust ${thumbprint}\` with \`--pki-dir ${pkiDir}\``,
      { ...detail, ...(rejected === undefined ? {} : { thumbprint: rejected.thumbprint }) },
      { cause: err },
    );
  }
  if (
    /cannot find endpoint for securityMode|BadSecurityModeRejected|BadSecurityPolicyRejected/i.test(message)
  ) {
    return new OpcuaError(
      OPCUA_ERROR_CODES.security,
      `${conn.endpoint} offers no endpoint with securityMode ${conn.securityMode} and securityPolicy ${conn.securityPolicy ?? 'None'}: list its endpoints with \`wanji browse ${conn.endpoint} --endpoints\``,
      detail,
      { cause: err },
    );
  }
  if (/Cannot find \w+ user token policy/i.test(message)) {
    return new OpcuaError(
      OPCUA_ERROR_CODES.identity,
      `${conn.endpoint} refused the ${identityKind(conn)} identity (no such user token policy at this endpoint): give username/password or userCertificate/userPrivateKey as the server's endpoints list them (\`wanji browse ${conn.endpoint} --endpoints\`)`,
      detail,
      { cause: err },
    );
  }
  if (status !== undefined && IDENTITY_STATUS.test(status)) {
    return new OpcuaError(
      OPCUA_ERROR_CODES.identity,
      `${conn.endpoint} refused the ${identityKind(conn)} identity (${status}): check the user name, password or user certificate, and that the server allows this identity`,
      detail,
      { cause: err },
    );
  }
  return new OpcuaError(OPCUA_ERROR_CODES.connect, `${conn.endpoint}: ${message.split('\n')[0]}`, detail, {
    cause: err,
  });
}
