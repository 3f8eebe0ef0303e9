/**
 * The role vocabulary: who a token (or the command line) acts as. It lives here, below both
 * the API (hub/api/access.ts decides what each role may reach) and the token store
 * (hub/security/tokens.ts issues tokens for a role), so neither imports the other for it.
 */
export const ROLES = ['admin', 'operator', 'bureau', 'enterprise', 'child-hub'] as const;
export type Role = (typeof ROLES)[number];

/** Who a request acts as, resolved from its bearer token (or `cli` for the command line). */
export interface Principal {
  /**
   * The token's id (never its secret); `user:<name>` for a signed-in user's session
   * (hub/security/users.ts); `cli` for the command line.
   */
  readonly tokenId: string;
  readonly name: string;
  readonly role: Role;
  /** Role `enterprise`: the one enterprise (Sparkplug group) it may see. */
  readonly enterprise?: string;
  /**
   * Role `bureau`: region codes it is limited to; empty = the whole city. Role `child-hub`:
   * the regions whose enterprises it may report.
   */
  readonly regions: readonly string[];
  /** Role `child-hub`: the hub id its reports must carry (the child's `hostId`). */
  readonly hubId?: string;
  /** Role `child-hub`: enterprise codes it may report, besides those of its regions. */
  readonly enterprises?: readonly string[];
}
