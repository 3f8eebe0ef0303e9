/**
 * What security the simulator offers: modes, policies and user identities, so gateway tests run
 * against a server configured like a locked-down device.
 */
import {
  MessageSecurityMode,
  OPCUACertificateManager,
  type OPCUAServerOptions,
  SecurityPolicy,
} from 'node-opcua';

export type SimSecurityMode = 'None' | 'Sign' | 'SignAndEncrypt';
export type SimSecurityPolicy = 'None' | 'Basic256Sha256' | 'Aes128_Sha256_RsaOaep' | 'Aes256_Sha256_RsaPss';

export interface OpcuaSimSecurity {
  /** Default every mode. */
  readonly modes?: readonly SimSecurityMode[];
  /** Default every policy above. */
  readonly policies?: readonly SimSecurityPolicy[];
  /** Default true. */
  readonly allowAnonymous?: boolean;
  /** User name → password for UserName identities; none when absent. */
  readonly users?: Readonly<Record<string, string>>;
  /** Accept any client application certificate (default true); false: only those in trusted/. */
  readonly acceptUnknownClients?: boolean;
  /**
   * PKI folder that decides which X.509 user identities are accepted: default `<pkiDir>-users`,
   * accepting any (acceptUnknownUsers, default true) or only those in its trusted/.
   */
  readonly userPkiDir?: string;
  readonly acceptUnknownUsers?: boolean;
}

const MODES: Readonly<Record<SimSecurityMode, MessageSecurityMode>> = {
  None: MessageSecurityMode.None,
  Sign: MessageSecurityMode.Sign,
  SignAndEncrypt: MessageSecurityMode.SignAndEncrypt,
};

const POLICIES: Readonly<Record<SimSecurityPolicy, SecurityPolicy>> = {
  None: SecurityPolicy.None,
  Basic256Sha256: SecurityPolicy.Basic256Sha256,
  Aes128_Sha256_RsaOaep: SecurityPolicy.Aes128_Sha256_RsaOaep,
  Aes256_Sha256_RsaPss: SecurityPolicy.Aes256_Sha256_RsaPss,
};

export function serverSecurityOptions(
  security: OpcuaSimSecurity,
  pkiDir: string,
): Pick<
  OPCUAServerOptions,
  'securityModes' | 'securityPolicies' | 'allowAnonymous' | 'userManager' | 'userCertificateManager'
> {
  const users = security.users;
  return {
    securityModes: (security.modes ?? ['None', 'Sign', 'SignAndEncrypt']).map((m) => MODES[m]),
    securityPolicies: (
      security.policies ?? ['None', 'Basic256Sha256', 'Aes128_Sha256_RsaOaep', 'Aes256_Sha256_RsaPss']
    ).map((p) => POLICIES[p]),
    allowAnonymous: security.allowAnonymous ?? true,
    ...(users === undefined
      ? {}
      : {
          userManager: {
            isValidUser: (name: string, password: string) =>
              Object.hasOwn(users, name) && users[name] === password,
          },
        }),
    userCertificateManager: new OPCUACertificateManager({
      rootFolder: security.userPkiDir ?? `${pkiDir}-users`,
      automaticallyAcceptUnknownCertificate: security.acceptUnknownUsers ?? true,
      disableFileWatchers: true,
    }),
  };
}
